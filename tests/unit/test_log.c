/*
 * test_log.c: one record per line, in both formats; quoting and escaping;
 * secrets and URL userinfo scrubbed; levels.
 */
#include "config.h"

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

/* run fn with stderr sent to a temp file; return what it wrote */
static char *
capture(void (*fn)(void))
{
	char	 path[] = "/tmp/test_log.XXXXXX", *out = NULL;
	int	 fd, saved;
	size_t	 len;

	fd = mkstemp(path);
	assert_true(fd != -1);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	fn();
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fd);
	assert_int_equal(util_read_file(path, 1 << 20, &out, &len, NULL), 0);
	unlink(path);
	return out;
}

/* drop the "ts=... " prefix */
static const char *
after_ts(const char *line)
{
	const char	*p = strchr(line, ' ');

	assert_non_null(p);
	return p + 1;
}

static void
emit_text(void)
{
	log_set(LOG_LEVEL_INFO, LOG_FORMAT_TEXT);
	log_info("sync.updated", "repo=%s from=%.4s to=%.4s", "data", "1a2b3c",
	    "3c4d5e");
	log_warnx("sync.failed", "err=\"%s\"", "bad \"thing\"\nsecond line");
	log_debug("hidden", "x=1");
}

static void
test_text(void **state)
{
	char	*out, *nl;

	(void)state;
	out = capture(emit_text);
	nl = strchr(out, '\n');
	assert_non_null(nl);
	*nl = '\0';
	assert_true(strncmp(out, "ts=", 3) == 0);
	assert_string_equal(after_ts(out),
	    "level=info ev=sync.updated repo=data from=1a2b to=3c4d");
	assert_string_equal(after_ts(nl + 1), "level=warn ev=sync.failed "
	    "err=\"bad \\\"thing\\\"\\nsecond line\"\n");
	free(out);
}

static void
emit_json(void)
{
	log_set(LOG_LEVEL_INFO, LOG_FORMAT_JSON);
	log_info("publish", "release=%s err=\"%s\"", "r1", "a \"q\" b");
	log_set(LOG_LEVEL_INFO, LOG_FORMAT_TEXT);
}

static void
test_json(void **state)
{
	char		*out;
	const char	*p;

	(void)state;
	out = capture(emit_json);
	assert_true(strncmp(out, "{\"ts\":\"", 7) == 0);
	p = strstr(out, "\"level\"");
	assert_non_null(p);
	assert_string_equal(p, "\"level\":\"info\",\"ev\":\"publish\","
	    "\"release\":\"r1\",\"err\":\"a \\\"q\\\" b\"}\n");
	free(out);
}

static void
emit_secret(void)
{
	log_set(LOG_LEVEL_INFO, LOG_FORMAT_TEXT);
	log_add_secret("hunter2-token");
	log_info("x", "msg=\"token is hunter2-token\" url=%s",
	    "https://deploy:other-secret@example.com/r.git");
}

static void
test_redaction(void **state)
{
	char	*out;

	(void)state;
	out = capture(emit_secret);
	assert_null(strstr(out, "hunter2-token"));
	assert_null(strstr(out, "other-secret"));
	assert_null(strstr(out, "deploy"));
	assert_non_null(strstr(out, "msg=\"token is ***\""));
	assert_non_null(strstr(out, "url=https://example.com/r.git"));
	free(out);
}

/*
 * The list is bounded (a new IMDS token at each reload): a secret that is
 * registered again on every cycle, as credentials are, is never the one
 * dropped, however many others come and go.
 */
static void
emit_many_secrets(void)
{
	char	tok[32];
	int	i;

	log_set(LOG_LEVEL_INFO, LOG_FORMAT_TEXT);
	for (i = 0; i < 100; i++) {
		log_add_secret("repo-password-1");
		snprintf(tok, sizeof(tok), "imds-token-%03d", i);
		log_add_secret(tok);
		log_info("x", "a=repo-password-1 b=%s", tok);
	}
	log_info("x", "c=imds-token-000");
}

static void
test_redaction_bounded(void **state)
{
	char	*out;

	(void)state;
	out = capture(emit_many_secrets);
	assert_null(strstr(out, "repo-password-1"));
	assert_null(strstr(out, "b=imds-token"));
	/* the oldest token is gone from the list: the bound is real */
	assert_non_null(strstr(out, "c=imds-token-000"));
	assert_non_null(strstr(out, "a=*** b=***"));
	free(out);
}

static void
test_parse(void **state)
{
	enum log_level	 l;
	enum log_format	 f;

	(void)state;
	assert_int_equal(log_level_parse("debug", &l), 0);
	assert_int_equal(l, LOG_LEVEL_DEBUG);
	assert_int_equal(log_level_parse("verbose", &l), -1);
	assert_int_equal(log_format_parse("json", &f), 0);
	assert_int_equal(f, LOG_FORMAT_JSON);
	assert_int_equal(log_format_parse("xml", &f), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_redaction),
		cmocka_unit_test(test_redaction_bounded),
		cmocka_unit_test(test_parse),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
