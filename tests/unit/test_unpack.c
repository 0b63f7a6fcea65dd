/*
 * test_unpack.c: unpack.c, the path rules on their own and real
 * extractions of archives built here with libarchive's write API: good
 * ones, and malicious ones that must fail with our message and leave
 * everything outside the release dir as it was.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "gitstrap.h"

#define MTIME	1000000000	/* 2001-09-09: any fixed time will do */

/* ------------------------------------------------------------------ */
/* unpack_clean_path and unpack_link_inside */

static void
clean_ok(const char *entry, int strip, const char *want)
{
	const char	*why = NULL;
	char		*out = (char *)1;

	assert_int_equal(unpack_clean_path(entry, strip, &out, &why), 0);
	if (want == NULL)
		assert_null(out);
	else {
		assert_non_null(out);
		assert_string_equal(out, want);
	}
	free(out);
}

static void
clean_bad(const char *entry, int strip, const char *want)
{
	const char	*why = NULL;
	char		*out = (char *)1;

	assert_int_equal(unpack_clean_path(entry, strip, &out, &why), -1);
	assert_null(out);
	assert_non_null(why);
	assert_string_equal(why, want);
}

static void
test_clean_plain(void **state)
{
	(void)state;
	clean_ok("a", 0, "a");
	clean_ok("a/b/c.html", 0, "a/b/c.html");
	clean_ok("a/./b", 0, "a/b");
	clean_ok("a//b", 0, "a/b");
	clean_ok("a/b/", 0, "a/b");		/* a directory entry */
	clean_ok("./a", 0, "a");
	clean_ok(".//a/.//b//", 0, "a/b");
	clean_ok("...", 0, "...");		/* a name, not a dot-dot */
	clean_ok("a/..b/c..", 0, "a/..b/c..");
	clean_ok(".", 0, NULL);			/* the release dir itself */
	clean_ok("./", 0, NULL);
}

static void
test_clean_strip(void **state)
{
	(void)state;
	/* DESIGN.md's example: "." counts, as in tar */
	clean_ok("./cache_storage_for_open_qa/index.html", 2, "index.html");
	clean_ok("./cache_storage_for_open_qa/a/b.css", 2, "a/b.css");
	clean_ok("./cache_storage_for_open_qa/", 2, NULL);
	clean_ok("./cache_storage_for_open_qa", 2, NULL);
	clean_ok("./", 2, NULL);
	clean_ok("top/a", 1, "a");
	clean_ok("top/a/", 1, "a");
	clean_ok("top/", 1, NULL);
	clean_ok("top", 1, NULL);
	/* runs of slashes separate; they are not components */
	clean_ok("top//a//b", 1, "a/b");
	clean_ok("top//a//b", 2, "b");
	/* a "." in the middle counts too, as GNU tar counts it */
	clean_ok("a/./b/c", 2, "b/c");
	/* more components stripped than the name has: skipped */
	clean_ok("a/b", 3, NULL);
	clean_ok("a/b/c", 3, NULL);
	clean_ok("a/b/c/", 3, NULL);
	clean_ok("a/b/c/d", 3, "d");
}

static void
test_clean_refused(void **state)
{
	(void)state;
	clean_bad("/etc/passwd", 0, "absolute path");
	clean_bad("//etc/passwd", 1, "absolute path");
	clean_bad("/", 0, "absolute path");
	clean_bad("..", 0, "path escapes the release dir");
	clean_bad("../evil", 0, "path escapes the release dir");
	clean_bad("a/../../evil", 0, "path escapes the release dir");
	clean_bad("a/b/..", 0, "path escapes the release dir");
	/* before the stripped part or after it, ".." is refused */
	clean_bad("../a/b", 1, "path escapes the release dir");
	clean_bad("./top/../x", 2, "path escapes the release dir");
	clean_bad("./top/a/../b", 2, "path escapes the release dir");
	clean_bad("a//..//b", 0, "path escapes the release dir");
	clean_bad("", 0, "empty path");
}

static void
test_clean_long(void **state)
{
	char	*p;
	size_t	 i;

	(void)state;
	/* short components, too many of them */
	p = xmalloc(PATH_MAX + 1);
	for (i = 0; i < PATH_MAX; i++)
		p[i] = i % 8 == 7 ? '/' : 'a';
	p[PATH_MAX] = '\0';
	clean_bad(p, 0, "path too long");
	/* one component longer than a file name can be */
	memset(p, 'a', NAME_MAX + 1);
	p[NAME_MAX + 1] = '\0';
	clean_bad(p, 0, "name too long");
	p[NAME_MAX] = '\0';
	clean_ok(p, 0, p);
	free(p);
}

static void
test_link_inside(void **state)
{
	(void)state;
	assert_true(unpack_link_inside("link", "index.html"));
	assert_true(unpack_link_inside("link", "./a/b"));
	assert_true(unpack_link_inside("a/link", ".."));
	assert_true(unpack_link_inside("a/link", "../b/c"));
	assert_true(unpack_link_inside("a/b/link", "../../c"));
	assert_true(unpack_link_inside("a/b/link", "..//..//c/"));
	assert_true(unpack_link_inside("a/b/link", "../x/./y"));
	assert_true(unpack_link_inside("link", "."));

	assert_false(unpack_link_inside("link", ".."));
	assert_false(unpack_link_inside("link", "../x"));
	assert_false(unpack_link_inside("a/link", "../../x"));
	assert_false(unpack_link_inside("a/b/link", "../../../x"));
	assert_false(unpack_link_inside("link", "/etc/passwd"));
	assert_false(unpack_link_inside("a/link", "/"));
	assert_false(unpack_link_inside("link", ""));
	/* ".." after a name may climb out of a symlink: refused */
	assert_false(unpack_link_inside("a/link", "b/.."));
	assert_false(unpack_link_inside("a/b/link", "../up/.."));
	assert_false(unpack_link_inside("link", "x/../y"));
	/* the entry path itself must be a clean relative one */
	assert_false(unpack_link_inside("../link", "x"));
	assert_false(unpack_link_inside("/link", "x"));
}

/* ------------------------------------------------------------------ */
/* archives built in memory */

enum arc_kind {
	ARC_TGZ,
	ARC_ZIP
};

struct arc {
	struct archive	*a;
	char		*buf;
	size_t		 len, cap;
};

static la_ssize_t
arc_write_cb(struct archive *a, void *arg, const void *buf, size_t len)
{
	struct arc	*b = arg;

	(void)a;
	if (b->len + len > b->cap) {
		while (b->len + len > b->cap)
			b->cap = b->cap == 0 ? 65536 : b->cap * 2;
		b->buf = xreallocarray(b->buf, b->cap, 1);
	}
	memcpy(b->buf + b->len, buf, len);
	b->len += len;
	return (la_ssize_t)len;
}

static struct arc *
arc_new(enum arc_kind kind)
{
	struct arc	*b = xcalloc(1, sizeof(*b));

	b->a = archive_write_new();
	assert_non_null(b->a);
	if (kind == ARC_TGZ) {
		assert_int_equal(archive_write_set_format_pax_restricted(b->a),
		    ARCHIVE_OK);
		assert_int_equal(archive_write_add_filter_gzip(b->a),
		    ARCHIVE_OK);
	} else
		assert_int_equal(archive_write_set_format_zip(b->a),
		    ARCHIVE_OK);
	/* no padding after the end: a cut must cut into the data */
	assert_int_equal(archive_write_set_bytes_in_last_block(b->a, 1),
	    ARCHIVE_OK);
	assert_int_equal(archive_write_open(b->a, b, NULL, arc_write_cb,
	    NULL), ARCHIVE_OK);
	return b;
}

static time_t	arc_mtime = MTIME;	/* of the entries arc_add makes */

static void
arc_add(struct arc *b, const char *path, mode_t type, mode_t perm,
    const void *data, size_t len, const char *symlink, const char *hardlink)
{
	struct archive_entry	*e = archive_entry_new();

	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, perm);
	archive_entry_set_mtime(e, arc_mtime, 0);
	archive_entry_set_size(e, type == AE_IFREG && hardlink == NULL ?
	    (la_int64_t)len : 0);
	if (symlink != NULL)
		archive_entry_set_symlink(e, symlink);
	if (hardlink != NULL)
		archive_entry_set_hardlink(e, hardlink);
	if (type == AE_IFCHR || type == AE_IFBLK)
		archive_entry_set_rdev(e, makedev(1, 3));
	if (archive_write_header(b->a, e) != ARCHIVE_OK)
		fail_msg("write header %s: %s", path,
		    archive_error_string(b->a));
	if (len > 0 && hardlink == NULL)
		assert_int_equal(archive_write_data(b->a, data, len),
		    (la_ssize_t)len);
	archive_entry_free(e);
}

static void
arc_file(struct arc *b, const char *path, mode_t perm, const char *data)
{
	arc_add(b, path, AE_IFREG, perm, data, strlen(data), NULL, NULL);
}

static void
arc_dir(struct arc *b, const char *path, mode_t perm)
{
	arc_add(b, path, AE_IFDIR, perm, NULL, 0, NULL, NULL);
}

static void
arc_symlink(struct arc *b, const char *path, const char *target)
{
	arc_add(b, path, AE_IFLNK, 0777, NULL, 0, target, NULL);
}

static void
arc_hardlink(struct arc *b, const char *path, const char *target)
{
	arc_add(b, path, AE_IFREG, 0644, NULL, 0, NULL, target);
}

/* close the writer; the archive is b->buf, b->len */
static void
arc_close(struct arc *b)
{
	assert_int_equal(archive_write_close(b->a), ARCHIVE_OK);
	archive_write_free(b->a);
	b->a = NULL;
}

static void
arc_free(struct arc *b)
{
	if (b == NULL)
		return;
	if (b->a != NULL)
		archive_write_free(b->a);
	free(b->buf);
	free(b);
}

/* ------------------------------------------------------------------ */
/* a temp tree: root/outside (must never change) and root/release */

struct tree {
	char		*root;
	char		*release;
	char		*outside;
	char		*before;	/* listing before the extraction */
	char		 cwd[PATH_MAX];
};

static char	*list_buf;		/* nftw has no argument for its callback */
static size_t	 list_len;
static size_t	 list_skip;		/* strlen(root) + 1 */

static int
list_cb(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	char	 line[PATH_MAX * 2 + 64], target[PATH_MAX];
	ssize_t	 n;
	int	 len;

	(void)ftw;
	if (strlen(path) < list_skip)
		return 0;		/* the root itself */
	path += list_skip;
	/* the release dir may change; its contents are checked elsewhere */
	if (strncmp(path, "release/", 8) == 0)
		return 0;
	if (type == FTW_SL) {
		n = readlink(path - list_skip, target, sizeof(target) - 1);
		target[n < 0 ? 0 : n] = '\0';
		len = snprintf(line, sizeof(line), "l %s -> %s\n", path,
		    target);
	} else if (S_ISDIR(sb->st_mode))
		len = snprintf(line, sizeof(line), "d %s %04o\n", path,
		    (unsigned)(sb->st_mode & 07777));
	else
		len = snprintf(line, sizeof(line), "f %s %lld %04o\n", path,
		    (long long)sb->st_size, (unsigned)(sb->st_mode & 07777));
	list_buf = xreallocarray(list_buf, list_len + (size_t)len + 1, 1);
	memcpy(list_buf + list_len, line, (size_t)len + 1);
	list_len += (size_t)len;
	return 0;
}

/* paths, types, sizes and modes of everything in the tree but release/ */
static char *
tree_list(const struct tree *t)
{
	char	*out;

	list_buf = xstrdup("");
	list_len = 0;
	list_skip = strlen(t->root) + 1;
	assert_int_equal(nftw(t->root, list_cb, 16, FTW_PHYS), 0);
	out = list_buf;
	list_buf = NULL;
	return out;
}

static void
write_file(const char *dir, const char *name, const char *data)
{
	char	*path = util_path_join(dir, name);
	FILE	*f;

	f = fopen(path, "w");
	assert_non_null(f);
	fputs(data, f);
	assert_int_equal(fclose(f), 0);
	free(path);
}

static int
tree_setup(void **state)
{
	struct tree	*t = xcalloc(1, sizeof(*t));
	const char	*tmp = getenv("TMPDIR");
	char		*sub;

	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	xasprintf(&t->root, "%s/test_unpack.XXXXXX", tmp);
	if (mkdtemp(t->root) == NULL)
		return -1;
	t->release = util_path_join(t->root, "release");
	t->outside = util_path_join(t->root, "outside");
	if (mkdir(t->release, 0755) == -1 || mkdir(t->outside, 0755) == -1)
		return -1;
	write_file(t->outside, "secret", "do not touch\n");
	sub = util_path_join(t->outside, "dir");
	if (mkdir(sub, 0755) == -1)
		return -1;
	write_file(sub, "file", "keep\n");
	free(sub);
	t->before = tree_list(t);
	if (getcwd(t->cwd, sizeof(t->cwd)) == NULL)
		return -1;
	*state = t;
	return 0;
}

static int
tree_teardown(void **state)
{
	struct tree	*t = *state;
	struct gs_error	 err;

	if (t == NULL)
		return 0;
	if (util_rm_rf(t->root, &err) == -1)
		fprintf(stderr, "# cleanup: %s\n", err.msg);
	free(t->root);
	free(t->release);
	free(t->outside);
	free(t->before);
	free(t);
	return 0;
}

/* nothing outside the release dir changed, and the cwd is back */
static void
tree_unchanged(const struct tree *t)
{
	char	*after = tree_list(t), cwd[PATH_MAX];

	assert_string_equal(after, t->before);
	free(after);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_string_equal(cwd, t->cwd);
}

static char *
rel_path(const struct tree *t, const char *name)
{
	return util_path_join(t->release, name);
}

static int
rel_exists(const struct tree *t, const char *name)
{
	char	*p = rel_path(t, name);
	int	 r = util_exists(p);

	free(p);
	return r;
}

static mode_t
rel_mode(const struct tree *t, const char *name)
{
	struct stat	 sb;
	char		*p = rel_path(t, name);

	if (lstat(p, &sb) == -1)
		fail_msg("lstat %s: %s", p, strerror(errno));
	free(p);
	return sb.st_mode;
}

static void
rel_content(const struct tree *t, const char *name, const char *want)
{
	struct gs_error	 err;
	char		*p = rel_path(t, name), *buf = NULL;

	if (util_read_file(p, 1 << 20, &buf, NULL, &err) == -1)
		fail_msg("%s", err.msg);
	assert_string_equal(buf, want);
	free(buf);
	free(p);
}

static void
limits_init(struct unpack_limits *lim)
{
	memset(lim, 0, sizeof(*lim));
	lim->max_bytes = 1 << 20;
	lim->max_entries = 1000;
}

/* extract b as name; must fail with exactly want; nothing outside moved */
static void
expect_fail(struct tree *t, struct arc *b, const char *name, int strip,
    struct unpack_limits *lim, const char *want)
{
	struct unpack_limits	 dflt;
	struct gs_error		 err;

	if (lim == NULL) {
		limits_init(&dflt);
		lim = &dflt;
	}
	memset(&err, 0, sizeof(err));
	assert_int_equal(unpack_memory(name, b->buf, b->len, t->release, NULL,
	    strip, lim, &err), -1);
	assert_string_equal(err.msg, want);
	tree_unchanged(t);
}

static void
expect_ok(struct tree *t, struct arc *b, const char *name, int strip,
    struct unpack_limits *lim)
{
	struct gs_error	err;

	memset(&err, 0, sizeof(err));
	if (unpack_memory(name, b->buf, b->len, t->release, NULL, strip, lim,
	    &err) == -1)
		fail_msg("unexpected error: %s", err.msg);
	tree_unchanged(t);
}

/* ------------------------------------------------------------------ */
/* good archives */

static void
test_good_tgz(void **state)
{
	struct tree		*t = *state;
	struct unpack_limits	 lim;
	struct arc		*b = arc_new(ARC_TGZ);
	struct stat		 a, h;
	char			*p, link[PATH_MAX];
	ssize_t			 n;

	arc_dir(b, "./", 0755);
	arc_dir(b, "./top/", 0700);
	arc_file(b, "./top/index.html", 0600, "hello\n");
	arc_dir(b, "./top/sub/", 0777);
	arc_file(b, "./top/sub/page.html", 0666, "page\n");
	arc_file(b, "./top/bin/run.sh", 0700, "#!/bin/sh\n");
	arc_symlink(b, "./top/link", "sub/page.html");
	arc_symlink(b, "./top/sub/home", "../index.html");
	arc_hardlink(b, "./top/hard", "./top/index.html");
	arc_close(b);

	limits_init(&lim);
	expect_ok(t, b, "data.tar.gz", 2, &lim);

	rel_content(t, "index.html", "hello\n");
	rel_content(t, "sub/page.html", "page\n");
	rel_content(t, "bin/run.sh", "#!/bin/sh\n");
	rel_content(t, "link", "page\n");
	rel_content(t, "sub/home", "hello\n");
	rel_content(t, "hard", "hello\n");
	assert_int_equal(rel_mode(t, "index.html"), S_IFREG | 0644);
	assert_int_equal(rel_mode(t, "sub"), S_IFDIR | 0755);
	assert_int_equal(rel_mode(t, "sub/page.html"), S_IFREG | 0644);
	assert_int_equal(rel_mode(t, "bin/run.sh"), S_IFREG | 0755);
	assert_true(S_ISDIR(rel_mode(t, "bin")));
	assert_true(S_ISLNK(rel_mode(t, "link")));
	assert_false(rel_exists(t, "top"));

	p = rel_path(t, "link");
	n = readlink(p, link, sizeof(link) - 1);
	assert_true(n > 0);
	link[n] = '\0';
	assert_string_equal(link, "sub/page.html");
	free(p);

	/* one file, two names; the archive's time kept */
	p = rel_path(t, "index.html");
	assert_int_equal(stat(p, &a), 0);
	free(p);
	p = rel_path(t, "hard");
	assert_int_equal(stat(p, &h), 0);
	free(p);
	assert_int_equal(a.st_ino, h.st_ino);
	assert_int_equal(a.st_mtime, MTIME);

	/* "./" and "./top/" were stripped away and not counted */
	assert_int_equal(lim.entries, 7);
	assert_int_equal(lim.bytes, 6 + 5 + 10);
	arc_free(b);
}

static void
test_good_zip(void **state)
{
	struct tree		*t = *state;
	struct unpack_limits	 lim;
	struct arc		*b = arc_new(ARC_ZIP);

	arc_dir(b, "site/", 0755);
	arc_file(b, "site/a.txt", 0644, "alpha\n");
	arc_file(b, "site/b/c.txt", 0755, "gamma\n");
	arc_symlink(b, "site/b/to-a", "../a.txt");
	arc_close(b);

	limits_init(&lim);
	expect_ok(t, b, "data.zip", 1, &lim);
	rel_content(t, "a.txt", "alpha\n");
	rel_content(t, "b/c.txt", "gamma\n");
	rel_content(t, "b/to-a", "alpha\n");
	assert_int_equal(rel_mode(t, "b/c.txt"), S_IFREG | 0755);
	assert_int_equal(lim.entries, 3);
	assert_int_equal(lim.bytes, 12);
	arc_free(b);
}

/* two archives into one release: the second finds the first's tree */
static void
test_two_archives(void **state)
{
	struct tree		*t = *state;
	struct unpack_limits	 lim;
	struct arc		*b1 = arc_new(ARC_TGZ), *b2 = arc_new(ARC_TGZ);
	struct arc		*b3 = arc_new(ARC_TGZ), *b4 = arc_new(ARC_TGZ);

	arc_file(b1, "a/one.txt", 0644, "one\n");
	arc_dir(b1, "sub", 0755);
	arc_symlink(b1, "l", "sub");
	arc_close(b1);
	arc_file(b2, "a/two.txt", 0644, "two\n");
	arc_file(b2, "a/one.txt", 0644, "ONE\n");	/* later wins */
	arc_close(b2);
	arc_file(b3, "l/evil", 0644, "x\n");
	arc_close(b3);
	arc_file(b4, "a", 0644, "x\n");
	arc_close(b4);

	limits_init(&lim);
	lim.max_bytes = 12;
	expect_ok(t, b1, "one.tar.gz", 0, &lim);
	expect_ok(t, b2, "two.tar.gz", 0, &lim);
	rel_content(t, "a/one.txt", "ONE\n");
	rel_content(t, "a/two.txt", "two\n");
	assert_int_equal(lim.entries, 5);
	assert_int_equal(lim.bytes, 12);

	/* what the first archive made is checked on disk */
	lim.max_bytes = 1 << 20;
	expect_fail(t, b3, "three.tar.gz", 0, &lim,
	    "three.tar.gz: entry \"l/evil\": path goes through a symlink");
	assert_false(rel_exists(t, "sub/evil"));
	expect_fail(t, b4, "four.tar.gz", 0, &lim,
	    "four.tar.gz: entry \"a\": would replace a directory with a file");
	assert_true(S_ISDIR(rel_mode(t, "a")));

	/* limits count per release, across archives */
	arc_free(b1);
	b1 = arc_new(ARC_TGZ);
	arc_file(b1, "more.txt", 0644, "x\n");
	arc_close(b1);
	lim.max_bytes = 13;
	expect_fail(t, b1, "five.tar.gz", 0, &lim,
	    "five.tar.gz: over the limit of 13 bytes (limits.max_bytes)");
	arc_free(b1);
	arc_free(b2);
	arc_free(b3);
	arc_free(b4);
}

/* ------------------------------------------------------------------ */
/* malicious archives */

static void
test_evil_absolute(void **state)
{
	struct tree	*t = *state;
	struct arc	*b = arc_new(ARC_TGZ);
	char		*path, *want;

	path = util_path_join(t->outside, "abs-evil");
	arc_file(b, path, 0644, "evil\n");
	arc_close(b);
	xasprintf(&want, "data.tar.gz: entry \"%s\": absolute path", path);
	expect_fail(t, b, "data.tar.gz", 0, NULL, want);
	free(want);
	free(path);
	arc_free(b);
}

/* names in messages are cut short and kept on one line */
static void
test_evil_long_name(void **state)
{
	struct tree	*t = *state;
	struct arc	*b = arc_new(ARC_TGZ);
	char		*path, *want;
	size_t		 i, len = 5000;

	path = xmalloc(len + 1);
	for (i = 0; i < len; i++)
		path[i] = i % 8 == 7 ? '/' : 'a' + i % 8;
	path[len] = '\0';
	arc_file(b, path, 0644, "x");
	arc_close(b);
	xasprintf(&want, "data.tar.gz: entry \"%.152s...\": path too long",
	    path);
	expect_fail(t, b, "data.tar.gz", 0, NULL, want);
	free(want);
	free(path);
	arc_free(b);

	b = arc_new(ARC_TGZ);
	arc_symlink(b, "new\nline", "../\"quoted\"");
	arc_close(b);
	expect_fail(t, b, "data.tar.gz", 0, NULL, "data.tar.gz: entry "
	    "\"new?line\": symlink target \"../?quoted?\" leads outside the "
	    "release dir");
	arc_free(b);
}

static void
test_evil_dotdot(void **state)
{
	struct tree	*t = *state;
	struct arc	*b = arc_new(ARC_TGZ);

	arc_file(b, "../evil", 0644, "evil\n");
	arc_close(b);
	expect_fail(t, b, "data.tar.gz", 0, NULL,
	    "data.tar.gz: entry \"../evil\": path escapes the release dir");
	arc_free(b);
}

static void
test_evil_dotdot_deep(void **state)
{
	struct tree	*t = *state;
	struct arc	*b = arc_new(ARC_TGZ);

	arc_file(b, "./top/ok.html", 0644, "fine\n");
	arc_file(b, "./top/a/../../../outside/secret", 0644, "evil\n");
	arc_close(b);
	expect_fail(t, b, "data.tar.gz", 2, NULL,
	    "data.tar.gz: entry \"./top/a/../../../outside/secret\": "
	    "path escapes the release dir");
	arc_free(b);
}

static void
test_evil_symlink_out(void **state)
{
	struct tree	*t = *state;
	struct arc	*b = arc_new(ARC_TGZ);

	arc_symlink(b, "./top/up", "../outside");
	arc_file(b, "./top/up/evil", 0644, "evil\n");
	arc_close(b);
	expect_fail(t, b, "data.tar.gz", 2, NULL,
	    "data.tar.gz: entry \"./top/up\": symlink target \"../outside\" "
	    "leads outside the release dir");
	assert_false(rel_exists(t, "up"));
	arc_free(b);
}

static void
test_evil_through_symlink(void **state)
{
	struct tree	*t = *state;
	struct arc	*b = arc_new(ARC_TGZ);

	arc_dir(b, "sub/", 0755);
	arc_symlink(b, "l", "sub");
	arc_file(b, "l/evil", 0644, "evil\n");
	arc_close(b);
	expect_fail(t, b, "data.tar.gz", 0, NULL,
	    "data.tar.gz: entry \"l/evil\": path goes through a symlink");
	assert_false(rel_exists(t, "sub/evil"));
	arc_free(b);
}

/* a link to the top, then one climbing out of it */
static void
test_evil_symlink_chain(void **state)
{
	struct tree	*t = *state;
	struct arc	*b = arc_new(ARC_TGZ);

	arc_dir(b, "a/", 0755);
	arc_symlink(b, "a/top", "..");
	arc_symlink(b, "esc", "a/top/..");
	arc_close(b);
	expect_fail(t, b, "data.tar.gz", 0, NULL,
	    "data.tar.gz: entry \"esc\": symlink target \"a/top/..\" "
	    "leads outside the release dir");
	assert_false(rel_exists(t, "esc"));
	arc_free(b);
}

static void
test_evil_symlink_absolute(void **state)
{
	struct tree	*t = *state;
	struct arc	*b = arc_new(ARC_TGZ);
	char		*want;

	arc_symlink(b, "abs", t->outside);
	arc_file(b, "abs/evil", 0644, "evil\n");
	arc_close(b);
	xasprintf(&want, "data.tar.gz: entry \"abs\": symlink target \"%s\" "
	    "is absolute", t->outside);
	expect_fail(t, b, "data.tar.gz", 0, NULL, want);
	free(want);
	arc_free(b);
}

static void
test_evil_hardlink_out(void **state)
{
	struct tree	*t = *state;
	struct arc	*b = arc_new(ARC_TGZ);
	struct arc	*b2 = arc_new(ARC_TGZ);
	struct arc	*b3 = arc_new(ARC_TGZ);
	char		*abs, *want;

	arc_hardlink(b, "h", "../outside/secret");
	arc_close(b);
	expect_fail(t, b, "data.tar.gz", 0, NULL,
	    "data.tar.gz: entry \"h\": hard link target \"../outside/secret\": "
	    "path escapes the release dir");

	abs = util_path_join(t->outside, "secret");
	arc_hardlink(b2, "h", abs);
	arc_close(b2);
	xasprintf(&want, "data.tar.gz: entry \"h\": hard link target \"%s\": "
	    "absolute path", abs);
	expect_fail(t, b2, "data.tar.gz", 0, NULL, want);

	/* only a file this archive extracted earlier */
	arc_dir(b3, "d/", 0755);
	arc_hardlink(b3, "h", "d");
	arc_close(b3);
	expect_fail(t, b3, "data.tar.gz", 0, NULL,
	    "data.tar.gz: entry \"h\": hard link target \"d\" is not a file "
	    "extracted earlier from this archive");
	assert_false(rel_exists(t, "h"));
	free(want);
	free(abs);
	arc_free(b);
	arc_free(b2);
	arc_free(b3);
}

static void
test_evil_device(void **state)
{
	struct tree	*t = *state;
	struct arc	*b = arc_new(ARC_TGZ);
	struct arc	*b2 = arc_new(ARC_TGZ);

	arc_add(b, "null", AE_IFCHR, 0666, NULL, 0, NULL, NULL);
	arc_close(b);
	expect_fail(t, b, "data.tar.gz", 0, NULL,
	    "data.tar.gz: entry \"null\": character device refused");
	arc_add(b2, "sda", AE_IFBLK, 0660, NULL, 0, NULL, NULL);
	arc_close(b2);
	expect_fail(t, b2, "data.tar.gz", 0, NULL,
	    "data.tar.gz: entry \"sda\": block device refused");
	assert_false(rel_exists(t, "null"));
	assert_false(rel_exists(t, "sda"));
	arc_free(b);
	arc_free(b2);
}

static void
test_evil_fifo(void **state)
{
	struct tree	*t = *state;
	struct arc	*b = arc_new(ARC_TGZ);

	arc_file(b, "ok.html", 0644, "fine\n");
	arc_add(b, "pipe", AE_IFIFO, 0644, NULL, 0, NULL, NULL);
	arc_close(b);
	expect_fail(t, b, "data.tar.gz", 0, NULL,
	    "data.tar.gz: entry \"pipe\": fifo refused");
	assert_false(rel_exists(t, "pipe"));
	arc_free(b);
}

/* extracted, without the bits */
static void
test_setuid_dropped(void **state)
{
	struct tree		*t = *state;
	struct unpack_limits	 lim;
	struct arc		*b = arc_new(ARC_TGZ);

	arc_dir(b, "shared/", 03777);
	arc_file(b, "shared/suid", 04755, "x\n");
	arc_file(b, "shared/sgid", 02644, "x\n");
	arc_file(b, "shared/open", 0666, "x\n");
	arc_close(b);
	limits_init(&lim);
	expect_ok(t, b, "data.tar.gz", 0, &lim);
	assert_int_equal(rel_mode(t, "shared"), S_IFDIR | 0755);
	assert_int_equal(rel_mode(t, "shared/suid"), S_IFREG | 0755);
	assert_int_equal(rel_mode(t, "shared/sgid"), S_IFREG | 0644);
	assert_int_equal(rel_mode(t, "shared/open"), S_IFREG | 0644);
	arc_free(b);
}

static void
test_evil_replace_dir(void **state)
{
	struct tree	*t = *state;
	struct arc	*b = arc_new(ARC_TGZ);
	struct arc	*b2 = arc_new(ARC_TGZ);
	struct arc	*b3 = arc_new(ARC_TGZ);

	arc_dir(b, "d/", 0755);
	arc_file(b, "d/keep", 0644, "keep\n");
	arc_file(b, "d", 0644, "evil\n");
	arc_close(b);
	expect_fail(t, b, "data.tar.gz", 0, NULL,
	    "data.tar.gz: entry \"d\": would replace a directory with a file");
	assert_true(S_ISDIR(rel_mode(t, "d")));

	arc_file(b2, "f", 0644, "file\n");
	arc_file(b2, "f/x", 0644, "evil\n");
	arc_close(b2);
	expect_fail(t, b2, "two.tar.gz", 0, NULL,
	    "two.tar.gz: entry \"f/x\": would replace a file with a directory");

	arc_file(b3, "g", 0644, "file\n");
	arc_dir(b3, "g/", 0755);
	arc_close(b3);
	expect_fail(t, b3, "three.tar.gz", 0, NULL,
	    "three.tar.gz: entry \"g/\": would replace a file with a "
	    "directory");
	assert_true(S_ISREG(rel_mode(t, "g")));
	arc_free(b);
	arc_free(b2);
	arc_free(b3);
}

static void
test_evil_max_entries(void **state)
{
	struct tree		*t = *state;
	struct unpack_limits	 lim;
	struct arc		*b = arc_new(ARC_TGZ);
	char			 name[32];
	int			 i;

	for (i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		arc_file(b, name, 0644, "x");
	}
	arc_close(b);
	limits_init(&lim);
	lim.max_entries = 3;
	expect_fail(t, b, "data.tar.gz", 0, &lim,
	    "data.tar.gz: over the limit of 3 entries (limits.max_entries)");
	assert_int_equal(lim.entries, 3);
	assert_true(rel_exists(t, "f2"));
	assert_false(rel_exists(t, "f3"));
	arc_free(b);
}

static void
test_evil_max_bytes(void **state)
{
	struct tree		*t = *state;
	struct unpack_limits	 lim;
	struct arc		*b = arc_new(ARC_TGZ);

	arc_file(b, "a", 0644, "0123456789");
	arc_file(b, "b", 0644, "0123456789");
	arc_close(b);
	limits_init(&lim);
	lim.max_bytes = 15;
	expect_fail(t, b, "data.tar.gz", 0, &lim,
	    "data.tar.gz: over the limit of 15 bytes (limits.max_bytes)");
	assert_int_equal(lim.bytes, 10);
	assert_false(rel_exists(t, "b"));
	arc_free(b);
}

/* patch a 32-bit little-endian field */
static void
put32(char *p, uint32_t v)
{
	p[0] = (char)(v & 0xff);
	p[1] = (char)((v >> 8) & 0xff);
	p[2] = (char)((v >> 16) & 0xff);
	p[3] = (char)((v >> 24) & 0xff);
}

/*
 * A zip whose headers claim 10 bytes for an entry that inflates to 4 MiB:
 * the bytes are counted as they come, and it stops at the limit.
 */
static void
test_evil_lying_size(void **state)
{
	struct tree		*t = *state;
	struct unpack_limits	 lim;
	struct arc		*b = arc_new(ARC_ZIP);
	struct stat		 sb;
	char			*zeros, *p, *end;
	size_t			 big = 4 << 20;
	int			 patched = 0;

	zeros = xcalloc(1, big);
	arc_add(b, "big", AE_IFREG, 0644, zeros, big, NULL, NULL);
	arc_close(b);
	free(zeros);
	/* uncompressed size: local header +22, central directory +24 */
	end = b->buf + b->len;
	for (p = b->buf; p + 46 <= end; p++) {
		if (memcmp(p, "PK\003\004", 4) == 0) {
			put32(p + 22, 10);
			patched++;
		} else if (memcmp(p, "PK\001\002", 4) == 0) {
			put32(p + 24, 10);
			patched++;
		}
	}
	assert_int_equal(patched, 2);

	limits_init(&lim);
	expect_fail(t, b, "data.zip", 0, &lim,
	    "data.zip: over the limit of 1048576 bytes (limits.max_bytes)");
	assert_true(lim.bytes <= lim.max_bytes);
	p = rel_path(t, "big");
	if (stat(p, &sb) == 0)
		assert_true(sb.st_size <= (off_t)lim.max_bytes);
	free(p);
	arc_free(b);
}

/* 32 MiB of zeros in a few KiB: refused fast, nothing big written */
static void
test_evil_bomb(void **state)
{
	struct tree		*t = *state;
	struct unpack_limits	 lim;
	struct arc		*b = arc_new(ARC_TGZ);
	char			*zeros;
	size_t			 big = 32 << 20;
	int64_t			 start;

	zeros = xcalloc(1, big);
	arc_add(b, "bomb", AE_IFREG, 0644, zeros, big, NULL, NULL);
	arc_close(b);
	free(zeros);
	assert_true(b->len < 256 * 1024);

	limits_init(&lim);
	start = util_now_ms();
	expect_fail(t, b, "bomb.tar.gz", 0, &lim,
	    "bomb.tar.gz: over the limit of 1048576 bytes (limits.max_bytes)");
	assert_true(util_now_ms() - start < 2000);
	assert_int_equal(lim.bytes, 0);
	assert_false(rel_exists(t, "bomb"));
	arc_free(b);
}

/* sixteen files of 4 KiB, that gzip shrinks or (noise) cannot shrink */
static struct arc *
arc_some(int noise)
{
	struct arc	*b = arc_new(ARC_TGZ);
	char		 name[32], data[4096];
	uint32_t	 x = 12345;
	size_t		 j;
	int		 i;

	for (i = 0; i < 16; i++) {
		snprintf(name, sizeof(name), "file%02d.html", i);
		for (j = 0; j < sizeof(data); j++) {
			x = x * 1103515245U + 12345U;
			data[j] = noise ? (char)(x >> 24) : (char)('a' + i);
		}
		arc_add(b, name, AE_IFREG, 0644, data, sizeof(data), NULL,
		    NULL);
	}
	arc_close(b);
	return b;
}

static void
test_evil_truncated(void **state)
{
	struct tree	*t = *state;
	struct arc	*b = arc_some(1);

	b->len /= 2;
	expect_fail(t, b, "data.tar.gz", 0, NULL,
	    "data.tar.gz: truncated gzip input");
	arc_free(b);
}

static void
test_evil_corrupt(void **state)
{
	struct tree	*t = *state;
	struct arc	*b = arc_some(0);
	size_t		 i;

	for (i = b->len / 3; i < b->len / 3 + 16; i++)
		b->buf[i] ^= 0x55;
	/* the damage inflates to plausible bytes: the gzip CRC catches it */
	expect_fail(t, b, "data.tar.gz", 0, NULL,
	    "data.tar.gz: gzip decompression failed: checksum mismatch");
	arc_free(b);
}

static void
test_evil_garbage(void **state)
{
	struct tree	*t = *state;
	struct arc	 b;
	char		 junk[] = "this is not an archive at all, not even close";

	memset(&b, 0, sizeof(b));
	b.buf = junk;
	b.len = sizeof(junk) - 1;
	expect_fail(t, &b, "data.tar.gz", 0, NULL,
	    "data.tar.gz: Unrecognized archive format");
}

static void
test_evil_zip_dotdot(void **state)
{
	struct tree	*t = *state;
	struct arc	*b = arc_new(ARC_ZIP);

	arc_file(b, "site/index.html", 0644, "fine\n");
	arc_file(b, "site/../../outside/evil", 0644, "evil\n");
	arc_close(b);
	expect_fail(t, b, "data.zip", 1, NULL,
	    "data.zip: entry \"site/../../outside/evil\": path escapes the "
	    "release dir");
	arc_free(b);
}


/* ------------------------------------------------------------------ */
/* linking what did not change from the previous release */

static ino_t
ino_of(const char *dir, const char *name)
{
	struct stat	 sb;
	char		*p = util_path_join(dir, name);

	if (lstat(p, &sb) == -1)
		fail_msg("lstat %s: %s", p, strerror(errno));
	free(p);
	return sb.st_ino;
}

static void
content_of(const char *dir, const char *name, const char *want)
{
	struct gs_error	 err;
	char		*p = util_path_join(dir, name), *buf = NULL;

	if (util_read_file(p, 1 << 20, &buf, NULL, &err) == -1)
		fail_msg("%s", err.msg);
	assert_string_equal(buf, want);
	free(buf);
	free(p);
}

/* a release dir below t->release (which the outside check skips) */
static char *
rel_dir(const struct tree *t, const char *name)
{
	char	*d = util_path_join(t->release, name);

	assert_int_equal(mkdir(d, 0755), 0);
	return d;
}

static void
extract(const char *dir, const char *prev, struct arc *b, const char *name,
    struct unpack_limits *lim)
{
	struct gs_error	err;

	memset(&err, 0, sizeof(err));
	if (unpack_memory(name, b->buf, b->len, dir, prev, 0, lim, &err) == -1)
		fail_msg("unexpected error: %s", err.msg);
}

/* big: a file of n bytes, the last one last */
static char *
big(size_t n, char last)
{
	char	*s = xmalloc(n + 1);
	size_t	 i;

	for (i = 0; i < n; i++)
		s[i] = (char)('a' + (i * 7 + i / 1000) % 26);
	s[n - 1] = last;
	s[n] = '\0';
	return s;
}

static struct arc *
arc_release(int v2, const char *big1, const char *big2)
{
	struct arc	*b = arc_new(ARC_TGZ);

	arc_dir(b, "sub", 0755);
	arc_file(b, "same.txt", 0644, "the same\n");
	arc_file(b, "sub/same.html", 0644, "<p>same</p>\n");
	arc_file(b, "empty", 0644, "");
	/* same size, other bytes */
	arc_file(b, "changed.txt", 0644, v2 ? "bbbb\n" : "aaaa\n");
	/* same bytes, other mode */
	arc_file(b, "run.sh", v2 ? 0755 : 0644, "echo hi\n");
	/* same bytes, other time */
	if (v2)
		arc_mtime = MTIME + 60;
	arc_file(b, "touched.txt", 0644, "touched\n");
	arc_mtime = MTIME;
	if (!v2)
		arc_file(b, "gone.txt", 0644, "gone\n");
	else
		arc_file(b, "new/added.txt", 0644, "added\n");
	/* large: compared block by block; one differs in its last byte */
	arc_file(b, "big.bin", 0644, big1);
	arc_file(b, "big2.bin", 0644, big2);
	arc_close(b);
	return b;
}

static void
test_link_unchanged(void **state)
{
	struct tree		*t = *state;
	struct unpack_limits	 lim;
	struct arc		*b1, *b2;
	char			*v1 = rel_dir(t, "v1"), *v2 = rel_dir(t, "v2");
	char			*big1 = big(300000, 'x'), *big2 = big(300000, 'y');
	uint64_t		 total;

	b1 = arc_release(0, big1, big1);
	b2 = arc_release(1, big1, big2);
	limits_init(&lim);
	extract(v1, NULL, b1, "v1.tar.gz", &lim);
	assert_int_equal(lim.linked, 0);
	assert_int_equal(lim.written, lim.bytes);

	limits_init(&lim);
	extract(v2, v1, b2, "v2.tar.gz", &lim);
	tree_unchanged(t);

	/* unchanged: the very same inode */
	assert_true(ino_of(v1, "same.txt") == ino_of(v2, "same.txt"));
	assert_true(ino_of(v1, "sub/same.html") ==
	    ino_of(v2, "sub/same.html"));
	assert_true(ino_of(v1, "empty") == ino_of(v2, "empty"));
	assert_true(ino_of(v1, "big.bin") == ino_of(v2, "big.bin"));
	assert_int_equal(lim.linked, 4);

	/* changed in data, mode or time: a file of its own */
	assert_true(ino_of(v1, "changed.txt") != ino_of(v2, "changed.txt"));
	assert_true(ino_of(v1, "run.sh") != ino_of(v2, "run.sh"));
	assert_true(ino_of(v1, "touched.txt") != ino_of(v2, "touched.txt"));
	assert_true(ino_of(v1, "big2.bin") != ino_of(v2, "big2.bin"));
	content_of(v2, "changed.txt", "bbbb\n");
	content_of(v2, "run.sh", "echo hi\n");
	content_of(v2, "touched.txt", "touched\n");
	content_of(v2, "big2.bin", big2);
	content_of(v2, "new/added.txt", "added\n");
	assert_int_equal(rel_mode(t, "v2/run.sh") & 07777, 0755);
	assert_int_equal(rel_mode(t, "v1/run.sh") & 07777, 0644);

	/* the previous release is as it was */
	content_of(v1, "changed.txt", "aaaa\n");
	content_of(v1, "gone.txt", "gone\n");
	content_of(v1, "big2.bin", big1);
	assert_false(rel_exists(t, "v2/gone.txt"));
	assert_false(rel_exists(t, "v1/new"));

	/* max_bytes counts linked bytes too; written only what was written */
	total = 9 + 12 + 0 + 5 + 8 + 8 + 6 + 300000 + 300000;
	assert_int_equal(lim.bytes, total);
	assert_int_equal(lim.written, 5 + 8 + 8 + 6 + 300000);

	arc_free(b1);
	arc_free(b2);
	free(big1);
	free(big2);
	free(v1);
	free(v2);
}

/* nothing is compared or linked through a symlink of the previous tree */
static void
test_link_not_through_symlink(void **state)
{
	struct tree		*t = *state;
	struct unpack_limits	 lim;
	struct arc		*b1 = arc_new(ARC_TGZ), *b2 = arc_new(ARC_TGZ);
	char			*v1 = rel_dir(t, "v1"), *v2 = rel_dir(t, "v2");

	arc_file(b1, "real/f.txt", 0644, "data\n");
	arc_symlink(b1, "d", "real");
	arc_symlink(b1, "l.txt", "real/f.txt");
	arc_close(b1);
	arc_file(b2, "d/f.txt", 0644, "data\n");
	arc_file(b2, "l.txt", 0644, "data\n");
	arc_close(b2);
	limits_init(&lim);
	extract(v1, NULL, b1, "v1.tar.gz", &lim);
	limits_init(&lim);
	extract(v2, v1, b2, "v2.tar.gz", &lim);
	assert_int_equal(lim.linked, 0);
	assert_true(ino_of(v1, "real/f.txt") != ino_of(v2, "d/f.txt"));
	assert_true(S_ISREG(rel_mode(t, "v2/l.txt")));
	assert_true(S_ISLNK(rel_mode(t, "v1/l.txt")));
	content_of(v2, "l.txt", "data\n");
	arc_free(b1);
	arc_free(b2);
	free(v1);
	free(v2);
}

/* a zip goes through libarchive's own reader: linked just the same */
static void
test_link_zip(void **state)
{
	struct tree		*t = *state;
	struct unpack_limits	 lim;
	struct arc		*b = arc_new(ARC_ZIP);
	char			*v1 = rel_dir(t, "v1"), *v2 = rel_dir(t, "v2");

	arc_file(b, "a.txt", 0644, "zip data\n");
	arc_close(b);
	limits_init(&lim);
	extract(v1, NULL, b, "v.zip", &lim);
	limits_init(&lim);
	extract(v2, v1, b, "v.zip", &lim);
	assert_int_equal(lim.linked, 1);
	assert_int_equal(lim.written, 0);
	assert_true(ino_of(v1, "a.txt") == ino_of(v2, "a.txt"));
	arc_free(b);
	free(v1);
	free(v2);
}

/* gzip members one after another, then junk: all members are read */
static void
test_gzip_members(void **state)
{
	struct tree		*t = *state;
	struct unpack_limits	 lim;
	struct arc		*tar = xcalloc(1, sizeof(*tar)), *out;
	struct archive		*a;
	struct archive_entry	*e;
	size_t			 half, i;

	tar->a = archive_write_new();
	assert_int_equal(archive_write_set_format_pax_restricted(tar->a),
	    ARCHIVE_OK);
	assert_int_equal(archive_write_open(tar->a, tar, NULL, arc_write_cb,
	    NULL), ARCHIVE_OK);
	arc_file(tar, "one.txt", 0644, "one\n");
	arc_file(tar, "two.txt", 0644, "two\n");
	arc_close(tar);

	/* two gzip members, the tar cut between them */
	out = xcalloc(1, sizeof(*out));
	half = tar->len / 2;
	for (i = 0; i < 2; i++) {
		a = archive_write_new();
		assert_int_equal(archive_write_set_format_raw(a), ARCHIVE_OK);
		assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
		assert_int_equal(archive_write_set_bytes_in_last_block(a, 1),
		    ARCHIVE_OK);
		assert_int_equal(archive_write_open(a, out, NULL,
		    arc_write_cb, NULL), ARCHIVE_OK);
		e = archive_entry_new();
		archive_entry_set_pathname(e, "raw");
		archive_entry_set_filetype(e, AE_IFREG);
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		assert_int_equal(archive_write_data(a, tar->buf + i * half,
		    i == 0 ? half : tar->len - half),
		    (la_ssize_t)(i == 0 ? half : tar->len - half));
		archive_entry_free(e);
		assert_int_equal(archive_write_close(a), ARCHIVE_OK);
		archive_write_free(a);
	}
	arc_write_cb(NULL, out, "junk", 4);

	limits_init(&lim);
	expect_ok(t, out, "members.tar.gz", 0, &lim);
	rel_content(t, "one.txt", "one\n");
	rel_content(t, "two.txt", "two\n");
	arc_free(tar);
	arc_free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_plain),
		cmocka_unit_test(test_clean_strip),
		cmocka_unit_test(test_clean_refused),
		cmocka_unit_test(test_clean_long),
		cmocka_unit_test(test_link_inside),
#define T(f)	cmocka_unit_test_setup_teardown(f, tree_setup, tree_teardown)
		T(test_good_tgz),
		T(test_good_zip),
		T(test_two_archives),
		T(test_evil_absolute),
		T(test_evil_long_name),
		T(test_evil_dotdot),
		T(test_evil_dotdot_deep),
		T(test_evil_symlink_out),
		T(test_evil_through_symlink),
		T(test_evil_symlink_chain),
		T(test_evil_symlink_absolute),
		T(test_evil_hardlink_out),
		T(test_evil_device),
		T(test_evil_fifo),
		T(test_setuid_dropped),
		T(test_evil_replace_dir),
		T(test_evil_max_entries),
		T(test_evil_max_bytes),
		T(test_evil_lying_size),
		T(test_evil_bomb),
		T(test_evil_truncated),
		T(test_evil_corrupt),
		T(test_evil_garbage),
		T(test_evil_zip_dotdot),
		T(test_link_unchanged),
		T(test_link_not_through_symlink),
		T(test_link_zip),
		T(test_gzip_members),
#undef T
	};

	umask(022);
	log_init("test_unpack", LOG_LEVEL_ERROR, LOG_FORMAT_TEXT);
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
