/*
 * log.c: one record per line on stderr, logfmt (key=value) or JSON lines.
 *
 * Callers write their message as key=value pairs (values with spaces in
 * double quotes); the logger splits it back into pairs so that both output
 * formats escape the same way, and one record always stays one line.
 * Registered secrets and URL userinfo are scrubbed from every record.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gitstrap.h"

#define LOG_MAXSECRETS	16

static enum log_level	 log_lvl = LOG_LEVEL_INFO;
static enum log_format	 log_fmt = LOG_FORMAT_TEXT;
static char		*log_secrets[LOG_MAXSECRETS];
static size_t		 log_nsecrets;
/* the data fetch registers and logs from a thread of its own at boot */
static pthread_mutex_t	 log_secrets_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *log_level_names[] = { "error", "warn", "info", "debug" };

void
log_init(const char *procname, enum log_level lvl, enum log_format fmt)
{
	(void)procname;
	log_lvl = lvl;
	log_fmt = fmt;
}

void
log_set(enum log_level lvl, enum log_format fmt)
{
	log_lvl = lvl;
	log_fmt = fmt;
}

int
log_debugging(void)
{
	return log_lvl >= LOG_LEVEL_DEBUG;
}

int
log_level_parse(const char *s, enum log_level *out)
{
	size_t	i;

	for (i = 0; i < sizeof(log_level_names) / sizeof(*log_level_names);
	    i++) {
		if (strcmp(s, log_level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

int
log_format_parse(const char *s, enum log_format *out)
{
	if (strcmp(s, "text") == 0)
		*out = LOG_FORMAT_TEXT;
	else if (strcmp(s, "json") == 0)
		*out = LOG_FORMAT_JSON;
	else
		return -1;
	return 0;
}

void
log_add_secret(const char *s)
{
	size_t	i;

	/* very short values would scrub innocent text: not worth it */
	if (s == NULL || strlen(s) < 4)
		return;
	pthread_mutex_lock(&log_secrets_lock);
	/*
	 * Known: it becomes the newest, so that the ones registered on every
	 * cycle (credentials) are never the ones a full list drops.
	 */
	for (i = 0; i < log_nsecrets; i++)
		if (strcmp(log_secrets[i], s) == 0) {
			char	*t = log_secrets[i];

			memmove(log_secrets + i, log_secrets + i + 1,
			    (log_nsecrets - i - 1) * sizeof(*log_secrets));
			log_secrets[log_nsecrets - 1] = t;
			goto out;
		}
	if (log_nsecrets == LOG_MAXSECRETS) {
		free(log_secrets[0]);
		memmove(log_secrets, log_secrets + 1,
		    (LOG_MAXSECRETS - 1) * sizeof(*log_secrets));
		log_nsecrets--;
	}
	log_secrets[log_nsecrets++] = xstrdup(s);
out:
	pthread_mutex_unlock(&log_secrets_lock);
}

/* replace every registered secret by "***", and drop URL userinfo */
static void
log_scrub(char *line)
{
	size_t	 i, slen;
	char	*p, *q, *end;

	pthread_mutex_lock(&log_secrets_lock);
	for (i = 0; i < log_nsecrets; i++) {
		slen = strlen(log_secrets[i]);
		while ((p = strstr(line, log_secrets[i])) != NULL) {
			memcpy(p, "***", 3);
			memmove(p + 3, p + slen, strlen(p + slen) + 1);
		}
	}
	pthread_mutex_unlock(&log_secrets_lock);
	for (p = line; (p = strstr(p, "://")) != NULL; p += 3) {
		end = p + 3 + strcspn(p + 3, "/ \"?#");
		for (q = end; q > p + 3; q--)
			if (q[-1] == '@')
				break;
		if (q > p + 3)	/* userinfo is p+3 .. q */
			memmove(p + 3, q, strlen(q) + 1);
	}
}

static int
log_iskeych(int c)
{
	return isalnum(c) || c == '_' || c == '.' || c == '-';
}

/* does a key=... start at p? */
static int
log_iskey(const char *p)
{
	const char	*q = p;

	while (log_iskeych((unsigned char)*q))
		q++;
	return q > p && *q == '=';
}

/*
 * Split "k=v k2="v v" ..." into pairs. A '"' closes a quoted value only
 * when followed by the end or by " key=", so quotes inside an error
 * message are kept as text.
 */
static size_t
log_split(char *s, char **keys, char **vals, size_t max)
{
	size_t	 n = 0;
	char	*p = s, *q, *c;

	while (*p != '\0' && n < max) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		if (!log_iskey(p)) {	/* free text: the rest is "msg" */
			keys[n] = "msg";
			vals[n++] = p;
			break;
		}
		keys[n] = p;
		q = strchr(p, '=');
		*q++ = '\0';
		if (*q == '"') {
			q++;
			for (c = q; (c = strchr(c, '"')) != NULL; c++)
				if (c[1] == '\0' || (c[1] == ' ' &&
				    log_iskey(c + 2)))
					break;
			vals[n++] = q;
			if (c == NULL)
				break;
			*c = '\0';
			p = c + 1;
		} else {
			vals[n++] = q;
			c = strchr(q, ' ');
			if (c == NULL)
				break;
			*c = '\0';
			p = c + 1;
		}
	}
	return n;
}

static void
log_put_escaped(FILE *f, const char *v, int json)
{
	const unsigned char	*p;

	for (p = (const unsigned char *)v; *p != '\0'; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (*p < 0x20 || *p == 0x7f) {
				if (json)
					fprintf(f, "\\u%04x", *p);
				else
					fprintf(f, "\\x%02x", *p);
			} else
				fputc(*p, f);
		}
	}
}

static int
log_needs_quotes(const char *v)
{
	if (*v == '\0')
		return 1;
	for (; *v != '\0'; v++)
		if (*v == ' ' || *v == '"' || *v == '=' ||
		    (unsigned char)*v < 0x20)
			return 1;
	return 0;
}

static void
log_emit(enum log_level lvl, const char *ev, const char *msg, const char *err)
{
	char		 ts[32], *buf, *keys[64], *vals[64];
	size_t		 n, i;
	FILE		*f = stderr;
	int		 json = log_fmt == LOG_FORMAT_JSON;

	util_time_rfc3339(time(NULL), ts);
	if (err != NULL)
		xasprintf(&buf, "%s err=\"%s\"", msg, err);
	else
		buf = xstrdup(msg);
	log_scrub(buf);
	n = log_split(buf, keys, vals, sizeof(keys) / sizeof(*keys));

	flockfile(f);
	if (json)
		fprintf(f, "{\"ts\":\"%s\",\"level\":\"%s\",\"ev\":\"", ts,
		    log_level_names[lvl]);
	else
		fprintf(f, "ts=%s level=%s ev=", ts, log_level_names[lvl]);
	log_put_escaped(f, ev, json);
	if (json)
		fputc('"', f);
	for (i = 0; i < n; i++) {
		if (json) {
			fputs(",\"", f);
			log_put_escaped(f, keys[i], 1);
			fputs("\":\"", f);
			log_put_escaped(f, vals[i], 1);
			fputc('"', f);
		} else if (log_needs_quotes(vals[i])) {
			fprintf(f, " %s=\"", keys[i]);
			log_put_escaped(f, vals[i], 0);
			fputc('"', f);
		} else
			fprintf(f, " %s=%s", keys[i], vals[i]);
	}
	fputs(json ? "}\n" : "\n", f);
	fflush(f);
	funlockfile(f);
	free(buf);
}

static void
log_vlog(enum log_level lvl, const char *ev, int with_errno, const char *fmt,
    va_list ap)
{
	int	 saved = errno;
	char	*msg;

	if (lvl > log_lvl) {
		errno = saved;
		return;
	}
	xvasprintf(&msg, fmt, ap);
	log_emit(lvl, ev, msg, with_errno ? strerror(saved) : NULL);
	free(msg);
	errno = saved;
}

void
log_warn(const char *ev, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vlog(LOG_LEVEL_WARN, ev, 1, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *ev, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vlog(LOG_LEVEL_WARN, ev, 0, fmt, ap);
	va_end(ap);
}

void
log_info(const char *ev, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vlog(LOG_LEVEL_INFO, ev, 0, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *ev, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vlog(LOG_LEVEL_DEBUG, ev, 0, fmt, ap);
	va_end(ap);
}

void
log_error(const char *ev, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vlog(LOG_LEVEL_ERROR, ev, 0, fmt, ap);
	va_end(ap);
}

void
fatal(const char *ev, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vlog(LOG_LEVEL_ERROR, ev, 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *ev, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vlog(LOG_LEVEL_ERROR, ev, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
