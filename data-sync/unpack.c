/*
 * unpack.c: extract an archive held in memory into a release dir.
 *
 * libarchive reads the archive and archive_write_disk writes it. Every
 * entry is checked here before it is written, so that a refusal is one
 * message of ours naming the archive and the entry; libarchive's own
 * ARCHIVE_EXTRACT_SECURE_* checks stay on behind ours as a second line.
 *
 * The rules, for an archive that may come from anyone who can push to the
 * data repo:
 *  - no absolute path and no ".." component anywhere in a name;
 *  - nothing is written through a symlink, and no directory is replaced
 *    by a file or a file by a directory;
 *  - a symlink must resolve inside the release dir (see
 *    unpack_link_inside); a hard link must name a regular file extracted
 *    earlier from the same archive;
 *  - devices, fifos and sockets are refused;
 *  - modes are normalised (dirs 0755, files 0644 or 0755), ownership is
 *    not restored, times are;
 *  - bytes are counted as they are written, so a header that understates
 *    a size cannot get past limits.max_bytes.
 *
 * This is the hot path (thousands of entries per release): what is known
 * about each path below the release dir is kept in a small hash table, so
 * a parent is looked at on disk at most once, and not at all when the dir
 * was empty to begin with.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gitstrap.h"

/*
 * No owner, ACLs, xattrs or file flags; exact modes (we set them) and times.
 * The SECURE flags make archive_write_disk refuse what we already refuse.
 */
#define UNPACK_FLAGS	(ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | \
	    ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT | \
	    ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS)

/*
 * Names from the archive in messages: printable, on one line, and short
 * enough that the message still says what is wrong.
 */
#define UNPACK_QUOTE	160

/* what is known to be at a path below the release dir */
enum unpack_kind {
	UNPACK_NONE = 0,	/* nothing known (or nothing there) */
	UNPACK_DIR,		/* a real directory, made here or found */
	UNPACK_FILE,		/* a regular file extracted by this call */
	UNPACK_LINK,		/* a symlink extracted by this call */
	UNPACK_OTHER		/* found on disk: not a dir, not ours */
};

struct unpack_slot {
	char			*path;		/* NULL: free slot */
	size_t			 len;
	uint32_t		 hash;
	enum unpack_kind	 kind;
};

/* open addressing, linear probing; never more than half full */
struct unpack_paths {
	struct unpack_slot	*slots;
	size_t			 cap;		/* a power of two */
	size_t			 n;
};

struct unpack {
	const char		*name;		/* the archive, for messages */
	int			 strip;
	struct unpack_limits	*lim;
	struct archive		*in;
	struct archive		*out;
	struct unpack_paths	 paths;
	int			 fresh;		/* dir was empty: paths knows all */
	char			*entry;		/* entry name as in the archive */
	char			 qentry[UNPACK_QUOTE];	/* for messages */
};

static uint32_t
unpack_hash(const char *s, size_t len)
{
	uint32_t	h = 2166136261U;	/* FNV-1a */
	size_t		i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619U;
	}
	return h;
}

static struct unpack_slot *
unpack_paths_find(struct unpack_paths *t, const char *s, size_t len,
    uint32_t h)
{
	struct unpack_slot	*sl;
	size_t			 i;

	for (i = h & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
		sl = &t->slots[i];
		if (sl->path == NULL)
			return sl;
		if (sl->hash == h && sl->len == len &&
		    memcmp(sl->path, s, len) == 0)
			return sl;
	}
}

static enum unpack_kind
unpack_paths_get(struct unpack_paths *t, const char *s, size_t len)
{
	return unpack_paths_find(t, s, len, unpack_hash(s, len))->kind;
}

static void
unpack_paths_set(struct unpack_paths *t, const char *s, size_t len,
    enum unpack_kind kind)
{
	struct unpack_slot	*old, *sl;
	size_t			 oldcap, i;
	uint32_t		 h = unpack_hash(s, len);

	sl = unpack_paths_find(t, s, len, h);
	if (sl->path != NULL) {
		sl->kind = kind;
		return;
	}
	if ((t->n + 1) * 2 > t->cap) {
		old = t->slots;
		oldcap = t->cap;
		t->cap *= 2;
		t->slots = xcalloc(t->cap, sizeof(*t->slots));
		for (i = 0; i < oldcap; i++)
			if (old[i].path != NULL)
				*unpack_paths_find(t, old[i].path, old[i].len,
				    old[i].hash) = old[i];
		free(old);
		sl = unpack_paths_find(t, s, len, h);
	}
	sl->path = xstrndup(s, len);
	sl->len = len;
	sl->hash = h;
	sl->kind = kind;
	t->n++;
}

static void
unpack_paths_free(struct unpack_paths *t)
{
	size_t	i;

	for (i = 0; i < t->cap; i++)
		free(t->slots[i].path);
	free(t->slots);
	t->slots = NULL;
	t->cap = t->n = 0;
}

/* is the component s[0..len) "."? */
static int
unpack_is_dot(const char *s, size_t len)
{
	return len == 1 && s[0] == '.';
}

/* is the component s[0..len) ".."? */
static int
unpack_is_dotdot(const char *s, size_t len)
{
	return len == 2 && s[0] == '.' && s[1] == '.';
}

/*
 * Strip components the way GNU tar counts them: runs of '/' separate
 * components and every non-empty component counts, "." included, so
 * "./top/a" with strip 2 is "a". The rest is normalised: no empty or "."
 * components, no trailing slash.
 */
int
unpack_clean_path(const char *entry, int strip, char **out,
    const char **why)
{
	const char	*p, *c;
	char		*o;
	size_t		 len;
	int		 n;

	*out = NULL;
	if (entry == NULL || *entry == '\0') {
		*why = "empty path";
		return -1;
	}
	if (*entry == '/') {
		*why = "absolute path";
		return -1;
	}
	for (p = entry; *p != '\0'; p += len) {
		while (*p == '/')
			p++;
		len = strcspn(p, "/");
		if (unpack_is_dotdot(p, len)) {
			*why = "path escapes the release dir";
			return -1;
		}
		if (len > NAME_MAX) {
			*why = "name too long";
			return -1;
		}
	}
	if (p - entry >= PATH_MAX) {
		*why = "path too long";
		return -1;
	}

	p = entry;
	for (n = 0; n < strip; n++) {
		while (*p == '/')
			p++;
		if (*p == '\0')
			return 0;	/* stripped away entirely */
		p += strcspn(p, "/");
	}

	o = *out = xmalloc(strlen(p) + 1);
	while (*p != '\0') {
		while (*p == '/')
			p++;
		c = p;
		len = strcspn(p, "/");
		p += len;
		if (len == 0 || unpack_is_dot(c, len))
			continue;
		if (o != *out)
			*o++ = '/';
		memcpy(o, c, len);
		o += len;
	}
	*o = '\0';
	if (o == *out) {
		free(*out);
		*out = NULL;	/* the top dir itself */
	}
	return 0;
}

/*
 * Does a symlink at entry_path (a clean relative path) with this target
 * resolve inside the tree? Lexically, with one more rule: ".." may only
 * lead the target. After a name, ".." would step out of whatever that name
 * resolves to, and if the name is itself a symlink (to the top of the
 * tree, say) that goes where no lexical check can see. Leading ".." from
 * the link's own dir walk up real directories (nothing is extracted through
 * a symlink), and names below an inside point stay inside as long as every
 * symlink does: which is what this check makes true, one link at a time.
 */
/*
 * The next path component at *pp, skipping slashes and "." components:
 * its start in *c and length in *len; 0 at the end of the path.
 */
static int
unpack_next_component(const char **pp, const char **c, size_t *len)
{
	const char	*p = *pp;

	for (;;) {
		while (*p == '/')
			p++;
		if (*p == '\0') {
			*pp = p;
			return 0;
		}
		*c = p;
		*len = strcspn(p, "/");
		p += *len;
		if (!unpack_is_dot(*c, *len))
			break;
	}
	*pp = p;
	return 1;
}

int
unpack_link_inside(const char *entry_path, const char *target)
{
	const char	*p, *c;
	size_t		 len;
	long		 depth = -1;	/* the last component is the link */
	int		 named = 0;

	if (entry_path == NULL || target == NULL || *target == '\0' ||
	    *target == '/' || *entry_path == '/')
		return 0;

	/* depth of the link's dir: the components before the last one */
	for (p = entry_path; unpack_next_component(&p, &c, &len);) {
		if (unpack_is_dotdot(c, len))
			return 0;
		depth++;
	}
	if (depth < 0)
		return 0;

	for (p = target; unpack_next_component(&p, &c, &len);) {
		if (unpack_is_dotdot(c, len)) {
			if (named || --depth < 0)
				return 0;
		} else
			named = 1;
	}
	return 1;
}

/* refuse the current entry: NAME: entry "ENTRY": why */
static int
unpack_refuse(struct unpack *u, struct gs_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
unpack_refuse(struct unpack *u, struct gs_error *err, const char *fmt, ...)
{
	va_list	ap;
	char	why[sizeof(err->msg)];

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return gs_error_set(err, GS_E_ARCHIVE, ARCHIVE_FAILED,
	    "%s: entry \"%s\": %s", u->name, u->qentry, why);
}

/* a libarchive failure, with its own message */
static int
unpack_seterr(struct unpack *u, struct archive *a, int rc,
    struct gs_error *err)
{
	const char	*s = archive_error_string(a);

	if (s == NULL)
		s = rc == ARCHIVE_FATAL ? "fatal libarchive error" :
		    "libarchive error";
	if (u->entry != NULL)
		return gs_error_set(err, GS_E_ARCHIVE, archive_errno(a),
		    "%s: entry \"%s\": %s", u->name, u->qentry, s);
	return gs_error_set(err, GS_E_ARCHIVE, archive_errno(a), "%s: %s",
	    u->name, s);
}

static void
unpack_warn(struct unpack *u, struct archive *a)
{
	const char	*s = archive_error_string(a);

	log_warnx("unpack.warn", "archive=\"%s\" entry=\"%s\" msg=\"%s\"",
	    u->name, u->entry != NULL ? u->qentry : "",
	    s != NULL ? s : "warning");
}

static int
unpack_over_bytes(struct unpack *u, struct gs_error *err)
{
	return gs_error_set(err, GS_E_RUNTIME, EFBIG,
	    "%s: over the limit of %llu bytes (limits.max_bytes)", u->name,
	    (unsigned long long)u->lim->max_bytes);
}

/* what is on disk at s[0..len), relative to the release dir (our cwd) */
static int
unpack_stat(struct unpack *u, const char *s, size_t len,
    enum unpack_kind *kind, struct gs_error *err)
{
	char		path[PATH_MAX];
	struct stat	sb;

	memcpy(path, s, len);	/* len < PATH_MAX: unpack_clean_path */
	path[len] = '\0';
	if (lstat(path, &sb) == -1) {
		if (errno != ENOENT)
			return gs_error_sys(err, "%s: entry \"%s\"",
			    u->name, u->qentry);
		*kind = UNPACK_NONE;
	} else if (S_ISDIR(sb.st_mode))
		*kind = UNPACK_DIR;
	else if (S_ISLNK(sb.st_mode))
		*kind = UNPACK_LINK;
	else
		*kind = UNPACK_OTHER;
	return 0;
}

/*
 * Every parent of path must be a real directory, or not exist yet (then
 * archive_write_disk makes it, and we note it as one). The immediate parent
 * is nearly always known already.
 */
static int
unpack_check_parents(struct unpack *u, const char *path, struct gs_error *err)
{
	const char		*slash, *p;
	enum unpack_kind	 kind;
	size_t			 len;
	int			 missing = 0;

	if ((slash = strrchr(path, '/')) == NULL)
		return 0;
	if (unpack_paths_get(&u->paths, path, (size_t)(slash - path)) ==
	    UNPACK_DIR)
		return 0;
	for (p = path; (p = strchr(p, '/')) != NULL; p++) {
		len = (size_t)(p - path);
		kind = missing ? UNPACK_NONE :
		    unpack_paths_get(&u->paths, path, len);
		if (kind == UNPACK_NONE && !missing && !u->fresh &&
		    unpack_stat(u, path, len, &kind, err) == -1)
			return -1;
		switch (kind) {
		case UNPACK_NONE:
			missing = 1;	/* so is everything below it */
			unpack_paths_set(&u->paths, path, len, UNPACK_DIR);
			break;
		case UNPACK_DIR:
			unpack_paths_set(&u->paths, path, len, UNPACK_DIR);
			break;
		case UNPACK_LINK:
			return unpack_refuse(u, err,
			    "path goes through a symlink");
		default:
			return unpack_refuse(u, err,
			    "would replace a file with a directory");
		}
	}
	return 0;
}

/* a new entry of this kind may take this path */
static int
unpack_check_replace(struct unpack *u, const char *path, enum unpack_kind new,
    struct gs_error *err)
{
	enum unpack_kind	old;

	old = unpack_paths_get(&u->paths, path, strlen(path));
	if (old == UNPACK_NONE && !u->fresh &&
	    unpack_stat(u, path, strlen(path), &old, err) == -1)
		return -1;
	if (new == UNPACK_DIR) {
		if (old == UNPACK_LINK)
			return unpack_refuse(u, err,
			    "would replace a symlink with a directory");
		if (old != UNPACK_NONE && old != UNPACK_DIR)
			return unpack_refuse(u, err,
			    "would replace a file with a directory");
	} else if (old == UNPACK_DIR)
		return unpack_refuse(u, err,
		    "would replace a directory with a %s",
		    new == UNPACK_LINK ? "symlink" : "file");
	return 0;
}

/* the hard link's target: a regular file this archive has extracted */
static int
unpack_check_hardlink(struct unpack *u, struct archive_entry *e,
    const char *target, struct gs_error *err)
{
	const char	*why;
	char		*clean, q[UNPACK_QUOTE];
	int		 ok;

	util_quote(q, sizeof(q), target, strlen(target));
	if (unpack_clean_path(target, u->strip, &clean, &why) == -1)
		return unpack_refuse(u, err, "hard link target \"%s\": %s",
		    q, why);
	ok = clean != NULL &&
	    unpack_paths_get(&u->paths, clean, strlen(clean)) == UNPACK_FILE;
	if (ok)
		archive_entry_set_hardlink(e, clean);
	free(clean);
	if (!ok)
		return unpack_refuse(u, err, "hard link target \"%s\" is not "
		    "a file extracted earlier from this archive", q);
	return 0;
}

/* copy the entry's data, counting what is actually written */
static int
unpack_copy(struct unpack *u, struct gs_error *err)
{
	const void	*buf;
	size_t		 len;
	la_int64_t	 off;
	la_ssize_t	 w;
	int		 r;

	for (;;) {
		r = archive_read_data_block(u->in, &buf, &len, &off);
		if (r == ARCHIVE_EOF)
			return 0;
		if (r == ARCHIVE_WARN)
			unpack_warn(u, u->in);
		else if (r != ARCHIVE_OK)
			return unpack_seterr(u, u->in, r, err);
		if (len > u->lim->max_bytes - u->lim->bytes)
			return unpack_over_bytes(u, err);
		u->lim->bytes += len;
		w = archive_write_data_block(u->out, buf, len, off);
		if (w == ARCHIVE_WARN)
			unpack_warn(u, u->out);
		else if (w < ARCHIVE_OK)
			return unpack_seterr(u, u->out, (int)w, err);
	}
}

static int
unpack_entry(struct unpack *u, struct archive_entry *e, struct gs_error *err)
{
	struct unpack_limits	*lim = u->lim;
	const char		*why, *hardlink, *target;
	char			*path = NULL, q[UNPACK_QUOTE];
	enum unpack_kind	 kind;
	mode_t			 type;
	int			 r, ret = -1;

	if (unpack_clean_path(u->entry, u->strip, &path, &why) == -1)
		return unpack_refuse(u, err, "%s", why);
	if (path == NULL)
		return 0;		/* stripped away: the top dir */

	type = archive_entry_filetype(e);
	hardlink = archive_entry_hardlink(e);
	if (hardlink != NULL)
		kind = UNPACK_FILE;
	else {
		switch (type) {
		case AE_IFREG:
			kind = UNPACK_FILE;
			break;
		case AE_IFDIR:
			kind = UNPACK_DIR;
			break;
		case AE_IFLNK:
			kind = UNPACK_LINK;
			break;
		case AE_IFCHR:
			unpack_refuse(u, err, "character device refused");
			goto out;
		case AE_IFBLK:
			unpack_refuse(u, err, "block device refused");
			goto out;
		case AE_IFIFO:
			unpack_refuse(u, err, "fifo refused");
			goto out;
		case AE_IFSOCK:
			unpack_refuse(u, err, "socket refused");
			goto out;
		default:
			unpack_refuse(u, err, "unknown entry type 0%o refused",
			    (unsigned)type);
			goto out;
		}
	}

	if (lim->entries >= lim->max_entries) {
		gs_error_set(err, GS_E_RUNTIME, EFBIG,
		    "%s: over the limit of %llu entries (limits.max_entries)",
		    u->name, (unsigned long long)lim->max_entries);
		goto out;
	}
	/* an honest header over the limit fails before anything is written */
	if (kind == UNPACK_FILE && archive_entry_size_is_set(e) &&
	    (uint64_t)archive_entry_size(e) > lim->max_bytes - lim->bytes) {
		unpack_over_bytes(u, err);
		goto out;
	}

	if (unpack_check_parents(u, path, err) == -1 ||
	    unpack_check_replace(u, path, kind, err) == -1)
		goto out;
	if (hardlink != NULL) {
		if (unpack_check_hardlink(u, e, hardlink, err) == -1)
			goto out;
	} else if (kind == UNPACK_LINK) {
		target = archive_entry_symlink(e);
		if (target == NULL || *target == '\0') {
			unpack_refuse(u, err, "symlink without a target");
			goto out;
		}
		util_quote(q, sizeof(q), target, strlen(target));
		if (*target == '/') {
			unpack_refuse(u, err, "symlink target \"%s\" is "
			    "absolute", q);
			goto out;
		}
		if (!unpack_link_inside(path, target)) {
			unpack_refuse(u, err, "symlink target \"%s\" leads "
			    "outside the release dir", q);
			goto out;
		}
	}

	if (kind == UNPACK_DIR)
		archive_entry_set_perm(e, 0755);
	else if (kind == UNPACK_FILE)
		archive_entry_set_perm(e,
		    (archive_entry_perm(e) & 0111) != 0 ? 0755 : 0644);
	archive_entry_set_pathname(e, path);

	lim->entries++;
	r = archive_write_header(u->out, e);
	if (r == ARCHIVE_WARN)
		unpack_warn(u, u->out);
	else if (r != ARCHIVE_OK) {
		unpack_seterr(u, u->out, r, err);
		goto out;
	}
	unpack_paths_set(&u->paths, path, strlen(path), kind);
	if (kind == UNPACK_FILE && unpack_copy(u, err) == -1)
		goto out;
	r = archive_write_finish_entry(u->out);
	if (r == ARCHIVE_WARN)
		unpack_warn(u, u->out);
	else if (r != ARCHIVE_OK) {
		unpack_seterr(u, u->out, r, err);
		goto out;
	}
	ret = 0;
out:
	free(path);
	return ret;
}

/* is the current directory empty? (then every path in it is ours) */
static int
unpack_dir_empty(void)
{
	DIR		*d;
	struct dirent	*de;
	int		 empty = 1;

	if ((d = opendir(".")) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0) {
			empty = 0;
			break;
		}
	}
	closedir(d);
	return empty;
}

/*
 * Every filter libarchive decodes in-process, and every archive format but
 * mtree: an mtree "archive" describes files and libarchive reads their data
 * from the local file system, which would copy any file we can read into a
 * world-readable release.
 */
static void
unpack_support(struct archive *a)
{
	archive_read_support_filter_bzip2(a);
	archive_read_support_filter_compress(a);
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_lz4(a);
	archive_read_support_filter_lzip(a);
	archive_read_support_filter_lzma(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_zstd(a);

	archive_read_support_format_7zip(a);
	archive_read_support_format_ar(a);
	archive_read_support_format_cab(a);
	archive_read_support_format_cpio(a);
	archive_read_support_format_empty(a);
	archive_read_support_format_iso9660(a);
	archive_read_support_format_lha(a);
	archive_read_support_format_rar(a);
	archive_read_support_format_rar5(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_warc(a);
	archive_read_support_format_xar(a);
	archive_read_support_format_zip(a);
}

/*
 * archive_write_disk resolves names against the working directory, and
 * its SECURE checks only make sense for names relative to the release dir:
 * so the extraction runs with the release dir as cwd, restored before
 * returning. (gitstrap extracts from one thread at a time.)
 */
int
unpack_memory(const char *name, const void *buf, size_t len, const char *dir,
    int strip_components, struct unpack_limits *lim, struct gs_error *err)
{
	struct unpack		 u;
	struct archive_entry	*e;
	int			 cwd = -1, r, ret = -1;

	memset(&u, 0, sizeof(u));
	u.name = name;
	u.strip = strip_components;
	u.lim = lim;
	u.paths.cap = 1024;
	u.paths.slots = xcalloc(u.paths.cap, sizeof(*u.paths.slots));

	if ((cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1) {
		gs_error_sys(err, "%s: open the working directory", name);
		goto out;
	}
	if (chdir(dir) == -1) {
		gs_error_sys(err, "%s: %s", name, dir);
		goto out;
	}
	u.fresh = unpack_dir_empty();

	if ((u.in = archive_read_new()) == NULL ||
	    (u.out = archive_write_disk_new()) == NULL)
		fatalx("unpack.nomem", "archive=\"%s\"", name);
	unpack_support(u.in);
	archive_write_disk_set_options(u.out, UNPACK_FLAGS);
	if ((r = archive_read_open_memory(u.in, buf, len)) != ARCHIVE_OK) {
		unpack_seterr(&u, u.in, r, err);
		goto out;
	}

	for (;;) {
		free(u.entry);
		u.entry = NULL;
		r = archive_read_next_header(u.in, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r == ARCHIVE_WARN)
			unpack_warn(&u, u.in);
		else if (r != ARCHIVE_OK) {
			unpack_seterr(&u, u.in, r, err);
			goto out;
		}
		if (archive_entry_pathname(e) != NULL)
			u.entry = xstrdup(archive_entry_pathname(e));
		else if (archive_entry_pathname_utf8(e) != NULL)
			u.entry = xstrdup(archive_entry_pathname_utf8(e));
		else
			u.entry = xstrdup("");
		util_quote(u.qentry, sizeof(u.qentry), u.entry,
		    strlen(u.entry));
		if (unpack_entry(&u, e, err) == -1)
			goto out;
	}
	free(u.entry);
	u.entry = NULL;
	/* sets the deferred directory times: still relative to dir */
	if ((r = archive_write_close(u.out)) != ARCHIVE_OK) {
		unpack_seterr(&u, u.out, r, err);
		goto out;
	}
	ret = 0;
out:
	/* closes too, on failure: still in dir, where its fixups belong */
	if (u.out != NULL)
		archive_write_free(u.out);
	if (u.in != NULL)
		archive_read_free(u.in);
	if (cwd != -1) {
		if (fchdir(cwd) == -1)
			fatal("unpack.chdir", "archive=\"%s\"", name);
		close(cwd);
	}
	free(u.entry);
	unpack_paths_free(&u.paths);
	return ret;
}
