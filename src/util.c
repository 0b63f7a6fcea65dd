/*
 * util.c: small pure helpers (durations, sizes, times, URLs) and the
 * file-system helpers every module shares.
 */
#include "config.h"

#include <sys/random.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gitstrap.h"

int
util_strtonum(const char *s, long long min, long long max, long long *out,
    const char **why)
{
	char		*end;
	long long	 v;

	if (s == NULL || *s == '\0' || isspace((unsigned char)*s)) {
		*why = "not a number";
		return -1;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0') {
		*why = "not a number";
		return -1;
	}
	if ((errno == ERANGE && v == LLONG_MIN) || v < min) {
		*why = "too small";
		return -1;
	}
	if ((errno == ERANGE && v == LLONG_MAX) || v > max) {
		*why = "too large";
		return -1;
	}
	*out = v;
	return 0;
}

int
util_parse_duration(const char *s, int64_t *out, const char **why)
{
	const char	*p = s;
	int64_t		 total = 0, v, mul;
	int		 parts = 0;

	if (s == NULL || *s == '\0') {
		*why = "empty";
		return -1;
	}
	while (*p != '\0') {
		if (!isdigit((unsigned char)*p)) {
			*why = "expected a number";
			return -1;
		}
		v = 0;
		while (isdigit((unsigned char)*p)) {
			if (v > (INT64_MAX / 10) - 9) {
				*why = "too large";
				return -1;
			}
			v = v * 10 + (*p++ - '0');
		}
		if (*p == '\0' && parts == 0)
			mul = 1000;		/* bare number: seconds */
		else if (strncmp(p, "ms", 2) == 0) {
			mul = 1;
			p += 2;
		} else if (*p == 's') {
			mul = 1000;
			p++;
		} else if (*p == 'm') {
			mul = 60 * 1000;
			p++;
		} else if (*p == 'h') {
			mul = 3600 * 1000;
			p++;
		} else if (*p == 'd') {
			mul = 86400 * 1000;
			p++;
		} else if (*p == '\0') {
			*why = "missing unit (ms, s, m, h or d)";
			return -1;
		} else {
			*why = "unknown unit (use ms, s, m, h or d)";
			return -1;
		}
		/* a year is plenty; keeps every later sum far from overflow */
		if (v > 366LL * 86400 * 1000 / mul ||
		    (total += v * mul) > 366LL * 86400 * 1000) {
			*why = "too large";
			return -1;
		}
		parts++;
	}
	*out = total;
	return 0;
}

int
util_parse_size(const char *s, uint64_t *out, const char **why)
{
	const char	*p = s;
	uint64_t	 v = 0, mul = 1;

	if (s == NULL || *s == '\0') {
		*why = "empty";
		return -1;
	}
	if (!isdigit((unsigned char)*p)) {
		*why = "expected a number";
		return -1;
	}
	while (isdigit((unsigned char)*p)) {
		if (v > (UINT64_MAX / 10) - 9) {
			*why = "too large";
			return -1;
		}
		v = v * 10 + (uint64_t)(*p++ - '0');
	}
	switch (*p) {
	case '\0':
		break;
	case 'k': case 'K':
		mul = 1ULL << 10;
		break;
	case 'm': case 'M':
		mul = 1ULL << 20;
		break;
	case 'g': case 'G':
		mul = 1ULL << 30;
		break;
	case 't': case 'T':
		mul = 1ULL << 40;
		break;
	default:
		*why = "unknown unit (use K, M, G or T)";
		return -1;
	}
	if (*p != '\0') {
		p++;
		if (*p == 'B' || *p == 'b')	/* "20MB" reads as meant */
			p++;
		if (*p != '\0') {
			*why = "unknown unit (use K, M, G or T)";
			return -1;
		}
	}
	if (v > UINT64_MAX / mul) {
		*why = "too large";
		return -1;
	}
	*out = v * mul;
	return 0;
}

int
util_parse_percent(const char *s, int *out, const char **why)
{
	char		 buf[16];
	size_t		 len;
	long long	 v;

	if (s == NULL || (len = strlen(s)) == 0) {
		*why = "empty";
		return -1;
	}
	if (len >= sizeof(buf)) {
		*why = "too long";
		return -1;
	}
	memcpy(buf, s, len + 1);
	if (buf[len - 1] == '%')
		buf[len - 1] = '\0';
	if (util_strtonum(buf, 0, 100, &v, why) == -1) {
		if (strcmp(*why, "not a number") != 0)
			*why = "must be between 0 and 100";
		return -1;
	}
	*out = (int)v;
	return 0;
}

int
util_is_hex_id(const char *s)
{
	size_t	i;

	for (i = 0; i < GS_HEXLEN; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return s[i] == '\0';
}

void
util_time_rfc3339(time_t t, char buf[32])
{
	struct tm	tm;

	gmtime_r(&t, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void
util_time_compact(time_t t, char buf[32])
{
	struct tm	tm;

	gmtime_r(&t, &tm);
	strftime(buf, 32, "%Y%m%dT%H%M%SZ", &tm);
}

int
util_parse_rfc3339(const char *s, time_t *out)
{
	struct tm	 tm;
	const char	*end;

	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm)) == NULL ||
	    *end != '\0')
		return -1;
	*out = timegm(&tm);
	return 0;
}

int64_t
util_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* the userinfo of scheme://userinfo@host/..., as [start, end) */
static int
util_url_userinfo_span(const char *url, const char **start, const char **end)
{
	const char	*p, *auth, *at = NULL;

	if ((p = strstr(url, "://")) == NULL)
		return 0;
	auth = p + 3;
	for (p = auth; *p != '\0' && *p != '/' && *p != '?' && *p != '#'; p++)
		if (*p == '@')
			at = p;
	if (at == NULL)
		return 0;
	*start = auth;
	*end = at + 1;
	return 1;
}

char *
util_redact_url(const char *url)
{
	const char	*s, *e;
	char		*out;
	size_t		 pre;

	if (!util_url_userinfo_span(url, &s, &e))
		return xstrdup(url);
	pre = (size_t)(s - url);
	out = xmalloc(strlen(url) + 1);
	memcpy(out, url, pre);
	strcpy(out + pre, e);
	return out;
}

static char *
util_pct_decode(const char *s, size_t len)
{
	char	*out = xmalloc(len + 1), *o = out;
	size_t	 i;
	char	 hex[3] = { 0, 0, 0 };

	for (i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len &&
		    isxdigit((unsigned char)s[i + 1]) &&
		    isxdigit((unsigned char)s[i + 2])) {
			hex[0] = s[i + 1];
			hex[1] = s[i + 2];
			*o++ = (char)strtol(hex, NULL, 16);
			i += 2;
		} else
			*o++ = s[i];
	}
	*o = '\0';
	return out;
}

void
util_url_userinfo(const char *url, char **user, char **pass)
{
	const char	*s, *e, *colon;

	*user = *pass = NULL;
	if (!util_url_userinfo_span(url, &s, &e))
		return;
	e--;			/* at the '@' */
	colon = memchr(s, ':', (size_t)(e - s));
	if (colon != NULL) {
		*user = util_pct_decode(s, (size_t)(colon - s));
		*pass = util_pct_decode(colon + 1, (size_t)(e - colon - 1));
	} else
		*user = util_pct_decode(s, (size_t)(e - s));
}

int
util_mkdir_p(const char *path, mode_t mode, struct gs_error *err)
{
	char	*p, *s;

	if (mkdir(path, mode) == 0 || (errno == EEXIST && util_is_dir(path)))
		return 0;
	if (errno != ENOENT)
		return gs_error_sys(err, "mkdir %s", path);
	p = xstrdup(path);
	for (s = p + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) == -1 && errno != EEXIST) {
			gs_error_sys(err, "mkdir %s", p);
			free(p);
			return -1;
		}
		*s = '/';
	}
	free(p);
	if (mkdir(path, mode) == -1 && errno != EEXIST)
		return gs_error_sys(err, "mkdir %s", path);
	return 0;
}

int
util_private_tmpdir(const char *prefix, char **out, struct gs_error *err)
{
	const char	*base = getenv("TMPDIR");
	unsigned char	 r[8];
	int		 tries;

	*out = NULL;
	if (base == NULL || *base != '/')
		base = "/tmp";
	/* as mkdtemp(3): a random name, made by us or not at all */
	for (tries = 0; tries < 100; tries++) {
		if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
			return gs_error_sys(err, "getrandom");
		xasprintf(out, "%s/%s.%02x%02x%02x%02x%02x%02x%02x%02x", base,
		    prefix, r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
		if (mkdir(*out, 0700) == 0)
			return 0;
		if (errno != EEXIST) {
			gs_error_sys(err, "mkdir %s", *out);
			free(*out);
			*out = NULL;
			return -1;
		}
		free(*out);
		*out = NULL;
	}
	return gs_error_set(err, GS_E_RUNTIME, 0, "%s/%s.*: no free "
	    "name", base, prefix);
}

/*
 * A directory of ours: made with mode when missing (parents as needed);
 * when present it must be a real directory (not a symlink someone planted)
 * owned by us, and its mode is set to mode.
 */
int
util_own_dir(const char *path, mode_t mode, struct gs_error *err)
{
	struct stat	sb;
	int		fd, ret = -1;

	if (lstat(path, &sb) == -1 && errno == ENOENT &&
	    util_mkdir_p(path, mode, err) == -1)
		return -1;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1) {
		if (errno == ELOOP || errno == ENOTDIR)
			return gs_error_set(err, GS_E_RUNTIME, errno,
			    "%s: not a directory (a symlink?): refusing to use "
			    "it", path);
		return gs_error_sys(err, "open %s", path);
	}
	if (fstat(fd, &sb) == -1)
		gs_error_sys(err, "stat %s", path);
	else if (sb.st_uid != geteuid())
		gs_error_set(err, GS_E_RUNTIME, EPERM, "%s: owned by uid %lu, "
		    "not by us: refusing to use it", path,
		    (unsigned long)sb.st_uid);
	else if ((sb.st_mode & 07777) != mode && fchmod(fd, mode) == -1)
		gs_error_sys(err, "chmod %s", path);
	else
		ret = 0;
	close(fd);
	return ret;
}

static int
util_rm_cb(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (type == FTW_DP)
		return rmdir(path) == -1 && errno != ENOENT ? -1 : 0;
	return unlink(path) == -1 && errno != ENOENT ? -1 : 0;
}

int
util_rm_rf(const char *path, struct gs_error *err)
{
	struct stat	sb;

	if (lstat(path, &sb) == -1) {
		if (errno == ENOENT)
			return 0;
		return gs_error_sys(err, "stat %s", path);
	}
	if (!S_ISDIR(sb.st_mode)) {
		if (unlink(path) == -1 && errno != ENOENT)
			return gs_error_sys(err, "unlink %s", path);
		return 0;
	}
	/* a read-only dir left by an archive must still be removable */
	if (nftw(path, util_rm_cb, 32, FTW_DEPTH | FTW_PHYS) == -1)
		return gs_error_sys(err, "remove %s", path);
	return 0;
}

int
util_fsync_dir(const char *dir, struct gs_error *err)
{
	int	fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return gs_error_sys(err, "open %s", dir);
	if (fsync(fd) == -1 && errno != EINVAL) {
		gs_error_sys(err, "fsync %s", dir);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int
util_write_atomic(const char *dir, const char *name, const void *buf,
    size_t len, mode_t mode, struct gs_error *err)
{
	char		*tmp = NULL, *dst = NULL;
	const char	*p = buf;
	ssize_t		 n;
	int		 fd = -1, ret = -1;

	xasprintf(&tmp, "%s/.%s.tmp", dir, name);
	xasprintf(&dst, "%s/%s", dir, name);
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    mode);
	if (fd == -1) {
		gs_error_sys(err, "create %s", tmp);
		goto out;
	}
	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			gs_error_sys(err, "write %s", tmp);
			goto out;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fchmod(fd, mode) == -1 || fsync(fd) == -1) {
		gs_error_sys(err, "sync %s", tmp);
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		gs_error_sys(err, "close %s", tmp);
		goto out;
	}
	fd = -1;
	if (rename(tmp, dst) == -1) {
		gs_error_sys(err, "rename %s", dst);
		goto out;
	}
	ret = util_fsync_dir(dir, err);
out:
	if (fd != -1)
		close(fd);
	if (ret == -1)
		(void)unlink(tmp);
	free(tmp);
	free(dst);
	return ret;
}

int
util_read_file(const char *path, size_t max, char **out, size_t *lenp,
    struct gs_error *err)
{
	struct stat	 sb;
	char		*buf = NULL;
	size_t		 len = 0, cap = 0;
	ssize_t		 n;
	int		 fd;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return gs_error_sys(err, "%s", path);
	if (fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		close(fd);
		errno = EISDIR;
		return gs_error_sys(err, "%s", path);
	}
	for (;;) {
		if (len + 1 >= cap) {
			cap = cap == 0 ? 4096 : cap * 2;
			buf = xreallocarray(buf, cap, 1);
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			gs_error_sys(err, "read %s", path);
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			gs_error_set(err, GS_E_SYS, EFBIG,
			    "%s: larger than %zu bytes", path, max);
			goto fail;
		}
	}
	close(fd);
	buf[len] = '\0';
	*out = buf;
	if (lenp != NULL)
		*lenp = len;
	return 0;
fail:
	close(fd);
	free(buf);
	return -1;
}

int
util_read_secret(const char *path, char **out, struct gs_error *err)
{
	size_t	len;

	if (util_read_file(path, 64 * 1024, out, &len, err) == -1)
		return -1;
	if (len > 0 && (*out)[len - 1] == '\n') {
		(*out)[--len] = '\0';
		if (len > 0 && (*out)[len - 1] == '\r')
			(*out)[--len] = '\0';
	}
	return 0;
}

char *
util_path_join(const char *a, const char *b)
{
	char	*out;
	size_t	 la = strlen(a);

	if (la > 0 && a[la - 1] == '/')
		xasprintf(&out, "%s%s", a, b);
	else
		xasprintf(&out, "%s/%s", a, b);
	return out;
}

int
util_exists(const char *path)
{
	struct stat	sb;

	return lstat(path, &sb) == 0;
}

int
util_is_dir(const char *path)
{
	struct stat	sb;

	return lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* free n strings and the array holding them */
void
util_strv_free(char **v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* the list stays NULL-terminated, so v can serve as an argv */
void
strlist_add(struct gs_strlist *l, const char *s)
{
	l->v = xreallocarray(l->v, l->n + 2, sizeof(*l->v));
	l->v[l->n++] = xstrdup(s);
	l->v[l->n] = NULL;
}

void
strlist_free(struct gs_strlist *l)
{
	if (l == NULL)
		return;
	util_strv_free(l->v, l->n);
	l->v = NULL;
	l->n = 0;
}

/*
 * A printable, bounded copy of a user's value for a message: control
 * characters, quotes and backslashes become '?', and a long value is cut
 * before a whole UTF-8 character and ends in "...".
 */
void
util_quote(char *out, size_t size, const char *s, size_t len)
{
	size_t	i, o = 0;

	for (i = 0; i < len && o + 5 < size; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f ||
		    s[i] == '"' || s[i] == '\\')
			out[o++] = '?';
		else
			out[o++] = s[i];
	}
	if (i < len && o >= 3) {
		o -= 3;
		while (o > 0 && ((unsigned char)out[o] & 0xc0) == 0x80)
			o--;
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

/* a variable name: [A-Za-z_][A-Za-z0-9_]* */
int
util_is_identifier(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return 0;
	for (s++; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return 0;
	return 1;
}
