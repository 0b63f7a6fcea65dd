/*
 * test_run.c: child processes, with real children.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "gitstrap.h"

static char	tmpdir[512];

/* the environment most tests give their children */
static char *const base_env[] = {
	"PATH=/usr/local/bin:/usr/bin:/bin",
	"LANG=C",
	NULL
};

/* stderr (where the log goes) captured into a file around a call */
struct capture {
	int	saved;
	char	path[PATH_MAX];
};

static void
capture_start(struct capture *c)
{
	int	fd;

	snprintf(c->path, sizeof(c->path), "%s/stderr.XXXXXX", tmpdir);
	fd = mkstemp(c->path);
	assert_true(fd != -1);
	fflush(stderr);
	c->saved = dup(STDERR_FILENO);
	assert_true(c->saved != -1);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
}

/* the captured text; the caller frees it */
static char *
capture_end(struct capture *c)
{
	struct gs_error	 err;
	char		*buf;

	fflush(stderr);
	assert_int_equal(dup2(c->saved, STDERR_FILENO), STDERR_FILENO);
	close(c->saved);
	if (util_read_file(c->path, 16 << 20, &buf, NULL, &err) == -1)
		fail_msg("%s", err.msg);
	unlink(c->path);
	return buf;
}

static int
count_lines(const char *s, const char *needle)
{
	int	n = 0;

	while ((s = strstr(s, needle)) != NULL) {
		n++;
		s++;
	}
	return n;
}

static int
setup(void **state)
{
	const char	*t = getenv("TMPDIR");

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_run.XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	struct gs_error	err;

	(void)state;
	return util_rm_rf(tmpdir, &err);
}

static void
test_exit_zero(void **state)
{
	struct run_opts	 o = { .envp = base_env };
	struct gs_error	 err;
	char		*argv[] = { "true", NULL };

	(void)state;
	assert_int_equal(run_argv(argv, &o, &err), 0);
	assert_int_equal(run_shell("exit 0", &o, &err), 0);
	/* no options at all: an empty environment, the default PATH */
	assert_int_equal(run_argv(argv, NULL, &err), 0);
}

static void
test_exit_status(void **state)
{
	struct run_opts	o = { .envp = base_env };
	struct gs_error	err;

	(void)state;
	assert_int_equal(run_shell("exit 3", &o, &err), -1);
	assert_int_equal(err.src, GS_E_CHILD);
	assert_int_equal(err.code, 3);
	assert_string_equal(err.msg, "exit status 3");
}

static void
test_signal(void **state)
{
	struct run_opts	o = { .envp = base_env };
	struct gs_error	err;

	(void)state;
	assert_int_equal(run_shell("kill -9 $$", &o, &err), -1);
	assert_int_equal(err.src, GS_E_CHILD);
	assert_int_equal(err.code, 128 + 9);
	assert_string_equal(err.msg, "killed by signal 9");
}

static void
test_timeout(void **state)
{
	struct run_opts	 o = { .envp = base_env, .timeout_ms = 300 };
	struct gs_error	 err;
	char		*argv[] = { "sleep", "5", NULL };
	int64_t		 t0, ms;

	(void)state;
	t0 = util_now_ms();
	assert_int_equal(run_argv(argv, &o, &err), -1);
	ms = util_now_ms() - t0;
	assert_true(ms < 4000);
	assert_int_equal(err.src, GS_E_CHILD);
	assert_int_equal(err.code, 128 + SIGTERM);
	assert_string_equal(err.msg, "timed out after 300ms");
}

static void
test_timeout_whole_group(void **state)
{
	struct run_opts	 o = { .envp = base_env, .timeout_ms = 1000 };
	struct gs_error	 err;
	char		 cmd[PATH_MAX * 2], pidfile[PATH_MAX], *buf;
	long		 pid;
	int64_t		 t0;

	(void)state;
	/* a grandchild in the background must be ended with its parent */
	snprintf(pidfile, sizeof(pidfile), "%s/grandchild.pid", tmpdir);
	snprintf(cmd, sizeof(cmd), "sleep 30 & echo $! > %s; wait", pidfile);
	t0 = util_now_ms();
	assert_int_equal(run_shell(cmd, &o, &err), -1);
	assert_true(util_now_ms() - t0 < 4000);
	assert_string_equal(err.msg, "timed out after 1s");
	if (util_read_file(pidfile, 64, &buf, NULL, &err) == -1)
		fail_msg("%s", err.msg);
	pid = strtol(buf, NULL, 10);
	free(buf);
	assert_true(pid > 1);
	/* gone, or at most a zombie waiting for init: never still running */
	t0 = util_now_ms();
	while (kill((pid_t)pid, 0) == 0 && util_now_ms() - t0 < 3000) {
		char	 statpath[64], *st;
		char	*p;

		snprintf(statpath, sizeof(statpath), "/proc/%ld/stat", pid);
		if (util_read_file(statpath, 4096, &st, NULL, &err) == -1)
			break;
		p = strrchr(st, ')');
		if (p != NULL && p[1] == ' ' && p[2] == 'Z') {
			free(st);
			break;
		}
		free(st);
		usleep(20000);
	}
	assert_true(util_now_ms() - t0 < 3000);
}

static void
test_timeout_term_ignored(void **state)
{
	struct run_opts	 o = { .envp = base_env, .timeout_ms = 200 };
	struct gs_error	 err;
	int64_t		 t0, ms;

	(void)state;
	/* SIGTERM is ignored: SIGKILL follows after the grace period */
	t0 = util_now_ms();
	assert_int_equal(run_shell("trap '' TERM; sleep 30", &o, &err), -1);
	ms = util_now_ms() - t0;
	assert_true(ms >= 5000);
	assert_true(ms < 15000);
	assert_int_equal(err.code, 128 + SIGKILL);
	assert_string_equal(err.msg, "timed out after 200ms");
}

static void
test_output_logged(void **state)
{
	struct run_opts	 o = { .envp = base_env, .logev = "test.out",
			    .logtag = "step=7" };
	struct capture	 c;
	struct gs_error	 err;
	char		*out;
	int		 rc;

	(void)state;
	capture_start(&c);
	rc = run_shell("echo hello; echo 'say \"hi\"' >&2; printf 'no newline'",
	    &o, &err);
	out = capture_end(&c);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "ev=test.out step=7 out=hello\n"));
	assert_non_null(strstr(out,
	    "ev=test.out step=7 out=\"say \\\"hi\\\"\"\n"));
	assert_non_null(strstr(out, "ev=test.out step=7 out=\"no newline\"\n"));
	assert_int_equal(count_lines(out, "ev=test.out"), 3);
	free(out);
}

static void
test_long_line_capped(void **state)
{
	struct run_opts	 o = { .envp = base_env, .logev = "test.out",
			    .logtag = "step=1" };
	struct capture	 c;
	struct gs_error	 err;
	char		*out, *p, *e;
	int		 rc;

	(void)state;
	capture_start(&c);
	rc = run_shell("i=0; while [ $i -lt 1000 ]; do printf xxxxxxxxxx; "
	    "i=$((i + 1)); done; echo; echo after", &o, &err);
	out = capture_end(&c);
	assert_int_equal(rc, 0);
	assert_int_equal(count_lines(out, "ev=test.out"), 2);
	p = strstr(out, "out=x");
	assert_non_null(p);
	p += strlen("out=");
	e = strchr(p, '\n');
	assert_non_null(e);
	assert_int_equal(e - p, 4096);
	assert_non_null(strstr(out, "ev=test.out step=1 out=after\n"));
	free(out);
}

static void
test_env_exact(void **state)
{
	struct run_opts	 o = { .logev = "test.out" };
	struct capture	 c;
	struct gs_error	 err;
	char		*env[] = { "FOO=bar baz", "PATH=/usr/bin:/bin", NULL };
	char		*argv[] = { "env", NULL };
	char		*out;
	int		 rc;

	(void)state;
	setenv("GITSTRAP_TEST_SECRET", "hunter2", 1);
	o.envp = env;
	capture_start(&c);
	rc = run_argv(argv, &o, &err);
	out = capture_end(&c);
	unsetenv("GITSTRAP_TEST_SECRET");
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "out=\"FOO=bar baz\"\n"));
	assert_non_null(strstr(out, "out=\"PATH=/usr/bin:/bin\"\n"));
	assert_int_equal(count_lines(out, "ev=test.out"), 2);
	assert_null(strstr(out, "hunter2"));
	free(out);

	/* envp NULL: nothing at all */
	o.envp = NULL;
	capture_start(&c);
	rc = run_shell("echo \"[$FOO][$HOME]\"", &o, &err);
	out = capture_end(&c);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "out=[][]\n"));
	free(out);
}

static void
test_exec_failure(void **state)
{
	struct run_opts	 o = { .envp = base_env };
	struct gs_error	 err;
	char		*argv[] = { "nosuchprog", NULL };
	char		*argv2[] = { "/nonexistent/bin/tool", NULL };
	char		*argv3[2];
	char		 path[PATH_MAX];
	int		 fd;

	(void)state;
	assert_int_equal(run_argv(argv, &o, &err), -1);
	assert_int_equal(err.src, GS_E_CHILD);
	assert_int_equal(err.code, 127);
	assert_string_equal(err.msg,
	    "cannot run \"nosuchprog\": No such file or directory");

	assert_int_equal(run_argv(argv2, &o, &err), -1);
	assert_string_equal(err.msg,
	    "cannot run \"/nonexistent/bin/tool\": No such file or directory");

	/* a file that is not executable */
	snprintf(path, sizeof(path), "%s/noexec", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd != -1);
	assert_int_equal(write(fd, "#!/bin/sh\n", 10), 10);
	close(fd);
	argv3[0] = path;
	argv3[1] = NULL;
	assert_int_equal(run_argv(argv3, &o, &err), -1);
	assert_non_null(strstr(err.msg, "\": Permission denied"));
	unlink(path);

	argv3[0] = "";
	assert_int_equal(run_argv(argv3, &o, &err), -1);
	assert_string_equal(err.msg, "cannot run an empty command");
}

static void
test_path_from_envp(void **state)
{
	struct run_opts	 o = { .logev = "test.out" };
	struct capture	 c;
	struct gs_error	 err;
	char		 path[PATH_MAX], penv[PATH_MAX + 8], *out;
	char		*env[2], *argv[] = { "gitstrap-test-tool", NULL };
	int		 fd, rc;

	(void)state;
	snprintf(path, sizeof(path), "%s/gitstrap-test-tool", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	assert_true(fd != -1);
	dprintf(fd, "#!/bin/sh\necho tool ran\n");
	close(fd);
	snprintf(penv, sizeof(penv), "PATH=/nonexistent:%s", tmpdir);
	env[0] = penv;
	env[1] = NULL;
	o.envp = env;
	capture_start(&c);
	rc = run_argv(argv, &o, &err);
	out = capture_end(&c);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "out=\"tool ran\"\n"));
	free(out);

	/* not in the default PATH the child gets without one */
	o.envp = NULL;
	assert_int_equal(run_argv(argv, &o, &err), -1);
	assert_string_equal(err.msg,
	    "cannot run \"gitstrap-test-tool\": No such file or directory");
	unlink(path);
}

static void
test_cwd(void **state)
{
	struct run_opts	 o = { .envp = base_env, .logev = "test.out" };
	struct capture	 c;
	struct gs_error	 err;
	char		*argv[] = { "pwd", "-P", NULL };
	char		 want[PATH_MAX + 16], real[PATH_MAX], *out;
	int		 rc;

	(void)state;
	assert_non_null(realpath(tmpdir, real));
	o.cwd = tmpdir;
	capture_start(&c);
	rc = run_argv(argv, &o, &err);
	out = capture_end(&c);
	assert_int_equal(rc, 0);
	snprintf(want, sizeof(want), "out=%s\n", real);
	assert_non_null(strstr(out, want));
	free(out);

	o.cwd = "/nonexistent/dir";
	assert_int_equal(run_argv(argv, &o, &err), -1);
	assert_int_equal(err.code, 127);
	assert_string_equal(err.msg, "cannot change directory to "
	    "\"/nonexistent/dir\": No such file or directory");
}

static void
test_stdin_devnull(void **state)
{
	struct run_opts	 o = { .envp = base_env, .logev = "test.out" };
	struct capture	 c;
	struct gs_error	 err;
	char		*out;
	int		 rc;

	(void)state;
	capture_start(&c);
	rc = run_shell("if read line; then echo got; else echo eof; fi", &o,
	    &err);
	out = capture_end(&c);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "out=eof\n"));
	free(out);
}

/* stdin from a file, stdout and stderr each to a file of its own */
static void
test_files(void **state)
{
	struct run_opts	 o = { .envp = base_env, .logev = "test.out" };
	struct capture	 c;
	struct gs_error	 err;
	char		 in[PATH_MAX], outf[PATH_MAX], errf[PATH_MAX];
	char		*out, *buf;
	int		 rc;

	(void)state;
	snprintf(in, sizeof(in), "%s/in", tmpdir);
	snprintf(outf, sizeof(outf), "%s/out", tmpdir);
	snprintf(errf, sizeof(errf), "%s/err", tmpdir);
	assert_int_equal(util_write_atomic(tmpdir, "in", "one\ntwo\n", 8,
	    0600, &err), 0);
	/* an old stdout file is truncated, not appended to */
	assert_int_equal(util_write_atomic(tmpdir, "out", "old content\n",
	    12, 0600, &err), 0);
	o.stdin_file = in;
	o.stdout_file = outf;
	o.stderr_file = errf;
	capture_start(&c);
	rc = run_shell("tr a-z A-Z; echo problem >&2; exit 3", &o, &err);
	out = capture_end(&c);
	assert_int_equal(rc, -1);
	assert_int_equal(err.code, 3);
	assert_string_equal(err.msg, "exit status 3");
	/* nothing of it went to the log */
	assert_null(strstr(out, "test.out"));
	free(out);
	assert_int_equal(util_read_file(outf, 1024, &buf, NULL, &err), 0);
	assert_string_equal(buf, "ONE\nTWO\n");
	free(buf);
	assert_int_equal(util_read_file(errf, 1024, &buf, NULL, &err), 0);
	assert_string_equal(buf, "problem\n");
	free(buf);

	/* only stdout to a file: stderr is still logged */
	o.stdin_file = NULL;
	o.stderr_file = NULL;
	capture_start(&c);
	rc = run_shell("echo to-file; echo to-log >&2", &o, &err);
	out = capture_end(&c);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "out=to-log\n"));
	assert_null(strstr(out, "to-file"));
	free(out);

	o.stdin_file = "/nonexistent/in";
	assert_int_equal(run_shell("true", &o, &err), -1);
	assert_string_equal(err.msg, "/nonexistent/in: No such file or "
	    "directory");
}

static void
test_signals_reset(void **state)
{
	struct run_opts	 o = { .envp = base_env };
	struct gs_error	 err;
	sigset_t	 set, old;
	int		 rc1, rc2;

	(void)state;
	/* as gitstrap's main does: TERM blocked, SIGPIPE ignored */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, &old);
	signal(SIGPIPE, SIG_IGN);
	rc1 = run_shell("kill -TERM $$; sleep 2; exit 0", &o, &err);
	assert_int_equal(rc1, -1);
	assert_string_equal(err.msg, "killed by signal 15");
	rc2 = run_shell("kill -PIPE $$; sleep 2; exit 0", &o, &err);
	signal(SIGPIPE, SIG_DFL);
	sigprocmask(SIG_SETMASK, &old, NULL);
	assert_int_equal(rc2, -1);
	assert_string_equal(err.msg, "killed by signal 13");
}

static void
test_daemon_holds_pipe(void **state)
{
	struct run_opts	 o = { .envp = base_env, .timeout_ms = 20000 };
	struct gs_error	 err;
	int64_t		 t0;

	(void)state;
	/* a daemon keeping our pipe open must not keep us waiting */
	t0 = util_now_ms();
	assert_int_equal(run_shell("sleep 3 & echo started", &o, &err), 0);
	assert_true(util_now_ms() - t0 < 2500);
}

static void
test_only_std_fds(void **state)
{
	struct run_opts	 o = { .envp = base_env, .logev = "test.out" };
	struct capture	 c;
	struct gs_error	 err;
	char		*out;
	int		 fd, rc;

	(void)state;
	/* a descriptor opened without O_CLOEXEC still does not leak */
	fd = open("/dev/null", O_RDONLY);
	assert_true(fd > 2);
	capture_start(&c);
	rc = run_shell("ls /proc/self/fd | wc -l", &o, &err);
	out = capture_end(&c);
	close(fd);
	assert_int_equal(rc, 0);
	/* 0, 1, 2, and the one ls opens to read the directory */
	assert_non_null(strstr(out, "out=4\n"));
	free(out);
}

static void
test_have(void **state)
{
	(void)state;
	assert_true(run_have("sh"));
	assert_true(run_have("/bin/sh"));
	assert_false(run_have("gitstrap-no-such-program"));
	assert_false(run_have("/nonexistent/sh"));
	assert_false(run_have("/etc"));
	assert_false(run_have(""));
}

static void
test_env_build(void **state)
{
	struct run_env	e = { NULL, 0 };
	size_t		i;
	int		path = 0, home = 0, lang = 0;

	(void)state;
	run_env_base(&e);
	for (i = 0; i < e.n; i++) {
		if (strcmp(e.v[i], "PATH=/usr/local/sbin:/usr/local/bin:"
		    "/usr/sbin:/usr/bin:/sbin:/bin") == 0)
			path++;
		if (strncmp(e.v[i], "HOME=/", 6) == 0)
			home++;
		if (strcmp(e.v[i], "LANG=C.UTF-8") == 0)
			lang++;
	}
	assert_int_equal(path, 1);
	assert_int_equal(home, 1);
	assert_int_equal(lang, 1);
	assert_null(e.v[e.n]);

	i = e.n;
	run_env_set(&e, "FOO", "1");
	run_env_set(&e, "FOO", "2");
	run_env_set(&e, "FO", "3");
	assert_int_equal(e.n, i + 2);
	assert_string_equal(e.v[i], "FOO=2");
	assert_string_equal(e.v[i + 1], "FO=3");
	assert_null(e.v[e.n]);
	run_env_free(&e);
	assert_int_equal(e.n, 0);
	assert_null(e.v);
	run_env_free(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_zero),
		cmocka_unit_test(test_exit_status),
		cmocka_unit_test(test_signal),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_timeout_whole_group),
		cmocka_unit_test(test_timeout_term_ignored),
		cmocka_unit_test(test_output_logged),
		cmocka_unit_test(test_long_line_capped),
		cmocka_unit_test(test_env_exact),
		cmocka_unit_test(test_exec_failure),
		cmocka_unit_test(test_path_from_envp),
		cmocka_unit_test(test_cwd),
		cmocka_unit_test(test_stdin_devnull),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_signals_reset),
		cmocka_unit_test(test_daemon_holds_pipe),
		cmocka_unit_test(test_only_std_fds),
		cmocka_unit_test(test_have),
		cmocka_unit_test(test_env_build),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, setup, teardown);
}
