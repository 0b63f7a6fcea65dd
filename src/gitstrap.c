/*
 * gitstrap.c: main(), subcommands and exit codes.
 *
 * Exit codes: 0 success; 1 runtime failure; 2 usage or invalid config.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gitstrap.h"

#define EXIT_RUNTIME	1
#define EXIT_USAGE	2

static const char *gitstrap_default_config = GS_SYSCONFDIR "/gitstrap/gitstrap.yml";

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: gitstrap run      [--once] [SOURCE] [--state-dir DIR]\n"
	    "       gitstrap sync     [SOURCE] [--state-dir DIR]\n"
	    "       gitstrap check    [SOURCE]\n"
	    "       gitstrap status   [--json] [-c FILE] [--state-dir DIR]\n"
	    "       gitstrap rollback [--to RELEASE] [-c FILE] [--state-dir DIR]\n"
	    "       gitstrap version\n"
	    "SOURCE: -c FILE | --user-data FILE | --nocloud[=DIR] |\n"
	    "        --imds[=BASE_URL] [--imds-timeout DURATION]\n");
}

struct gitstrap_args {
	const char	*config;
	struct userdata_source src;	/* where the config comes from */
	const char	*state_dir;
	const char	*to;
	int		 once;
	int		 json;
};

/* parse the options every subcommand shares; 0, or an exit status */
static int
gitstrap_args(int argc, char **argv, struct gitstrap_args *a)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "once", no_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ "to", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "user-data", required_argument, NULL, 'U' },
		{ "nocloud", optional_argument, NULL, 'N' },
		{ "imds", optional_argument, NULL, 'I' },
		{ "imds-timeout", required_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*timeout = NULL, *why, *env;
	int		 ch, nsrc = 0;

	memset(a, 0, sizeof(*a));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			a->config = optarg;
			a->src.kind = USERDATA_SRC_CONFIG;
			nsrc++;
			break;
		case 'U':
			a->src.kind = USERDATA_SRC_FILE;
			a->src.path = optarg;
			nsrc++;
			break;
		case 'N':
			a->src.kind = USERDATA_SRC_NOCLOUD;
			a->src.path = optarg;
			nsrc++;
			break;
		case 'I':
			a->src.kind = USERDATA_SRC_IMDS;
			a->src.path = optarg;
			nsrc++;
			break;
		case 'T':
			timeout = optarg;
			break;
		case 's':
			a->state_dir = optarg;
			break;
		case 'o':
			a->once = 1;
			break;
		case 'j':
			a->json = 1;
			break;
		case 't':
			a->to = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "gitstrap %s: unexpected argument \"%s\"\n",
		    argv[0], argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (nsrc > 1) {
		fprintf(stderr, "gitstrap %s: give one of -c, --user-data, "
		    "--nocloud and --imds\n", argv[0]);
		return EXIT_USAGE;
	}
	if (a->config == NULL && (a->config = getenv("GITSTRAP_CONFIG")) ==
	    NULL)
		a->config = gitstrap_default_config;
	if (nsrc == 0 || a->src.kind == USERDATA_SRC_CONFIG)
		a->src.path = a->config;
	if (a->src.kind == USERDATA_SRC_IMDS) {
		if (a->src.path == NULL &&
		    ((env = getenv("GITSTRAP_METADATA_URL")) == NULL ||
		    *(a->src.path = env) == '\0'))
			a->src.path = USERDATA_IMDS_URL;
		env = getenv("GITSTRAP_IMDS_TIMEOUT");
		if (timeout == NULL && env != NULL && *env != '\0')
			timeout = env;
	}
	a->src.timeout_ms = USERDATA_IMDS_TIMEOUT_MS;
	if (timeout != NULL &&
	    util_parse_duration(timeout, &a->src.timeout_ms, &why) == -1) {
		fprintf(stderr, "gitstrap: --imds-timeout: \"%s\": %s\n",
		    timeout, why);
		return EXIT_USAGE;
	}
	if (a->state_dir != NULL && a->state_dir[0] != '/') {
		fprintf(stderr, "gitstrap: --state-dir: must be an absolute "
		    "path\n");
		return EXIT_USAGE;
	}
	return 0;
}

/* load and validate; print every problem, one per line */
static int
gitstrap_load(struct gs_config **out, const struct userdata_source *src)
{
	struct gs_diag	diag = { NULL, 0 };
	struct gs_error	err;
	size_t		i;

	if (userdata_load(out, src, &diag, &err) == 0)
		return 0;
	if (diag.n == 0)
		fprintf(stderr, "gitstrap: %s\n", err.msg);
	for (i = 0; i < diag.n; i++)
		fprintf(stderr, "%s\n", diag.msgs[i]);
	diag_free(&diag);
	/* a missing or invalid config alike; an unreachable service is not */
	if (src->kind == USERDATA_SRC_IMDS)
		return gs_error_exit_code(&err);
	return EXIT_USAGE;
}

/* a shipped recipe can be checked before anything is cloned */
static int
gitstrap_check_recipe(const struct gs_config *conf)
{
	struct gs_diag	 diag = { NULL, 0 };
	struct gs_error	 err;
	struct recipe	*r = NULL;
	char		*path = NULL;
	const char	*name;
	size_t		 i;
	int		 ret = 0;

	if (!conf->has_service || (name = conf->service.recipe) == NULL)
		return 0;
	if (recipe_is_path(name))
		return 0;	/* lives in the service repo: checked at run */
	if (recipe_find(&path, name, NULL, &err) == -1) {
		fprintf(stderr, "%s: service.recipe: %s\n", conf->file,
		    err.msg);
		return EXIT_USAGE;
	}
	if (recipe_load(&r, path, &diag, &err) == -1) {
		if (diag.n == 0)
			fprintf(stderr, "%s\n", err.msg);
		for (i = 0; i < diag.n; i++)
			fprintf(stderr, "%s\n", diag.msgs[i]);
		ret = EXIT_USAGE;
	}
	diag_free(&diag);
	recipe_free(r);
	free(path);
	return ret;
}

static const char *
gitstrap_state_dir(const struct gitstrap_args *a, const struct gs_config *c)
{
	const char	*env;

	if (a->state_dir != NULL)
		return a->state_dir;
	if (c != NULL)
		return c->state_dir;
	if ((env = getenv("GITSTRAP_STATE_DIR")) != NULL && env[0] == '/')
		return env;
	return GS_DEFAULT_STATE_DIR;
}

/*
 * For commands that only read the state dir: the config is optional and
 * only read to find the state dir (*dirp is valid until config_free).
 */
static int
gitstrap_args_state(int argc, char **argv, struct gitstrap_args *a,
    struct gs_config **conf, const char **dirp)
{
	int	rc;

	*conf = NULL;
	if ((rc = gitstrap_args(argc, argv, a)) != 0)
		return rc;
	if (a->state_dir == NULL && a->src.kind == USERDATA_SRC_CONFIG &&
	    util_exists(a->config) && (rc = gitstrap_load(conf, &a->src)) != 0)
		return rc;
	*dirp = gitstrap_state_dir(a, *conf);
	return 0;
}

static int
cmd_check(int argc, char **argv)
{
	struct gitstrap_args	 a;
	struct gs_config	*conf = NULL;
	int			 rc;

	if ((rc = gitstrap_args(argc, argv, &a)) != 0)
		return rc;
	if ((rc = gitstrap_load(&conf, &a.src)) != 0)
		return rc;
	config_warn(conf);
	rc = gitstrap_check_recipe(conf);
	config_free(conf);
	return rc;
}

/* the state dir exists, is ours, and is locked for as long as we run */
static int
gitstrap_open_state(struct gitstrap *gs, struct gs_error *err)
{
	struct gs_error	e2;

	/* private: mirrors, checkouts and status are nobody else's business */
	if (util_own_dir(gs->state_dir, 0700, err) == -1 ||
	    state_lock(&gs->lockfd, gs->state_dir, err) == -1)
		return -1;
	if (state_load(&gs->st, gs->state_dir, &e2) == -1 &&
	    !(e2.src == GS_E_SYS && e2.code == ENOENT))
		log_warnx("state.load", "err=\"%s\" msg=\"starting afresh\"",
		    e2.msg);
	return 0;
}

static int
cmd_run(int argc, char **argv, int sync_only)
{
	struct gitstrap_args	 a;
	struct gitstrap		 gs;
	struct gs_error		 err;
	enum pipeline_result	 res;
	int			 rc;

	if ((rc = gitstrap_args(argc, argv, &a)) != 0)
		return rc;
	memset(&gs, 0, sizeof(gs));
	gs.lockfd = -1;
	if ((rc = gitstrap_load(&gs.conf, &a.src)) != 0)
		return rc;
	log_set(gs.conf->log_level, gs.conf->log_format);
	gs.state_dir = xstrdup(gitstrap_state_dir(&a, gs.conf));
	gs.once = a.once || sync_only;
	/* sync is a cycle, not a boot: the service follows only if asked */
	gs.booted = sync_only;
	if (gitstrap_open_state(&gs, &err) == -1) {
		log_error("failure", "err=\"%s\"", err.msg);
		rc = EXIT_RUNTIME;
		goto out;
	}
	log_info("start", "version=%s command=%s state_dir=%s libgit2=%s",
	    PACKAGE_VERSION, sync_only ? "sync" : gs.once ? "run-once" : "run",
	    gs.state_dir, repo_lib_version());
	pipeline_recover(&gs);
	if (gs.once) {
		if (pipeline_run(&gs, &res, &err) == -1) {
			log_error("failure", "err=\"%s\"", err.msg);
			rc = gs_error_exit_code(&err);
		}
	} else if (sync_loop(&gs, &a.src, &err) == -1) {
		log_error("failure", "err=\"%s\"", err.msg);
		rc = gs_error_exit_code(&err);
	}
out:
	state_unlock(gs.lockfd);
	config_free(gs.conf);
	free(gs.state_dir);
	return rc;
}

static void
status_line(const char *label, const char *val)
{
	printf("%-14s %s\n", label, val[0] != '\0' ? val : "-");
}

static void
status_time(const char *label, time_t t)
{
	char	buf[32];

	if (t == 0)
		buf[0] = '\0';
	else
		util_time_rfc3339(t, buf);
	status_line(label, buf);
}

static int
cmd_status(int argc, char **argv)
{
	struct gitstrap_args	 a;
	struct gs_config	*conf = NULL;
	struct gs_status	 st;
	struct gs_error		 err;
	const char		*dir;
	char			*json, buf[64];
	int			 rc, stale = 0;

	if ((rc = gitstrap_args_state(argc, argv, &a, &conf, &dir)) != 0)
		return rc;
	if (state_load(&st, dir, &err) == -1) {
		fprintf(stderr, "gitstrap: %s\n", err.msg);
		config_free(conf);
		return EXIT_RUNTIME;
	}
	if (conf != NULL)
		st.stale_after_ms = conf->data.stale_after_ms;
	config_free(conf);
	if (st.stale_after_ms > 0 && (st.last_success == 0 ||
	    (int64_t)(time(NULL) - st.last_success) * 1000 > st.stale_after_ms))
		stale = 1;
	if (a.json) {
		state_to_json(&st, &json);
		printf("%s\n", json);
		free(json);
	} else {
		status_line("data", st.data_commit);
		status_line("  repo", st.data_repo);
		status_line("  ref", st.data_ref);
		status_line("  release", st.data_release);
		status_line("  target", st.data_target);
		status_time("  published", st.data_published_at);
		status_line("service", st.svc_commit);
		status_line("  repo", st.svc_repo);
		status_line("  ref", st.svc_ref);
		status_time("  recipe ran", st.svc_recipe_ran_at);
		status_time("last attempt", st.last_attempt);
		status_time("last success", st.last_success);
		snprintf(buf, sizeof(buf), "%d", st.consecutive_failures);
		status_line("failures", buf);
		status_line("last error", st.last_error[0] != '\0' ?
		    st.last_error : "none");
		if (stale)
			status_line("stale", "yes: last success is older than "
			    "stale_after");
	}
	return stale || st.last_error[0] != '\0' ? EXIT_RUNTIME : 0;
}

static int
cmd_rollback(int argc, char **argv)
{
	struct gitstrap_args	 a;
	struct gs_config	*conf = NULL;
	struct gs_error		 err;
	const char		*dir;
	int			 rc, fd = -1;

	if ((rc = gitstrap_args_state(argc, argv, &a, &conf, &dir)) != 0)
		return rc;
	if (state_lock(&fd, dir, &err) == -1 ||
	    pipeline_rollback(dir, a.to, &err) == -1) {
		log_error("failure", "err=\"%s\"", err.msg);
		rc = EXIT_RUNTIME;
	}
	state_unlock(fd);
	config_free(conf);
	return rc;
}

static void
gitstrap_signals(void)
{
	struct sigaction	sa;
	sigset_t		set;

	/* a peer closing a socket must not kill us inside libgit2/libcurl */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	/*
	 * Block the signals the loop waits for, before any library starts a
	 * thread, so that they are only ever taken by sigtimedwait().
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

int
main(int argc, char **argv)
{
	const char	*cmd;
	int		 rc;

	log_init("gitstrap", LOG_LEVEL_INFO, LOG_FORMAT_TEXT);
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[1];
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("gitstrap %s (libgit2 %s)\n", PACKAGE_VERSION,
		    repo_lib_version());
		return 0;
	}
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 ||
	    strcmp(cmd, "-h") == 0) {
		usage(stdout);
		return 0;
	}
	umask(022);
	if (strcmp(cmd, "run") == 0 || strcmp(cmd, "sync") == 0) {
		/* only these block signals: the others must stay killable */
		gitstrap_signals();
	}
	if (repo_lib_init() == -1 || http_lib_init() == -1 ||
	    userdata_lib_init() == -1)
		fatalx("init", "msg=\"cannot initialise libgit2, libcurl or "
		    "GMime\"");
	if (strcmp(cmd, "run") == 0)
		rc = cmd_run(argc - 1, argv + 1, 0);
	else if (strcmp(cmd, "sync") == 0)
		rc = cmd_run(argc - 1, argv + 1, 1);
	else if (strcmp(cmd, "check") == 0)
		rc = cmd_check(argc - 1, argv + 1);
	else if (strcmp(cmd, "status") == 0)
		rc = cmd_status(argc - 1, argv + 1);
	else if (strcmp(cmd, "rollback") == 0)
		rc = cmd_rollback(argc - 1, argv + 1);
	else {
		fprintf(stderr, "gitstrap: unknown command \"%s\"\n", cmd);
		usage(stderr);
		rc = EXIT_USAGE;
	}
	userdata_lib_shutdown();
	http_lib_shutdown();
	repo_lib_shutdown();
	return rc;
}
