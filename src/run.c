/*
 * run.c: child processes for recipe steps and hooks.
 *
 * A child gets exactly the argv and environment it is given, /dev/null on
 * stdin, and one pipe for both stdout and stderr, whose lines go to the log
 * (unless the caller names files for any of the three).
 * It runs in a session of its own, so a timeout can end the whole process
 * group: SIGTERM first, SIGKILL after a grace period. The parent always
 * reaps the child and turns its fate into a GS_E_CHILD error.
 *
 * Between fork and exec the child only makes async-signal-safe calls (the
 * parent may have threads from libcurl or libgit2): everything it needs,
 * including the list of paths to try for argv[0], is prepared beforehand.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gitstrap.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC	(1U << 2)
#endif

#define RUN_DEFAULT_PATH \
	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define RUN_GRACE_MS	5000		/* SIGTERM to SIGKILL */
#define RUN_TICK_MS	50		/* exit polling without a pidfd */
#define RUN_LINE_MAX	4096		/* longer output lines are cut */
#define RUN_FD_SCAN	65536		/* without close_range(2) */
#define RUN_READ_MAX	(64 * 1024)	/* per wakeup, so deadlines are seen */
#define RUN_DRAIN_MAX	(1024 * 1024)	/* output read after the exit */

/* what the child tells the parent when it cannot exec */
enum run_stage {
	RUN_STAGE_SETUP = 1,
	RUN_STAGE_CHDIR,
	RUN_STAGE_EXEC
};

struct run_report {
	int	stage;
	int	errnum;
};

/* output of one child, cut into lines */
struct run_out {
	const char	*ev;
	const char	*tag;
	char		 line[RUN_LINE_MAX + 1];
	size_t		 len;
	int		 dropping;	/* the rest of an over-long line */
};

static char *const	run_noenv[] = { NULL };

static void
run_out_emit(struct run_out *o)
{
	size_t	len = o->len;

	o->len = 0;
	if (len > 0 && o->line[len - 1] == '\r')
		len--;
	if (len == 0)
		return;
	o->line[len] = '\0';
	if (o->tag != NULL && *o->tag != '\0')
		log_info(o->ev, "%s out=\"%s\"", o->tag, o->line);
	else
		log_info(o->ev, "out=\"%s\"", o->line);
}

static void
run_out_feed(struct run_out *o, const char *buf, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			if (o->dropping)
				o->dropping = 0;
			else
				run_out_emit(o);
			continue;
		}
		if (o->dropping)
			continue;
		if (o->len == RUN_LINE_MAX) {
			run_out_emit(o);
			o->dropping = 1;
			continue;
		}
		o->line[o->len++] = buf[i];
	}
}

static void
run_out_flush(struct run_out *o)
{
	if (!o->dropping)
		run_out_emit(o);
	o->len = 0;
	o->dropping = 0;
}

/* "30s", "5m", "1500ms": how long a timeout was, for messages */
static void
run_fmt_ms(char *buf, size_t len, int64_t ms)
{
	if (ms >= 3600000 && ms % 3600000 == 0)
		snprintf(buf, len, "%lldh", (long long)(ms / 3600000));
	else if (ms >= 60000 && ms % 60000 == 0)
		snprintf(buf, len, "%lldm", (long long)(ms / 60000));
	else if (ms % 1000 == 0)
		snprintf(buf, len, "%llds", (long long)(ms / 1000));
	else
		snprintf(buf, len, "%lldms", (long long)ms);
}

/* move a descriptor above stderr, so dup2 onto 0..2 never aliases it */
static int
run_fd_high(int fd)
{
	int	nfd;

	if (fd < 0 || fd > STDERR_FILENO)
		return fd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
	close(fd);
	return nfd;
}

static const char *
run_env_path(char *const envp[])
{
	size_t	i;

	if (envp == NULL)
		return RUN_DEFAULT_PATH;
	for (i = 0; envp[i] != NULL; i++)
		if (strncmp(envp[i], "PATH=", 5) == 0)
			return envp[i] + 5;
	return RUN_DEFAULT_PATH;
}

/* the paths to try for prog, in order; NULL-terminated */
static char **
run_candidates(const char *prog, const char *path)
{
	char		**v;
	const char	 *p, *end;
	size_t		  n = 0, len;

	if (strchr(prog, '/') != NULL) {
		v = xcalloc(2, sizeof(*v));
		v[0] = xstrdup(prog);
		return v;
	}
	v = xcalloc(strlen(path) / 2 + 2, sizeof(*v));
	for (p = path; *p != '\0'; p = *end == ':' ? end + 1 : end) {
		if ((end = strchr(p, ':')) == NULL)
			end = p + strlen(p);
		len = end - p;
		/* an empty entry would mean the working directory: skip it */
		if (len == 0)
			continue;
		xasprintf(&v[n++], "%.*s/%s", (int)len, p, prog);
	}
	v[n] = NULL;
	return v;
}

static void
run_candidates_free(char **v)
{
	size_t	i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

static void
run_report(int fd, int stage, int errnum)
{
	struct run_report	rep;
	ssize_t			n;

	rep.stage = stage;
	rep.errnum = errnum;
	do
		n = write(fd, &rep, sizeof(rep));
	while (n == -1 && errno == EINTR);
	_exit(127);
}

/* in the child: async-signal-safe calls only */
static void
run_child(char **cands, char *const argv[], char *const envp[],
    const char *cwd, int infd, int outfd, int errfd, int repfd, int maxfd)
{
	struct sigaction	sa;
	sigset_t		set;
	int			sig, i, fd, e = ENOENT;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &sa, NULL);
	sigemptyset(&set);
	(void)sigprocmask(SIG_SETMASK, &set, NULL);
	(void)setsid();

	if (dup2(infd, STDIN_FILENO) == -1 ||
	    dup2(outfd, STDOUT_FILENO) == -1 ||
	    dup2(errfd, STDERR_FILENO) == -1)
		run_report(repfd, RUN_STAGE_SETUP, errno);
	/* nothing but 0, 1 and 2 may cross exec, whoever opened it */
#ifdef SYS_close_range
	if (syscall(SYS_close_range, STDERR_FILENO + 1, ~0U,
	    CLOSE_RANGE_CLOEXEC) == -1)
#endif
		for (fd = STDERR_FILENO + 1; fd < maxfd; fd++)
			(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	if (cwd != NULL && chdir(cwd) == -1)
		run_report(repfd, RUN_STAGE_CHDIR, errno);

	for (i = 0; cands[i] != NULL; i++) {
		execve(cands[i], argv, envp != NULL ? envp : run_noenv);
		/* as execvp: keep looking past missing and forbidden files */
		if (errno == EACCES)
			e = EACCES;
		else if (errno != ENOENT && errno != ENOTDIR) {
			e = errno;
			break;
		}
	}
	run_report(repfd, RUN_STAGE_EXEC, e);
}

/* signal the child's process group (or the child, before its setsid) */
static void
run_kill(pid_t pid, int sig)
{
	if (kill(-pid, sig) == -1 && errno == ESRCH)
		(void)kill(pid, sig);
}

static int
run_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	return -1;
#endif
}

static pid_t
run_waitpid(pid_t pid, int *status, int flags)
{
	pid_t	r;

	do
		r = waitpid(pid, status, flags);
	while (r == -1 && errno == EINTR);
	return r;
}

/* read what is there, up to max bytes: 0 at end of file, else -1 */
static int
run_read(int fd, struct run_out *o, size_t max)
{
	char	buf[4096];
	ssize_t	n;
	size_t	got = 0;

	while (got < max) {
		n = read(fd, buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return errno == EAGAIN ? -1 : 0;
		if (n == 0)
			return 0;
		run_out_feed(o, buf, n);
		got += n;
	}
	return -1;
}

int
run_argv(char *const argv[], const struct run_opts *opts,
    struct gs_error *err)
{
	static const struct run_opts	 noopts;
	struct run_out			*o = NULL;
	struct run_report		 rep;
	struct pollfd			 pfd[2];
	char				**cands = NULL;
	char				 dur[32];
	int				 nullfd = -1, pipefd[2] = { -1, -1 };
	int				 outfd = -1, errfd = -1;
	int				 repfd[2] = { -1, -1 }, pidfd = -1;
	int				 status = 0, exited = 0, timedout = 0;
	int				 killed = 0, nfds, wait_ms, ret = -1;
	int				 maxfd;
	long				 lmax;
	int64_t				 now, deadline = -1;
	ssize_t				 n;
	pid_t				 pid = -1;

	if (opts == NULL)
		opts = &noopts;
	if (argv == NULL || argv[0] == NULL || *argv[0] == '\0')
		return gs_error_set(err, GS_E_CHILD, 127,
		    "cannot run an empty command");

	cands = run_candidates(argv[0], run_env_path(opts->envp));
	o = xcalloc(1, sizeof(*o));
	o->ev = opts->logev != NULL ? opts->logev : "run.out";
	o->tag = opts->logtag;

	if ((nullfd = run_fd_high(open(opts->stdin_file != NULL ?
	    opts->stdin_file : "/dev/null", O_RDONLY | O_CLOEXEC))) == -1) {
		gs_error_sys(err, "%s", opts->stdin_file != NULL ?
		    opts->stdin_file : "/dev/null");
		goto out;
	}
	if (opts->stdout_file != NULL && (outfd = run_fd_high(
	    open(opts->stdout_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600))) == -1) {
		gs_error_sys(err, "%s", opts->stdout_file);
		goto out;
	}
	if (opts->stderr_file != NULL && (errfd = run_fd_high(
	    open(opts->stderr_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600))) == -1) {
		gs_error_sys(err, "%s", opts->stderr_file);
		goto out;
	}
	if (pipe2(pipefd, O_CLOEXEC) == -1 || pipe2(repfd, O_CLOEXEC) == -1) {
		gs_error_sys(err, "pipe");
		goto out;
	}
	pipefd[0] = run_fd_high(pipefd[0]);
	pipefd[1] = run_fd_high(pipefd[1]);
	repfd[0] = run_fd_high(repfd[0]);
	repfd[1] = run_fd_high(repfd[1]);
	if (pipefd[0] == -1 || pipefd[1] == -1 || repfd[0] == -1 ||
	    repfd[1] == -1 || fcntl(pipefd[0], F_SETFL, O_NONBLOCK) == -1) {
		gs_error_sys(err, "fcntl");
		goto out;
	}

	if ((lmax = sysconf(_SC_OPEN_MAX)) <= 0 || lmax > RUN_FD_SCAN)
		lmax = RUN_FD_SCAN;
	maxfd = (int)lmax;
	if ((pid = fork()) == -1) {
		gs_error_sys(err, "fork");
		goto out;
	}
	if (pid == 0)
		run_child(cands, argv, opts->envp, opts->cwd, nullfd,
		    outfd != -1 ? outfd : pipefd[1],
		    errfd != -1 ? errfd : pipefd[1], repfd[1], maxfd);

	close(pipefd[1]);
	close(repfd[1]);
	close(nullfd);
	pipefd[1] = repfd[1] = nullfd = -1;
	if (outfd != -1)
		close(outfd);
	if (errfd != -1)
		close(errfd);
	outfd = errfd = -1;
	pidfd = run_pidfd(pid);

	if (opts->timeout_ms > 0)
		deadline = util_now_ms() + opts->timeout_ms;
	while (!exited) {
		nfds = 0;
		if (pipefd[0] != -1) {
			pfd[nfds].fd = pipefd[0];
			pfd[nfds++].events = POLLIN;
		}
		if (pidfd != -1) {
			pfd[nfds].fd = pidfd;
			pfd[nfds++].events = POLLIN;
		}
		pfd[0].revents = pfd[1].revents = 0;
		wait_ms = -1;
		if (deadline != -1) {
			now = util_now_ms();
			wait_ms = deadline > now ? (int)(deadline - now) : 0;
		}
		if (pidfd == -1 && (wait_ms == -1 || wait_ms > RUN_TICK_MS))
			wait_ms = RUN_TICK_MS;

		if (poll(pfd, nfds, wait_ms) == -1 && errno != EINTR) {
			gs_error_sys(err, "poll");
			run_kill(pid, SIGKILL);
			(void)run_waitpid(pid, &status, 0);
			goto out;
		}
		if (pipefd[0] != -1 && pfd[0].revents != 0 &&
		    run_read(pipefd[0], o, RUN_READ_MAX) == 0) {
			close(pipefd[0]);
			pipefd[0] = -1;
		}
		if (run_waitpid(pid, &status, WNOHANG) == pid) {
			exited = 1;
			break;
		}
		if (deadline == -1 || util_now_ms() < deadline)
			continue;
		if (!timedout) {
			timedout = 1;
			run_fmt_ms(dur, sizeof(dur), opts->timeout_ms);
			log_warnx("run.timeout", "%s%stimeout=%s signal=TERM",
			    o->tag != NULL ? o->tag : "",
			    o->tag != NULL && *o->tag != '\0' ? " " : "", dur);
			run_kill(pid, SIGTERM);
			deadline = util_now_ms() + RUN_GRACE_MS;
		} else if (!killed) {
			killed = 1;
			run_kill(pid, SIGKILL);
			deadline = -1;
		}
	}
	/*
	 * Nothing of a timed-out step may linger in its process group. The
	 * child is reaped: signal the group only, never the pid itself.
	 */
	if (timedout)
		(void)kill(-pid, SIGKILL);

	/*
	 * Take what output is already there, but do not wait for the end of
	 * file: a daemon the child started may hold the pipe open for ever.
	 */
	if (pipefd[0] != -1)
		(void)run_read(pipefd[0], o, RUN_DRAIN_MAX);
	run_out_flush(o);

	do
		n = read(repfd[0], &rep, sizeof(rep));
	while (n == -1 && errno == EINTR);
	if (n == (ssize_t)sizeof(rep)) {
		switch (rep.stage) {
		case RUN_STAGE_CHDIR:
			gs_error_set(err, GS_E_CHILD, 127,
			    "cannot change directory to \"%s\": %s", opts->cwd,
			    strerror(rep.errnum));
			break;
		case RUN_STAGE_EXEC:
			gs_error_set(err, GS_E_CHILD, 127,
			    "cannot run \"%s\": %s", argv[0],
			    strerror(rep.errnum));
			break;
		default:
			gs_error_set(err, GS_E_CHILD, 127,
			    "cannot start \"%s\": %s", argv[0],
			    strerror(rep.errnum));
			break;
		}
		goto out;
	}

	if (timedout) {
		run_fmt_ms(dur, sizeof(dur), opts->timeout_ms);
		gs_error_set(err, GS_E_CHILD, WIFSIGNALED(status) ?
		    128 + WTERMSIG(status) : WEXITSTATUS(status),
		    "timed out after %s", dur);
		goto out;
	}
	if (WIFSIGNALED(status)) {
		gs_error_set(err, GS_E_CHILD, 128 + WTERMSIG(status),
		    "killed by signal %d", WTERMSIG(status));
		goto out;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
		gs_error_set(err, GS_E_CHILD, WEXITSTATUS(status),
		    "exit status %d", WEXITSTATUS(status));
		goto out;
	}
	ret = 0;
out:
	if (pidfd != -1)
		close(pidfd);
	if (pipefd[0] != -1)
		close(pipefd[0]);
	if (pipefd[1] != -1)
		close(pipefd[1]);
	if (repfd[0] != -1)
		close(repfd[0]);
	if (repfd[1] != -1)
		close(repfd[1]);
	if (nullfd != -1)
		close(nullfd);
	if (outfd != -1)
		close(outfd);
	if (errfd != -1)
		close(errfd);
	run_candidates_free(cands);
	free(o);
	return ret;
}

int
run_shell(const char *cmd, const struct run_opts *opts,
    struct gs_error *err)
{
	char	*argv[4];

	argv[0] = (char *)"/bin/sh";
	argv[1] = (char *)"-c";
	argv[2] = (char *)cmd;
	argv[3] = NULL;
	return run_argv(argv, opts, err);
}

static int
run_is_exec(const char *path)
{
	struct stat	st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    access(path, X_OK) == 0;
}

int
run_have(const char *prog)
{
	char	**cands;
	size_t	  i;
	int	  found = 0;
	const char *path;

	if (prog == NULL || *prog == '\0')
		return 0;
	if ((path = getenv("PATH")) == NULL || *path == '\0')
		path = RUN_DEFAULT_PATH;
	cands = run_candidates(prog, path);
	for (i = 0; cands[i] != NULL && !found; i++)
		found = run_is_exec(cands[i]);
	run_candidates_free(cands);
	return found;
}

void
run_env_set(struct run_env *env, const char *name, const char *val)
{
	size_t	 i, len = strlen(name);
	char	*s;

	xasprintf(&s, "%s=%s", name, val != NULL ? val : "");
	for (i = 0; i < env->n; i++) {
		if (strncmp(env->v[i], name, len) == 0 &&
		    env->v[i][len] == '=') {
			free(env->v[i]);
			env->v[i] = s;
			return;
		}
	}
	/* always NULL-terminated, so v can be passed as envp */
	env->v = xreallocarray(env->v, env->n + 2, sizeof(*env->v));
	env->v[env->n++] = s;
	env->v[env->n] = NULL;
}

void
run_env_base(struct run_env *env)
{
	struct passwd	*pw;
	const char	*home = NULL;

	if ((pw = getpwuid(geteuid())) != NULL && pw->pw_dir != NULL &&
	    *pw->pw_dir == '/')
		home = pw->pw_dir;
	if (home == NULL)
		home = geteuid() == 0 ? "/root" : "/";
	run_env_set(env, "PATH", RUN_DEFAULT_PATH);
	run_env_set(env, "HOME", home);
	run_env_set(env, "LANG", "C.UTF-8");
	run_env_set(env, "TERM", "dumb");
}

void
run_env_free(struct run_env *env)
{
	if (env == NULL)
		return;
	util_strv_free(env->v, env->n);
	env->v = NULL;
	env->n = 0;
}
