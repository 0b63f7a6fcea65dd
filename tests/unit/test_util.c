/*
 * test_util.c: util.c's pure helpers (durations, sizes, numbers, times,
 * URLs) and its small file helpers, in a temporary directory.
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "gitstrap.h"

struct tmp {
	char	dir[256];
};

static int
tmp_setup(void **state)
{
	struct tmp	*t;
	const char	*base = getenv("TMPDIR");

	t = xcalloc(1, sizeof(*t));
	if (base == NULL || *base == '\0')
		base = "/tmp";
	snprintf(t->dir, sizeof(t->dir), "%s/test_util.XXXXXX", base);
	if (mkdtemp(t->dir) == NULL)
		return -1;
	*state = t;
	return 0;
}

static int
tmp_teardown(void **state)
{
	struct tmp	*t = *state;
	struct gs_error	 err;
	int		 rc;

	rc = util_rm_rf(t->dir, &err);
	if (rc == 0 && util_exists(t->dir))
		rc = -1;
	free(t);
	return rc;
}

static void
duration_ok(const char *s, int64_t want)
{
	int64_t		 v = -1;
	const char	*why = NULL;

	if (util_parse_duration(s, &v, &why) == -1)
		fail_msg("\"%s\": %s", s, why);
	assert_int_equal(v, want);
}

static void
duration_bad(const char *s, const char *want)
{
	int64_t		 v = -1;
	const char	*why = NULL;

	assert_int_equal(util_parse_duration(s, &v, &why), -1);
	assert_non_null(why);
	assert_string_equal(why, want);
	assert_int_equal(v, -1);
}

static void
test_duration(void **state)
{
	(void)state;
	duration_ok("30s", 30000);
	duration_ok("5m", 300000);
	duration_ok("1h", 3600000);
	duration_ok("1h30m", 5400000);
	duration_ok("1m30s", 90000);
	duration_ok("90", 90000);
	duration_ok("0", 0);
	duration_ok("250ms", 250);
	duration_ok("1d", 86400000);
	duration_bad("", "empty");
	duration_bad("5x", "unknown unit (use ms, s, m, h or d)");
	duration_bad("-1s", "expected a number");
	duration_bad("s", "expected a number");
	duration_bad(" 5s", "expected a number");
	duration_bad("1h30", "missing unit (ms, s, m, h or d)");
	duration_bad("99999999999999999999s", "too large");
	duration_bad("9223372036854775807ms", "too large");
	duration_bad("400d", "too large");
	duration_bad("300d300d", "too large");
}

static void
size_ok(const char *s, uint64_t want)
{
	uint64_t	 v = 0;
	const char	*why = NULL;

	if (util_parse_size(s, &v, &why) == -1)
		fail_msg("\"%s\": %s", s, why);
	assert_true(v == want);
}

static void
size_bad(const char *s, const char *want)
{
	uint64_t	 v = 7;
	const char	*why = NULL;

	assert_int_equal(util_parse_size(s, &v, &why), -1);
	assert_non_null(why);
	assert_string_equal(why, want);
	assert_true(v == 7);
}

static void
test_size(void **state)
{
	(void)state;
	size_ok("4096", 4096);
	size_ok("0", 0);
	size_ok("512K", 512 * 1024);
	size_ok("20M", 20 * 1024 * 1024);
	size_ok("4G", 4ULL << 30);
	size_ok("1T", 1ULL << 40);
	size_ok("20MB", 20 * 1024 * 1024);
	size_ok("17179869183G", UINT64_MAX - (1ULL << 30) + 1);
	size_bad("", "empty");
	size_bad("12Q", "unknown unit (use K, M, G or T)");
	size_bad("12KiB", "unknown unit (use K, M, G or T)");
	size_bad("-1", "expected a number");
	size_bad("K", "expected a number");
	size_bad("99999999999999999999", "too large");
	size_bad("17179869184G", "too large");
}

static void
test_percent(void **state)
{
	const char	*why = NULL;
	int		 v = -1;

	(void)state;
	assert_int_equal(util_parse_percent("10%", &v, &why), 0);
	assert_int_equal(v, 10);
	assert_int_equal(util_parse_percent("10", &v, &why), 0);
	assert_int_equal(v, 10);
	assert_int_equal(util_parse_percent("0%", &v, &why), 0);
	assert_int_equal(v, 0);
	assert_int_equal(util_parse_percent("100", &v, &why), 0);
	assert_int_equal(v, 100);
	assert_int_equal(util_parse_percent("101%", &v, &why), -1);
	assert_string_equal(why, "must be between 0 and 100");
	assert_int_equal(util_parse_percent("-1", &v, &why), -1);
	assert_string_equal(why, "must be between 0 and 100");
	assert_int_equal(util_parse_percent("ten", &v, &why), -1);
	assert_string_equal(why, "not a number");
	assert_int_equal(util_parse_percent("%", &v, &why), -1);
	assert_string_equal(why, "not a number");
	assert_int_equal(util_parse_percent("", &v, &why), -1);
	assert_string_equal(why, "empty");
	assert_int_equal(v, 100);
}

static void
test_strtonum(void **state)
{
	const char	*why = NULL;
	long long	 v = 0;

	(void)state;
	assert_int_equal(util_strtonum("42", 0, 100, &v, &why), 0);
	assert_int_equal(v, 42);
	assert_int_equal(util_strtonum("-5", -10, 10, &v, &why), 0);
	assert_int_equal(v, -5);
	assert_int_equal(util_strtonum("100", 0, 100, &v, &why), 0);
	assert_int_equal(v, 100);
	assert_int_equal(util_strtonum("101", 0, 100, &v, &why), -1);
	assert_string_equal(why, "too large");
	assert_int_equal(util_strtonum("-11", -10, 10, &v, &why), -1);
	assert_string_equal(why, "too small");
	assert_int_equal(util_strtonum("99999999999999999999", 0, 100, &v,
	    &why), -1);
	assert_string_equal(why, "too large");
	assert_int_equal(util_strtonum("-99999999999999999999", -10, 100, &v,
	    &why), -1);
	assert_string_equal(why, "too small");
	assert_int_equal(util_strtonum("12abc", 0, 100, &v, &why), -1);
	assert_string_equal(why, "not a number");
	assert_int_equal(util_strtonum("", 0, 100, &v, &why), -1);
	assert_string_equal(why, "not a number");
	assert_int_equal(util_strtonum(" 5", 0, 100, &v, &why), -1);
	assert_string_equal(why, "not a number");
	assert_int_equal(util_strtonum("5 ", 0, 100, &v, &why), -1);
	assert_string_equal(why, "not a number");
	assert_int_equal(v, 100);
}

static void
test_hex_id(void **state)
{
	(void)state;
	assert_true(util_is_hex_id("0123456789abcdef0123456789abcdef01234567"));
	assert_true(util_is_hex_id("0123456789ABCDEF0123456789ABCDEF01234567"));
	assert_false(util_is_hex_id("0123456789abcdef0123456789abcdef0123456"));
	assert_false(util_is_hex_id(
	    "0123456789abcdef0123456789abcdef012345678"));
	assert_false(util_is_hex_id("0123456789abcdef0123456789abcdef0123456g"));
	assert_false(util_is_hex_id("main"));
	assert_false(util_is_hex_id(""));
}

static void
redact_is(const char *in, const char *want)
{
	char	*out = util_redact_url(in);

	assert_string_equal(out, want);
	assert_ptr_not_equal(out, in);
	free(out);
}

static void
test_redact_url(void **state)
{
	(void)state;
	redact_is("https://user:tok@host/x", "https://host/x");
	redact_is("https://tok@host:8443/a/b.git", "https://host:8443/a/b.git");
	redact_is("http://u:p@h", "http://h");
	redact_is("https://host/x", "https://host/x");
	redact_is("https://host/x@y", "https://host/x@y");
	redact_is("git@github.com:x/y", "git@github.com:x/y");
	redact_is("/srv/git/data.git", "/srv/git/data.git");
}

static void
test_url_userinfo(void **state)
{
	char	*user, *pass;

	(void)state;
	util_url_userinfo("https://us%40er:p%3Ass@host/x", &user, &pass);
	assert_string_equal(user, "us@er");
	assert_string_equal(pass, "p:ss");
	free(user);
	free(pass);
	util_url_userinfo("https://deploy@host/x", &user, &pass);
	assert_string_equal(user, "deploy");
	assert_null(pass);
	free(user);
	util_url_userinfo("https://host/x", &user, &pass);
	assert_null(user);
	assert_null(pass);
}

static void
test_time(void **state)
{
	char	buf[32];
	time_t	t = 0;

	(void)state;
	util_time_rfc3339(0, buf);
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	util_time_rfc3339(1795426200, buf);
	assert_string_equal(buf, "2026-11-23T09:30:00Z");
	assert_int_equal(util_parse_rfc3339(buf, &t), 0);
	assert_int_equal(t, 1795426200);
	util_time_rfc3339(951868799, buf);
	assert_string_equal(buf, "2000-02-29T23:59:59Z");
	assert_int_equal(util_parse_rfc3339(buf, &t), 0);
	assert_int_equal(t, 951868799);
	util_time_compact(1795426200, buf);
	assert_string_equal(buf, "20261123T093000Z");
	t = 5;
	assert_int_equal(util_parse_rfc3339("2026-11-23 09:30:00", &t), -1);
	assert_int_equal(util_parse_rfc3339("2026-11-23T09:30:00Z!", &t), -1);
	assert_int_equal(util_parse_rfc3339("", &t), -1);
	assert_int_equal(t, 5);
}

static void
test_now_ms(void **state)
{
	int64_t	a, b;

	(void)state;
	a = util_now_ms();
	b = util_now_ms();
	assert_true(a > 0);
	assert_true(b >= a);
}

static void
test_path_helpers(void **state)
{
	char	*p;

	(void)state;
	p = util_path_join("/var/lib", "gitstrap");
	assert_string_equal(p, "/var/lib/gitstrap");
	free(p);
	p = util_path_join("/var/lib/", "gitstrap");
	assert_string_equal(p, "/var/lib/gitstrap");
	free(p);
}

static void
test_write_read(void **state)
{
	struct tmp	*t = *state;
	struct gs_error	 err;
	struct stat	 sb;
	char		*buf, *path, *tmpname;
	size_t		 len = 0;

	memset(&err, 0, sizeof(err));
	path = util_path_join(t->dir, "status.json");
	xasprintf(&tmpname, "%s/.status.json.tmp", t->dir);

	assert_int_equal(util_write_atomic(t->dir, "status.json", "{}\n", 3,
	    0600, &err), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_false(util_exists(tmpname));
	assert_int_equal(util_read_file(path, 1024, &buf, &len, &err), 0);
	assert_int_equal(len, 3);
	assert_string_equal(buf, "{}\n");
	free(buf);

	/* replaced whole, with the new mode */
	assert_int_equal(util_write_atomic(t->dir, "status.json",
	    "{\"a\": 1}", 8, 0644, &err), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0644);
	assert_int_equal(util_read_file(path, 8, &buf, NULL, &err), 0);
	assert_string_equal(buf, "{\"a\": 1}");
	free(buf);

	/* one byte over the limit */
	buf = (char *)1;
	assert_int_equal(util_read_file(path, 7, &buf, &len, &err), -1);
	assert_null(buf);
	assert_int_equal(err.src, GS_E_SYS);
	assert_non_null(strstr(err.msg, "larger than 7 bytes"));

	/* an empty file is an empty string */
	assert_int_equal(util_write_atomic(t->dir, "empty", "", 0, 0644, &err),
	    0);
	free(path);
	path = util_path_join(t->dir, "empty");
	assert_int_equal(util_read_file(path, 10, &buf, &len, &err), 0);
	assert_int_equal(len, 0);
	assert_string_equal(buf, "");
	free(buf);

	/* missing file and directory */
	free(path);
	path = util_path_join(t->dir, "missing");
	assert_int_equal(util_read_file(path, 10, &buf, &len, &err), -1);
	assert_int_equal(err.src, GS_E_SYS);
	assert_true(strstr(err.msg, "No such file") != NULL);
	assert_int_equal(util_read_file(t->dir, 10, &buf, &len, &err), -1);

	/* writing into a missing directory fails cleanly */
	free(path);
	path = util_path_join(t->dir, "nodir");
	assert_int_equal(util_write_atomic(path, "x", "1", 1, 0644, &err), -1);
	assert_int_equal(err.src, GS_E_SYS);
	free(path);
	free(tmpname);
}

static void
secret_is(const char *dir, const char *content, const char *want)
{
	struct gs_error	 err;
	char		*path, *out = NULL;

	assert_int_equal(util_write_atomic(dir, "token", content,
	    strlen(content), 0600, &err), 0);
	path = util_path_join(dir, "token");
	assert_int_equal(util_read_secret(path, &out, &err), 0);
	assert_string_equal(out, want);
	free(out);
	free(path);
}

static void
test_read_secret(void **state)
{
	struct tmp	*t = *state;

	secret_is(t->dir, "s3cret\n", "s3cret");
	secret_is(t->dir, "s3cret", "s3cret");
	/* one newline only */
	secret_is(t->dir, "s3cret\n\n", "s3cret\n");
	secret_is(t->dir, "s3cret\r\n", "s3cret");
	secret_is(t->dir, " spaced \n", " spaced ");
	secret_is(t->dir, "\n", "");
}

/* a fresh 0700 dir in TMPDIR each time; /tmp when TMPDIR is not absolute */
static void
test_private_tmpdir(void **state)
{
	struct tmp	*t = *state;
	struct gs_error	 err;
	struct stat	 st;
	char		*a, *b, *old, prefix[300];

	old = getenv("TMPDIR") != NULL ? xstrdup(getenv("TMPDIR")) : NULL;
	setenv("TMPDIR", t->dir, 1);
	assert_int_equal(util_private_tmpdir("pt", &a, &err), 0);
	assert_int_equal(util_private_tmpdir("pt", &b, &err), 0);
	assert_string_not_equal(a, b);
	snprintf(prefix, sizeof(prefix), "%s/pt.", t->dir);
	assert_int_equal(strncmp(a, prefix, strlen(prefix)), 0);
	assert_int_equal(lstat(a, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(rmdir(a), 0);
	assert_int_equal(rmdir(b), 0);
	free(a);
	free(b);
	setenv("TMPDIR", "relative", 1);
	assert_int_equal(util_private_tmpdir("gitstrap-test-pt", &a, &err), 0);
	assert_int_equal(strncmp(a, "/tmp/gitstrap-test-pt.", 22), 0);
	assert_int_equal(rmdir(a), 0);
	free(a);
	/* a TMPDIR that is not there: one error naming the path */
	setenv("TMPDIR", "/nonexistent-gitstrap", 1);
	assert_int_equal(util_private_tmpdir("pt", &a, &err), -1);
	assert_null(a);
	assert_non_null(strstr(err.msg, "mkdir /nonexistent-gitstrap/pt."));
	if (old != NULL)
		setenv("TMPDIR", old, 1);
	else
		unsetenv("TMPDIR");
	free(old);
}

static void
test_dirs(void **state)
{
	struct tmp	*t = *state;
	struct gs_error	 err;
	char		*deep, *top;

	xasprintf(&top, "%s/a", t->dir);
	xasprintf(&deep, "%s/a/b/c", t->dir);
	assert_int_equal(util_mkdir_p(deep, 0755, &err), 0);
	assert_true(util_is_dir(deep));
	/* again: already there is fine */
	assert_int_equal(util_mkdir_p(deep, 0755, &err), 0);
	assert_int_equal(util_write_atomic(deep, "f", "x", 1, 0644, &err), 0);
	assert_int_equal(util_rm_rf(top, &err), 0);
	assert_false(util_exists(top));
	/* nothing to remove is not an error */
	assert_int_equal(util_rm_rf(top, &err), 0);
	free(deep);
	free(top);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_percent),
		cmocka_unit_test(test_strtonum),
		cmocka_unit_test(test_hex_id),
		cmocka_unit_test(test_redact_url),
		cmocka_unit_test(test_url_userinfo),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_now_ms),
		cmocka_unit_test(test_path_helpers),
		cmocka_unit_test_setup_teardown(test_write_read, tmp_setup,
		    tmp_teardown),
		cmocka_unit_test_setup_teardown(test_read_secret, tmp_setup,
		    tmp_teardown),
		cmocka_unit_test_setup_teardown(test_dirs, tmp_setup,
		    tmp_teardown),
		cmocka_unit_test_setup_teardown(test_private_tmpdir, tmp_setup,
		    tmp_teardown),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
