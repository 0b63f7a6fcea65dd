/*
 * error.c: the one error type, and diagnostic lists for parsers that
 * report every problem before failing.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gitstrap.h"

int
gs_error_set(struct gs_error *err, enum gs_esrc src, int code,
    const char *fmt, ...)
{
	va_list	ap;

	if (err == NULL)
		return -1;
	err->src = src;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int
gs_error_sys(struct gs_error *err, const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;
	char	what[sizeof(err->msg)];

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return gs_error_set(err, GS_E_SYS, saved, "%s: %s", what,
	    strerror(saved));
}

void
gs_error_prefix(struct gs_error *err, const char *fmt, ...)
{
	va_list	ap;
	char	pre[sizeof(err->msg)], old[sizeof(err->msg)];

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	/* a long message is cut: one line of context beats none */
	if (snprintf(err->msg, sizeof(err->msg), "%s: %s", pre, old) >=
	    (int)sizeof(err->msg))
		err->msg[sizeof(err->msg) - 1] = '\0';
}

void
gs_error_clear(struct gs_error *err)
{
	memset(err, 0, sizeof(*err));
}

int
gs_error_exit_code(const struct gs_error *err)
{
	if (err->src == GS_E_CONFIG || err->src == GS_E_YAML)
		return 2;
	return 1;
}

void
diag_add(struct gs_diag *d, const char *fmt, ...)
{
	va_list	ap;
	char	*s, *p;

	if (d == NULL)
		return;
	va_start(ap, fmt);
	xvasprintf(&s, fmt, ap);
	va_end(ap);
	/* one line each, whatever user text went into it */
	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	d->msgs = xreallocarray(d->msgs, d->n + 1, sizeof(*d->msgs));
	d->msgs[d->n++] = s;
}

void
diag_addat(struct gs_diag *d, const char *file, int line, int col,
    const char *fmt, ...)
{
	va_list	ap;
	char	*s;

	if (d == NULL)
		return;
	va_start(ap, fmt);
	xvasprintf(&s, fmt, ap);
	va_end(ap);
	diag_add(d, "%s:%d:%d: %s", file, line, col, s);
	free(s);
}

void
diag_free(struct gs_diag *d)
{
	if (d == NULL)
		return;
	util_strv_free(d->msgs, d->n);
	d->msgs = NULL;
	d->n = 0;
}

int
diag_to_error(struct gs_error *err, const struct gs_diag *d)
{
	if (d == NULL || d->n == 0)
		return 0;
	return gs_error_set(err, GS_E_CONFIG, 0, "%s", d->msgs[0]);
}
