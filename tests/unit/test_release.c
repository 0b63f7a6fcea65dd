/*
 * test_release.c: release.c, ids, the switch of the web root symlink
 * (fresh, over a link, over a real dir that is backed up), listing,
 * pruning, failed releases and sealing.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "gitstrap.h"

#define COMMIT	"0123456789abcdef0123456789abcdef01234567"
#define ID1	"20261121T093000Z-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ID2	"20261122T093000Z-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define ID3	"20261123T093000Z-cccccccccccccccccccccccccccccccccccccccc"
#define ID4	"20261124T093000Z-dddddddddddddddddddddddddddddddddddddddd"
#define ID5	"20261125T093000Z-eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"

struct tmp {
	char	*root;
	char	*releases;
	char	*target;	/* root/www/html/webcache: parents missing */
};

static int
tmp_setup(void **state)
{
	struct tmp	*t = xcalloc(1, sizeof(*t));
	const char	*dir = getenv("TMPDIR");

	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	xasprintf(&t->root, "%s/test_release.XXXXXX", dir);
	if (mkdtemp(t->root) == NULL)
		return -1;
	t->releases = util_path_join(t->root, "releases");
	if (mkdir(t->releases, 0755) == -1)
		return -1;
	xasprintf(&t->target, "%s/www/html/webcache", t->root);
	*state = t;
	return 0;
}

static int
tmp_teardown(void **state)
{
	struct tmp	*t = *state;
	struct gs_error	 err;

	if (util_rm_rf(t->root, &err) == -1)
		fprintf(stderr, "# cleanup: %s\n", err.msg);
	free(t->root);
	free(t->releases);
	free(t->target);
	free(t);
	return 0;
}

static char *
mkrel(const struct tmp *t, const char *name)
{
	char	*p = util_path_join(t->releases, name);

	if (mkdir(p, 0755) == -1)
		fail_msg("mkdir %s: %s", p, strerror(errno));
	return p;
}

static void
mkrels(const struct tmp *t, ...)
{
	va_list		 ap;
	const char	*name;

	va_start(ap, t);
	while ((name = va_arg(ap, const char *)) != NULL)
		free(mkrel(t, name));
	va_end(ap);
}

static void
write_file(const char *path, const char *data, mode_t mode)
{
	int	fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd != -1);
	assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

/* the names in a dir, sorted, as one string "a b c" */
static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *
ls(const char *dir)
{
	DIR		*d;
	struct dirent	*de;
	char		*names[64], *out;
	size_t		 n = 0, i, len = 1;

	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL && n < 64) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		names[n] = xstrdup(de->d_name);
		len += strlen(names[n++]) + 1;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), name_cmp);
	out = xcalloc(1, len);
	for (i = 0; i < n; i++) {
		if (i > 0)
			strcat(out, " ");
		strcat(out, names[i]);
		free(names[i]);
	}
	return out;
}

static void
ls_is(const char *dir, const char *want)
{
	char	*got = ls(dir);

	assert_string_equal(got, want);
	free(got);
}

static void
link_is(const char *path, const char *want)
{
	char	buf[PATH_MAX];
	ssize_t	n;

	n = readlink(path, buf, sizeof(buf) - 1);
	if (n == -1)
		fail_msg("readlink %s: %s", path, strerror(errno));
	buf[n] = '\0';
	assert_string_equal(buf, want);
}

static void
current_is(const char *target, const char *want)
{
	char		out[GS_RELIDLEN];
	struct gs_error	err;

	memset(out, 'x', sizeof(out));
	if (release_current(target, out, &err) == -1)
		fail_msg("release_current: %s", err.msg);
	assert_string_equal(out, want);
}

/* ------------------------------------------------------------------ */

static void
test_make_id(void **state)
{
	char	id[GS_RELIDLEN];

	(void)state;
	release_make_id(id, 1795426200, COMMIT);	/* 2026-11-23T09:30:00Z */
	assert_string_equal(id, "20261123T093000Z-" COMMIT);
	assert_true(release_id_valid(id));

	/* an id is lowercase, whatever the commit was given as */
	release_make_id(id, 0, "ABCDEF0123456789ABCDEF0123456789ABCDEF01");
	assert_string_equal(id,
	    "19700101T000000Z-abcdef0123456789abcdef0123456789abcdef01");
	assert_true(release_id_valid(id));
}

static void
test_id_valid(void **state)
{
	(void)state;
	assert_true(release_id_valid(ID1));
	assert_true(release_id_valid("20261123T093000Z-" COMMIT));
	assert_false(release_id_valid(NULL));
	assert_false(release_id_valid(""));
	assert_false(release_id_valid(ID1 ".tmp"));
	assert_false(release_id_valid(ID1 ".failed"));
	assert_false(release_id_valid("20261123T093000Z-0123456789ab"));
	assert_false(release_id_valid("20261123T093000Z-" COMMIT "0"));
	assert_false(release_id_valid("20261123T093000Z-0123456789AB"));
	assert_false(release_id_valid("20261123T093000Z-0123456789ag"));
	assert_false(release_id_valid("20261123 093000Z-0123456789ab"));
	assert_false(release_id_valid("20261123T093000Z_0123456789ab"));
	assert_false(release_id_valid("2026112xT093000Z-0123456789ab"));
	assert_false(release_id_valid("20261123T093000-0123456789abc"));
	assert_false(release_id_valid("lost+found"));
}

static void
test_current(void **state)
{
	struct tmp	*t = *state;
	char		*link, *dir, *file, *to;

	/* nothing there yet */
	current_is(t->target, "");

	link = util_path_join(t->root, "link");
	xasprintf(&to, "%s/" ID2, t->releases);
	assert_int_equal(symlink(to, link), 0);
	current_is(link, ID2);
	free(to);
	assert_int_equal(unlink(link), 0);

	/* a trailing slash, a relative link, a link to no release */
	assert_int_equal(symlink("/srv/releases/" ID3 "/", link), 0);
	current_is(link, ID3);
	assert_int_equal(unlink(link), 0);
	assert_int_equal(symlink(ID1, link), 0);
	current_is(link, ID1);
	assert_int_equal(unlink(link), 0);
	assert_int_equal(symlink("/var/www/html", link), 0);
	current_is(link, "");

	/* a real dir (not switched to yet) or a file */
	dir = util_path_join(t->root, "dir");
	assert_int_equal(mkdir(dir, 0755), 0);
	current_is(dir, "");
	file = util_path_join(t->root, "file");
	write_file(file, "x", 0644);
	current_is(file, "");
	free(link);
	free(dir);
	free(file);
}

static void
test_switch_fresh(void **state)
{
	struct tmp	*t = *state;
	struct gs_error	 err;
	char		*rel, *parent;

	rel = mkrel(t, ID1);
	if (release_switch(t->target, t->releases, ID1, &err) == -1)
		fail_msg("release_switch: %s", err.msg);
	link_is(t->target, rel);		/* absolute */
	current_is(t->target, ID1);
	/* the missing parents were made, and no temporary link is left */
	xasprintf(&parent, "%s/www/html", t->root);
	assert_true(util_is_dir(parent));
	ls_is(parent, "webcache");
	free(parent);
	free(rel);
}

static void
test_switch_over_link(void **state)
{
	struct tmp	*t = *state;
	struct gs_error	 err;
	char		*rel1, *rel2, *file;

	rel1 = mkrel(t, ID1);
	rel2 = mkrel(t, ID2);
	file = util_path_join(rel1, "index.html");
	write_file(file, "one\n", 0644);
	assert_int_equal(release_switch(t->target, t->releases, ID1, &err), 0);
	assert_int_equal(release_switch(t->target, t->releases, ID2, &err), 0);
	link_is(t->target, rel2);
	current_is(t->target, ID2);
	/* the old release is left alone, and can be switched back to */
	assert_true(util_exists(file));
	assert_int_equal(release_switch(t->target, t->releases, ID1, &err), 0);
	current_is(t->target, ID1);
	/* a trailing slash on the target names the link, not its dir */
	free(file);
	xasprintf(&file, "%s/", t->target);
	assert_int_equal(release_switch(file, t->releases, ID2, &err), 0);
	current_is(t->target, ID2);
	assert_true(util_exists(rel1));
	free(file);
	free(rel1);
	free(rel2);
}

/* run f with stderr going to a file; the captured text */
static char *
capture_stderr(const struct tmp *t, int (*f)(const struct tmp *,
    struct gs_error *), int *rc, struct gs_error *err)
{
	struct gs_error	 e;
	char		*path, *out = NULL;
	int		 fd, saved;

	path = util_path_join(t->root, "stderr");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd != -1);
	fflush(stderr);
	saved = dup(2);
	assert_true(saved != -1);
	assert_int_equal(dup2(fd, 2), 2);
	*rc = f(t, err);
	fflush(stderr);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	close(fd);
	if (util_read_file(path, 1 << 16, &out, NULL, &e) == -1)
		fail_msg("%s", e.msg);
	unlink(path);
	free(path);
	return out;
}

static int
switch_id1(const struct tmp *t, struct gs_error *err)
{
	return release_switch(t->target, t->releases, ID1, err);
}

static void
test_switch_backup(void **state)
{
	struct tmp	*t = *state;
	struct gs_error	 err;
	char		*rel, *file, *log, *parent, *names, *want, ts[32];
	char		*backup;
	time_t		 before, after;
	int		 rc;

	rel = mkrel(t, ID1);
	assert_int_equal(util_mkdir_p(t->target, 0755, &err), 0);
	file = util_path_join(t->target, "old.html");
	write_file(file, "old\n", 0644);
	free(file);

	log_set(LOG_LEVEL_INFO, LOG_FORMAT_TEXT);
	before = time(NULL);
	log = capture_stderr(t, switch_id1, &rc, &err);
	after = time(NULL);
	log_set(LOG_LEVEL_ERROR, LOG_FORMAT_TEXT);
	if (rc == -1)
		fail_msg("release_switch: %s", err.msg);
	current_is(t->target, ID1);

	/* the old dir sits beside the link, named for the time of the move */
	xasprintf(&parent, "%s/www/html", t->root);
	names = ls(parent);
	util_time_compact(before, ts);
	xasprintf(&want, "webcache webcache.gitstrap-backup-%s", ts);
	if (strcmp(names, want) != 0 && after != before) {
		free(want);
		util_time_compact(after, ts);
		xasprintf(&want, "webcache webcache.gitstrap-backup-%s", ts);
	}
	assert_string_equal(names, want);
	xasprintf(&backup, "%s.gitstrap-backup-%s", t->target, ts);
	file = util_path_join(backup, "old.html");
	assert_true(util_exists(file));
	free(file);

	/* and the move was logged, once */
	free(want);
	xasprintf(&want, " level=info ev=release.backup target=%s backup=%s\n",
	    t->target, backup);
	assert_non_null(strstr(log, want));
	assert_int_equal(strncmp(log, "ts=", 3), 0);
	assert_ptr_equal(strchr(log, '\n'), log + strlen(log) - 1);

	free(backup);
	free(want);
	free(names);
	free(parent);
	free(log);
	free(rel);
}

static void
test_switch_refused(void **state)
{
	struct tmp	*t = *state;
	struct gs_error	 err;
	char		*want, *rel;

	/* no such release */
	assert_int_equal(release_switch(t->target, t->releases, ID1, &err),
	    -1);
	xasprintf(&want, "release %s/%s: No such file or directory",
	    t->releases, ID1);
	assert_string_equal(err.msg, want);
	free(want);

	/* not an id */
	assert_int_equal(release_switch(t->target, t->releases, "../x", &err),
	    -1);
	assert_string_equal(err.msg, "\"../x\" is not a release id");

	/* a file where the web root should be is not ours to move */
	rel = mkrel(t, ID1);
	assert_int_equal(util_mkdir_p(t->target, 0755, &err), 0);
	assert_int_equal(rmdir(t->target), 0);
	write_file(t->target, "mine\n", 0644);
	assert_int_equal(release_switch(t->target, t->releases, ID1, &err),
	    -1);
	xasprintf(&want, "data target %s exists and is neither a directory "
	    "nor a symlink: refusing to replace it", t->target);
	assert_string_equal(err.msg, want);
	assert_false(util_is_dir(t->target));
	free(want);
	free(rel);
}

static void
test_list(void **state)
{
	struct tmp		*t = *state;
	struct gs_strlist	 l;
	struct gs_error		 err;
	char			*file, *missing;

	mkrels(t, ID3, ID1, ID2, ID4 ".tmp", ID2 ".failed", "junk",
	    "lost+found", NULL);
	file = util_path_join(t->releases, "notes.txt");
	write_file(file, "x", 0644);
	free(file);

	assert_int_equal(release_list(t->releases, &l, &err), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0], ID1);
	assert_string_equal(l.v[1], ID2);
	assert_string_equal(l.v[2], ID3);
	assert_null(l.v[3]);
	strlist_free(&l);
	assert_null(l.v);
	assert_int_equal(l.n, 0);

	/* no releases dir yet: no releases */
	missing = util_path_join(t->root, "none");
	assert_int_equal(release_list(missing, &l, &err), 0);
	assert_int_equal(l.n, 0);
	strlist_free(&l);
	free(missing);
}

static void
test_prune(void **state)
{
	struct tmp	*t = *state;
	struct gs_error	 err;

	mkrels(t, ID1, ID2, ID3, ID4, ID5, ID5 ".tmp", "half.tmp",
	    ID1 ".failed", ID2 ".failed", ID3 ".failed", "lost+found", NULL);
	assert_int_equal(release_prune(t->releases, 3, ID5, &err), 0);
	/* the newest three, current among them; the newest two failures */
	ls_is(t->releases, ID2 ".failed " ID3 " " ID3 ".failed " ID4 " " ID5
	    " lost+found");
	/* nothing more to do */
	assert_int_equal(release_prune(t->releases, 3, ID5, &err), 0);
	ls_is(t->releases, ID2 ".failed " ID3 " " ID3 ".failed " ID4 " " ID5
	    " lost+found");
	/* keep counts current, and 0 is read as 1 */
	assert_int_equal(release_prune(t->releases, 0, ID5, &err), 0);
	ls_is(t->releases, ID2 ".failed " ID3 ".failed " ID5 " lost+found");
}

/* after a rollback the current release may be the oldest: it stays */
static void
test_prune_current_oldest(void **state)
{
	struct tmp	*t = *state;
	struct gs_error	 err;

	mkrels(t, ID1, ID2, ID3, ID4, ID5, NULL);
	assert_int_equal(release_prune(t->releases, 2, ID1, &err), 0);
	ls_is(t->releases, ID1 " " ID5);
	assert_int_equal(release_prune(t->releases, 1, ID1, &err), 0);
	ls_is(t->releases, ID1);
}

static void
test_prune_no_current(void **state)
{
	struct tmp	*t = *state;
	struct gs_error	 err;

	mkrels(t, ID1, ID2, ID3, NULL);
	/* a current that is no release here (or none) protects nothing */
	assert_int_equal(release_prune(t->releases, 2, ID4, &err), 0);
	ls_is(t->releases, ID2 " " ID3);
	assert_int_equal(release_prune(t->releases, 1, NULL, &err), 0);
	ls_is(t->releases, ID3);
	assert_int_equal(release_prune(t->releases, 1, "", &err), 0);
	ls_is(t->releases, ID3);
}

static void
test_mark_failed(void **state)
{
	struct tmp	*t = *state;
	struct gs_error	 err;
	char		*rel, *file, *want;

	rel = mkrel(t, ID1);
	file = util_path_join(rel, "new.html");
	write_file(file, "new\n", 0644);
	free(file);
	/* an older failure of the same id is replaced */
	free(mkrel(t, ID1 ".failed"));
	assert_int_equal(release_mark_failed(t->releases, ID1, &err), 0);
	ls_is(t->releases, ID1 ".failed");
	xasprintf(&file, "%s/%s.failed/new.html", t->releases, ID1);
	assert_true(util_exists(file));
	free(file);

	assert_int_equal(release_mark_failed(t->releases, ID2, &err), -1);
	xasprintf(&want, "rename %s/%s to %s/%s.failed: No such file or "
	    "directory", t->releases, ID2, t->releases, ID2);
	assert_string_equal(err.msg, want);
	free(want);
	assert_int_equal(release_mark_failed(t->releases, "x", &err), -1);
	assert_string_equal(err.msg, "\"x\" is not a release id");
	free(rel);
}

static mode_t
mode_of(const char *dir, const char *name)
{
	struct stat	 sb;
	char		*p = util_path_join(dir, name);

	if (lstat(p, &sb) == -1)
		fail_msg("lstat %s: %s", p, strerror(errno));
	free(p);
	return sb.st_mode & 07777;
}

static void
test_seal(void **state)
{
	struct tmp	*t = *state;
	struct gs_error	 err;
	char		*rel, *p, *outside;

	rel = mkrel(t, ID1);
	assert_int_equal(chmod(rel, 0700), 0);
	p = util_path_join(rel, "a");
	assert_int_equal(mkdir(p, 0700), 0);
	free(p);
	p = util_path_join(rel, "a/b");
	assert_int_equal(mkdir(p, 0777), 0);
	assert_int_equal(chmod(p, 03777), 0);
	free(p);
	p = util_path_join(rel, "a/b/locked");
	assert_int_equal(mkdir(p, 0), 0);
	free(p);
#define FILE_MODE(name, mode) do {				\
	p = util_path_join(rel, name);				\
	write_file(p, "x\n", mode);				\
	free(p);						\
} while (0)
	FILE_MODE("private.html", 0600);
	FILE_MODE("a/tool", 0700);
	FILE_MODE("a/b/suid", 04755);
	FILE_MODE("a/b/sgid", 02711);
	FILE_MODE("a/b/open", 0666);
	FILE_MODE("a/b/readonly", 0444);
#undef FILE_MODE
	/* a symlink out of the tree: sealing must not follow it */
	outside = util_path_join(t->root, "outside");
	write_file(outside, "x\n", 0600);
	p = util_path_join(rel, "a/out");
	assert_int_equal(symlink(outside, p), 0);
	free(p);

	if (release_seal(rel, &err) == -1)
		fail_msg("release_seal: %s", err.msg);
	assert_int_equal(mode_of(rel, "."), 0755);
	assert_int_equal(mode_of(rel, "a"), 0755);
	assert_int_equal(mode_of(rel, "a/b"), 0755);
	assert_int_equal(mode_of(rel, "a/b/locked"), 0755);
	assert_int_equal(mode_of(rel, "private.html"), 0644);
	assert_int_equal(mode_of(rel, "a/tool"), 0755);
	assert_int_equal(mode_of(rel, "a/b/suid"), 0755);
	assert_int_equal(mode_of(rel, "a/b/sgid"), 0755);
	assert_int_equal(mode_of(rel, "a/b/open"), 0644);
	assert_int_equal(mode_of(rel, "a/b/readonly"), 0644);
	assert_int_equal(mode_of(t->root, "outside"), 0600);

	p = util_path_join(t->root, "nonexistent");
	assert_int_equal(release_seal(p, &err), -1);
	free(p);
	free(outside);
	free(rel);
}


static struct stat
stat_of(const char *dir, const char *name)
{
	struct stat	 sb;
	char		*p = util_path_join(dir, name);

	if (lstat(p, &sb) == -1)
		fail_msg("lstat %s: %s", p, strerror(errno));
	free(p);
	return sb;
}

/* an archive whose blob did not change: its whole tree is linked */
static void
test_link_tree(void **state)
{
	struct tmp	*t = *state;
	struct gs_error	 err;
	struct timespec	 ts[2];
	struct stat	 a, b;
	char		*from = mkrel(t, ID1), *to = mkrel(t, ID2), *p;
	char		 buf[64];
	ssize_t		 n;
	const char	*names[] = { "index.html", "sub/a.json", "sub/deep/run",
	    "sub/deep", "sub", "sub/link", NULL };
	size_t		 i;

	p = util_path_join(from, "sub/deep");
	assert_int_equal(util_mkdir_p(p, 0755, &err), 0);
	free(p);
	p = util_path_join(from, "index.html");
	write_file(p, "<h1>hi</h1>\n", 0644);
	free(p);
	p = util_path_join(from, "sub/a.json");
	write_file(p, "{}\n", 0644);
	free(p);
	p = util_path_join(from, "sub/deep/run");
	write_file(p, "#!/bin/sh\n", 0755);
	free(p);
	p = util_path_join(from, "sub/link");
	assert_int_equal(symlink("../index.html", p), 0);
	free(p);
	/* dir times are kept: set them after the entries are made */
	ts[0].tv_sec = ts[1].tv_sec = 1000000000;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	p = util_path_join(from, "sub/deep");
	assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
	free(p);

	assert_int_equal(release_link_tree(from, to, &err), 0);
	ls_is(to, "index.html sub");
	p = util_path_join(to, "sub");
	ls_is(p, "a.json deep link");
	free(p);
	for (i = 0; names[i] != NULL; i++) {
		a = stat_of(from, names[i]);
		b = stat_of(to, names[i]);
		assert_int_equal(a.st_mode, b.st_mode);
		if (S_ISDIR(a.st_mode)) {
			/* a dir of its own, with the same times */
			assert_true(a.st_ino != b.st_ino);
			assert_int_equal(a.st_mtim.tv_sec, b.st_mtim.tv_sec);
		} else
			assert_true(a.st_ino == b.st_ino);
	}
	assert_int_equal(stat_of(to, "sub/deep").st_mtim.tv_sec, 1000000000);
	p = util_path_join(to, "sub/link");
	n = readlink(p, buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "../index.html");
	free(p);

	/* pruning the old release leaves the new one whole */
	assert_int_equal(release_prune(t->releases, 1, ID2, &err), 0);
	ls_is(t->releases, ID2);
	assert_int_equal(stat_of(to, "index.html").st_nlink, 1);

	/* into a tree that has the names already: refused, nothing lost */
	assert_int_equal(release_link_tree(to, to, &err), -1);
	free(from);
	free(to);
}

/* a manifest goes when its release goes, and with nothing else */
static void
test_prune_manifests(void **state)
{
	struct tmp	*t = *state;
	struct gs_error	 err;
	char		*p;
	const char	*ids[] = { ID1, ID2, ID3, ID4, NULL };
	size_t		 i;

	mkrels(t, ID1, ID2, ID3, NULL);
	for (i = 0; ids[i] != NULL; i++) {
		xasprintf(&p, "%s/.%s.manifest", t->releases, ids[i]);
		write_file(p, "{}\n", 0644);
		free(p);
	}
	assert_int_equal(release_prune(t->releases, 2, ID3, &err), 0);
	ls_is(t->releases, "." ID2 ".manifest ." ID3 ".manifest " ID2 " " ID3);
	assert_int_equal(release_mark_failed(t->releases, ID3, &err), 0);
	assert_int_equal(release_prune(t->releases, 2, ID2, &err), 0);
	ls_is(t->releases, "." ID2 ".manifest " ID2 " " ID3 ".failed");
}

/* the manifest written is the manifest read */
static void
test_manifest(void **state)
{
	struct tmp		*t = *state;
	struct gs_error		 err;
	struct gs_manifest	 m, r;
	struct gs_manifest_item	 it[2];
	char			*p;

	memset(it, 0, sizeof(it));
	it[0].archive = (char *)"data.tar.gz";
	it[0].strip = 2;
	memcpy(it[0].blob, COMMIT, sizeof(COMMIT));
	it[0].entries = 5050;
	it[0].bytes = 125241416ULL * 100;
	it[1].archive = (char *)"more/extra.zip";
	it[1].to = (char *)"extra";
	memcpy(it[1].blob, COMMIT, sizeof(COMMIT));
	it[1].blob[0] = 'f';
	m.v = it;
	m.n = 2;
	assert_int_equal(state_manifest_save(&m, t->releases, ID1 ".manifest",
	    &err), 0);
	xasprintf(&p, "%s/%s.manifest", t->releases, ID1);
	assert_int_equal(state_manifest_load(&r, p, &err), 0);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.v[0].archive, "data.tar.gz");
	assert_null(r.v[0].to);
	assert_int_equal(r.v[0].strip, 2);
	assert_string_equal(r.v[0].blob, COMMIT);
	assert_int_equal(r.v[0].entries, 5050);
	assert_true(r.v[0].bytes == 125241416ULL * 100);
	assert_string_equal(r.v[1].archive, "more/extra.zip");
	assert_string_equal(r.v[1].to, "extra");
	assert_int_equal(r.v[1].blob[0], 'f');
	state_manifest_free(&r);

	/* anything else is an error the caller can ignore */
	write_file(p, "{\"version\": 2, \"archives\": []}\n", 0644);
	assert_int_equal(state_manifest_load(&r, p, &err), -1);
	assert_int_equal(r.n, 0);
	free(p);
}

static void
test_strlist(void **state)
{
	struct gs_strlist	l = { NULL, 0 };
	char			buf[] = "one";

	(void)state;
	strlist_add(&l, buf);
	buf[0] = 'O';			/* the list has its own copy */
	strlist_add(&l, "two");
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0], "one");
	assert_string_equal(l.v[1], "two");
	assert_null(l.v[2]);
	strlist_free(&l);
	assert_int_equal(l.n, 0);
	assert_null(l.v);
	strlist_free(&l);		/* twice is fine */
	strlist_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_make_id),
		cmocka_unit_test(test_id_valid),
		cmocka_unit_test(test_strlist),
#define T(f)	cmocka_unit_test_setup_teardown(f, tmp_setup, tmp_teardown)
		T(test_current),
		T(test_switch_fresh),
		T(test_switch_over_link),
		T(test_switch_backup),
		T(test_switch_refused),
		T(test_list),
		T(test_prune),
		T(test_prune_current_oldest),
		T(test_prune_no_current),
		T(test_mark_failed),
		T(test_seal),
		T(test_link_tree),
		T(test_prune_manifests),
		T(test_manifest),
#undef T
	};

	log_init("test_release", LOG_LEVEL_ERROR, LOG_FORMAT_TEXT);
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
