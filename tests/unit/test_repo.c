/*
 * test_repo.c: repo.c's pure parts (URL rewriting, ref kinds, when a
 * shallow fetch is possible) and a real round trip on a local repository:
 * ref resolution (branch, lightweight and annotated tag, HEAD, commit id),
 * fetch-only-when-needed, tree export and blob access.
 */
#include "config.h"

#include <sys/stat.h>

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

static char	tmpdir[256];
static char	v1[GS_HEXLEN + 1], v2[GS_HEXLEN + 1];

static void
test_rewrite_github(void **state)
{
	char	*s;

	(void)state;
	s = repo_rewrite_url("git://github.com/eucalyptus/open-qa.git");
	assert_non_null(s);
	assert_string_equal(s, "https://github.com/eucalyptus/open-qa.git");
	free(s);
	assert_null(repo_rewrite_url("git://example.com/x.git"));
	assert_null(repo_rewrite_url("https://github.com/x/y.git"));
	assert_null(repo_rewrite_url("git://github.company.com/x.git"));
}

static void
test_ref_is_commit(void **state)
{
	(void)state;
	assert_true(repo_ref_is_commit("0123456789abcdef0123456789abcdef01234567"));
	assert_true(repo_ref_is_commit("0123456789ABCDEF0123456789ABCDEF01234567"));
	assert_false(repo_ref_is_commit("main"));
	assert_false(repo_ref_is_commit("0123456789abcdef"));
	assert_false(repo_ref_is_commit("0123456789abcdef0123456789abcdef012345678"));
	assert_false(repo_ref_is_commit("g123456789abcdef0123456789abcdef01234567"));
}

static void
test_shallow_ok(void **state)
{
	const char	*why = NULL;
	int		 major, minor, rev;

	(void)state;
	assert_true(repo_shallow_ok("https://example.com/x.git", &why));
	assert_true(repo_shallow_ok("http://127.0.0.1:8080/x.git", &why));
	assert_false(repo_shallow_ok("/srv/git/x.git", &why));
	assert_string_equal(why,
	    "local repositories have no shallow support in libgit2");
	assert_false(repo_shallow_ok("file:///srv/git/x.git", &why));
	sscanf(repo_lib_version(), "%d.%d.%d", &major, &minor, &rev);
	if (major == 1 && minor < 9) {
		assert_false(repo_shallow_ok("git://example.com/x.git", &why));
		assert_string_equal(why, "libgit2 before 1.9 breaks shallow "
		    "fetch over git:// and ssh://");
		assert_false(repo_shallow_ok("ssh://git@example.com/x.git",
		    &why));
		assert_false(repo_shallow_ok("git@example.com:x.git", &why));
	} else
		assert_true(repo_shallow_ok("git://example.com/x.git", &why));
}

static int
sh(const char *fmt, ...)
{
	va_list	 ap;
	char	*cmd;
	int	 rc;

	va_start(ap, fmt);
	xvasprintf(&cmd, fmt, ap);
	va_end(ap);
	rc = system(cmd);
	free(cmd);
	return rc;
}

static void
read_line(const char *path, char *buf, size_t len)
{
	FILE	*f = fopen(path, "r");

	assert_non_null(f);
	assert_non_null(fgets(buf, (int)len, f));
	buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

/* a source repo with two commits on main, tags on the first */
static int
repo_setup(void **state)
{
	const char	*base = getenv("TMPDIR");
	char		 path[512];

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_repo.XXXXXX",
	    base != NULL && *base != '\0' ? base : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	if (sh("cd %s && export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null "
	    "GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t.invalid GIT_COMMITTER_NAME=t "
	    "GIT_COMMITTER_EMAIL=t@t.invalid && git init -q -b main src && cd src && "
	    "mkdir -p d && echo one >d/f && ln -s d/f link && git add -A && "
	    "git commit -qm one && git rev-parse HEAD >../v1 && git tag light && "
	    "git tag -a -m ann annotated && echo two >d/f && git commit -qam two && "
	    "git rev-parse HEAD >../v2", tmpdir) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/v1", tmpdir);
	read_line(path, v1, sizeof(v1));
	snprintf(path, sizeof(path), "%s/v2", tmpdir);
	read_line(path, v2, sizeof(v2));
	return 0;
}

static int
repo_teardown(void **state)
{
	(void)state;
	return util_rm_rf(tmpdir, NULL);
}

/* update a mirror of the source at ref; returns the commit and fetched */
static void
update(const char *gitdir, const char *ref, char out[GS_HEXLEN + 1],
    int *fetched)
{
	struct gs_repo_conf	 conf;
	struct gs_repo		*r = NULL;
	struct gs_error		 err;
	char			 url[512], dir[512];

	memset(&conf, 0, sizeof(conf));
	snprintf(url, sizeof(url), "%s/src", tmpdir);
	snprintf(dir, sizeof(dir), "%s/%s", tmpdir, gitdir);
	conf.url = url;
	conf.ref = (char *)ref;
	assert_int_equal(repo_open(&r, dir, &conf, "data", &err), 0);
	if (repo_update(r, out, fetched, &err) != 0)
		fail_msg("%s", err.msg);
	repo_free(r);
}

static void
test_refs(void **state)
{
	char	c[GS_HEXLEN + 1];
	int	fetched;

	(void)state;
	update("m1.git", "main", c, &fetched);
	assert_string_equal(c, v2);
	assert_int_equal(fetched, 1);
	update("m1.git", "main", c, &fetched);
	assert_string_equal(c, v2);
	assert_int_equal(fetched, 0);	/* already here: no transfer */
	update("m1.git", "refs/heads/main", c, &fetched);
	assert_string_equal(c, v2);
	update("m1.git", "HEAD", c, &fetched);
	assert_string_equal(c, v2);
	update("m2.git", "light", c, &fetched);
	assert_string_equal(c, v1);
	update("m3.git", "annotated", c, &fetched);
	assert_string_equal(c, v1);	/* peeled, not the tag object */
	update("m4.git", v1, c, &fetched);
	assert_string_equal(c, v1);
	assert_int_equal(fetched, 1);
	update("m4.git", v1, c, &fetched);
	assert_int_equal(fetched, 0);
}

static void
test_missing_ref(void **state)
{
	struct gs_repo_conf	 conf;
	struct gs_repo		*r = NULL;
	struct gs_error		 err;
	char			 url[512], dir[512], c[GS_HEXLEN + 1], want[700];
	int			 fetched;

	(void)state;
	memset(&conf, 0, sizeof(conf));
	snprintf(url, sizeof(url), "%s/src", tmpdir);
	snprintf(dir, sizeof(dir), "%s/m5.git", tmpdir);
	conf.url = url;
	conf.ref = "nope";
	assert_int_equal(repo_open(&r, dir, &conf, "data", &err), 0);
	assert_int_equal(repo_update(r, c, &fetched, &err), -1);
	snprintf(want, sizeof(want), "data: %s: ref \"nope\" not found", url);
	assert_string_equal(err.msg, want);
	repo_free(r);
}

static void
test_export_and_blob(void **state)
{
	struct gs_repo_conf	 conf;
	struct gs_repo		*r = NULL;
	struct repo_blob	*b = NULL;
	struct gs_error		 err;
	char			 url[512], dir[600], out[512], buf[64], lnk[64];
	char			 c[GS_HEXLEN + 1];
	const void		*data;
	size_t			 len;
	ssize_t			 n;
	int			 fetched;

	(void)state;
	memset(&conf, 0, sizeof(conf));
	snprintf(url, sizeof(url), "%s/src", tmpdir);
	snprintf(dir, sizeof(dir), "%s/m6.git", tmpdir);
	snprintf(out, sizeof(out), "%s/tree", tmpdir);
	conf.url = url;
	conf.ref = "main";
	assert_int_equal(repo_open(&r, dir, &conf, "data", &err), 0);
	assert_int_equal(repo_update(r, c, &fetched, &err), 0);
	assert_int_equal(repo_export_tree(r, c, out, 1 << 20, 100, &err), 0);
	snprintf(dir, sizeof(dir), "%s/d/f", out);
	read_line(dir, buf, sizeof(buf));
	assert_string_equal(buf, "two");
	snprintf(dir, sizeof(dir), "%s/link", out);
	n = readlink(dir, lnk, sizeof(lnk) - 1);
	assert_true(n > 0);
	lnk[n] = '\0';
	assert_string_equal(lnk, "d/f");

	/* limits apply to trees too */
	snprintf(out, sizeof(out), "%s/tree2", tmpdir);
	assert_int_equal(repo_export_tree(r, c, out, 1 << 20, 2, &err), -1);
	assert_string_equal(err.msg,
	    "data: tree has more than 2 entries (limits.max_entries)");

	assert_int_equal(repo_blob_open(&b, r, c, "d/f", &err), 0);
	data = repo_blob_data(b, &len);
	assert_int_equal(len, 4);
	assert_memory_equal(data, "two\n", 4);
	assert_int_equal(strlen(repo_blob_id(b)), GS_HEXLEN);
	repo_blob_free(b);
	assert_int_equal(repo_blob_open(&b, r, c, "nope.tar.gz", &err), -1);
	snprintf(buf, sizeof(buf), "%.12s", c);
	snprintf(out, sizeof(out), "data: nope.tar.gz: no such file in commit %s",
	    buf);
	assert_string_equal(err.msg, out);
	assert_int_equal(repo_blob_open(&b, r, c, "d", &err), -1);
	repo_free(r);
}

static void
test_hash_buf(void **state)
{
	char	a[GS_HEXLEN + 1];

	(void)state;
	/* git hash-object of an empty blob */
	repo_hash_buf("", 0, a);
	assert_string_equal(a, "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
}

/* a tag's text: the signed part, then the block git appends */
#define TAG_HEAD \
	"object 0123456789abcdef0123456789abcdef01234567\n" \
	"type commit\n" \
	"tag v1\n" \
	"tagger T <t@example.com> 1700000000 +0000\n" \
	"\n" \
	"release 1\n"

static void
test_sig_offset(void **state)
{
	static const char	ssh[] = TAG_HEAD
	    "-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n"
	    "-----END SSH SIGNATURE-----\n";
	static const char	pgp[] = TAG_HEAD
	    "-----BEGIN PGP SIGNATURE-----\n\niHUEABYKAB0W\n"
	    "-----END PGP SIGNATURE-----\n";
	/* a message quoting a signature: the last block is the signature */
	static const char	two[] = "object x\n\nsee:\n"
	    "-----BEGIN PGP SIGNATURE-----\nquoted\n"
	    "-----END PGP SIGNATURE-----\n"
	    "-----BEGIN SSH SIGNATURE-----\nreal\n"
	    "-----END SSH SIGNATURE-----\n";
	/* not at the start of a line: not a signature */
	static const char	inline_[] = TAG_HEAD
	    "text -----BEGIN PGP SIGNATURE-----\n";
	static const char	none[] = TAG_HEAD;
	static const char	bare[] = "-----BEGIN SSH SIGNATURE-----";

	(void)state;
	assert_int_equal(repo_sig_offset(ssh, sizeof(ssh) - 1),
	    sizeof(TAG_HEAD) - 1);
	assert_int_equal(repo_sig_offset(pgp, sizeof(pgp) - 1),
	    sizeof(TAG_HEAD) - 1);
	assert_string_equal(two + repo_sig_offset(two, sizeof(two) - 1),
	    "-----BEGIN SSH SIGNATURE-----\nreal\n"
	    "-----END SSH SIGNATURE-----\n");
	assert_int_equal(repo_sig_offset(inline_, sizeof(inline_) - 1),
	    sizeof(inline_) - 1);
	assert_int_equal(repo_sig_offset(none, sizeof(none) - 1),
	    sizeof(none) - 1);
	assert_int_equal(repo_sig_offset("", 0), 0);
	/* the whole object is a signature: nothing is signed */
	assert_int_equal(repo_sig_offset(bare, sizeof(bare) - 1), 0);
	/* a cut-off marker at the very end is not one */
	assert_int_equal(repo_sig_offset(bare, 10), 10);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rewrite_github),
		cmocka_unit_test(test_ref_is_commit),
		cmocka_unit_test(test_shallow_ok),
		cmocka_unit_test(test_hash_buf),
		cmocka_unit_test(test_refs),
		cmocka_unit_test(test_missing_ref),
		cmocka_unit_test(test_export_and_blob),
		cmocka_unit_test(test_sig_offset),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	log_init("test", LOG_LEVEL_ERROR, LOG_FORMAT_TEXT);
	repo_lib_init();
	return cmocka_run_group_tests(tests, repo_setup, repo_teardown);
}
