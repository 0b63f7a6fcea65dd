/*
 * fuzz_archive_path.c: libFuzzer target for the archive path rules of
 * unpack.c, unpack_clean_path and unpack_link_inside, checked against
 * what they promise rather than only for crashes.
 *
 * Input: one byte of strip_components, then the entry name and a symlink
 * target separated by a NUL byte.
 *
 *  - a cleaned path is relative, has no empty, "." or ".." component and
 *    no trailing slash, and is shorter than PATH_MAX;
 *  - a symlink accepted at that path resolves, lexically from the link's
 *    dir, to a place that never climbs above the release dir.
 */
#include "config.h"

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gitstrap.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_clean(const char *p)
{
	const char	*c;
	size_t		 len;

	if (*p == '\0' || *p == '/' || strlen(p) >= PATH_MAX)
		abort();
	for (c = p;; c += len + 1) {
		len = strcspn(c, "/");
		if (len == 0 || (len == 1 && c[0] == '.') ||
		    (len == 2 && c[0] == '.' && c[1] == '.'))
			abort();
		if (c[len] == '\0')
			break;
	}
}

/*
 * Walk the link's dir and then the target, component by component: the
 * depth below the release dir must never go negative. (Names in the
 * target are taken as plain dirs; unpack_link_inside refuses a ".." after
 * a name, so a symlink met on the way cannot matter.)
 */
static void
check_link(const char *path, const char *target)
{
	const char	*c;
	size_t		 len;
	long		 depth = 0;

	if (*target == '/')
		abort();
	for (c = path; strchr(c, '/') != NULL; c += len + 1) {
		len = strcspn(c, "/");
		depth++;
	}
	for (c = target; *c != '\0'; c += len) {
		while (*c == '/')
			c++;
		len = strcspn(c, "/");
		if (len == 2 && c[0] == '.' && c[1] == '.') {
			if (--depth < 0)
				abort();
		} else if (len > 0 && !(len == 1 && c[0] == '.'))
			depth++;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*why = NULL;
	char		*buf, *entry, *target, *nul, *out = NULL;
	int		 strip;

	if (size < 1)
		return 0;
	strip = data[0] % 8;
	buf = xmalloc(size);
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	entry = buf;
	nul = memchr(buf, '\0', size - 1);
	target = nul != NULL && nul < buf + size - 1 ? nul + 1 : NULL;

	if (unpack_clean_path(entry, strip, &out, &why) == -1) {
		if (out != NULL || why == NULL)
			abort();
	} else if (out != NULL) {
		check_clean(out);
		if (target != NULL && unpack_link_inside(out, target))
			check_link(out, target);
	}
	free(out);
	free(buf);
	return 0;
}
