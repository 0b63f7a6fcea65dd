/*
 * sync.c: the resident loop. It only schedules: every cycle is the same
 * pipeline_run() that `run --once` and `sync` call.
 *
 * Signals are blocked in main() and taken here with sigtimedwait(), so a
 * cycle is never interrupted half-way: TERM/INT stop after the current
 * cycle, HUP reloads the config (kept when the new one is invalid), USR1
 * syncs now.
 */
#include "config.h"

#include <errno.h>
#ifdef HAVE_MALLOC_TRIM
#include <malloc.h>
#endif
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "gitstrap.h"

#define SYNC_BOOT_RETRY_MS	2000	/* first retry while never succeeded */
#define SYNC_FOREVER_MS		(100LL * 365 * 86400 * 1000)	/* until a signal */

static void
sync_notify(const char *state)
{
#ifdef HAVE_SYSTEMD
	(void)sd_notify(0, state);
#else
	(void)state;
#endif
}

/* d +- pct% */
static int64_t
sync_jitter(int64_t d, int pct, unsigned int *seed)
{
	int64_t	span;

	if (pct <= 0 || d <= 0)
		return d;
	span = d * pct / 100;
	if (span == 0)
		return d;
	return d - span + (int64_t)(rand_r(seed) % (2 * span + 1));
}

int64_t
sync_next_delay(const struct gs_data_conf *d, int failures, int ever_ok,
    unsigned int *seed)
{
	int64_t	base, cap;
	int	i;

	if (failures <= 0)
		return sync_jitter(d->interval_ms, d->jitter_pct, seed);
	/* the network may not be up yet at boot: retry sooner */
	base = ever_ok ? d->interval_ms : SYNC_BOOT_RETRY_MS;
	cap = ever_ok ? d->backoff_max_ms : d->interval_ms;
	if (cap < base)
		cap = base;
	for (i = 1; i < failures && base < cap; i++)
		base *= 2;
	if (base > cap)
		base = cap;
	return sync_jitter(base, d->jitter_pct, seed);
}

/* wait up to ms for a signal; 0 on timeout */
static int
sync_wait(int64_t ms)
{
	sigset_t	set;
	struct timespec	ts;
	int		sig;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	if (ms < 0)
		ms = 0;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000;
	do {
		sig = sigtimedwait(&set, NULL, ms >= 0 ? &ts : NULL);
	} while (sig == -1 && errno == EINTR);
	return sig == -1 ? 0 : sig;
}

/*
 * Read the config again from where it came from. The metadata service is
 * asked again rather than cloud-init's copy, which only root may read and
 * which the resident loop may no longer be.
 */
static void
sync_reload(struct gitstrap *gs, const struct userdata_source *src)
{
	struct userdata_source	 again = *src;
	struct gs_config	*conf = NULL;
	struct gs_diag		 diag = { NULL, 0 };
	struct gs_error		 err;
	const char		*path = userdata_source_name(src);

	again.fetch = 1;
	if (userdata_load(&conf, &again, &diag, &err) == -1) {
		log_error("config.reload_failed", "file=%s err=\"%s\" "
		    "problems=%zu msg=\"keeping the running config\"", path,
		    err.msg, diag.n);
		diag_free(&diag);
		return;
	}
	if (strcmp(conf->state_dir, gs->conf->state_dir) != 0)
		log_warnx("config.reload", "msg=\"state_dir changes need a "
		    "restart; keeping %s\"", gs->state_dir);
	config_free(gs->conf);
	gs->conf = conf;
	log_set(conf->log_level, conf->log_format);
	log_info("config.reload", "file=%s", path);
}

int
sync_loop(struct gitstrap *gs, const struct userdata_source *src,
    struct gs_error *err)
{
	enum pipeline_result	 res;
	unsigned int		 seed;
	int64_t			 delay;
	int			 ever_ok = 0, sig, rc;
	int			 first = 1;

	seed = (unsigned int)time(NULL) ^ ((unsigned int)getpid() << 16);
	rc = pipeline_run(gs, &res, err);
	for (;;) {
		if (rc == 0) {
			/* root was for the recipe and the first switch */
			if (!ever_ok && gs->conf->user != NULL &&
			    priv_drop(gs->conf->user, gs->state_dir,
			    &gs->conf->data, err) == -1)
				return -1;
			if (!ever_ok)
				sync_notify("READY=1\nSTATUS=serving");
			ever_ok = 1;
			/* a fleet booted together must not poll together */
			if (first)
				delay = (int64_t)((uint64_t)rand_r(&seed) %
				    (uint64_t)(gs->conf->data.interval_ms + 1));
			else
				delay = sync_next_delay(&gs->conf->data, 0, 1,
				    &seed);
			first = 0;
		} else {
			log_warnx("sync.failed", "failures=%d err=\"%s\"",
			    gs->st.consecutive_failures, err->msg);
			if (gs->conf->data.max_failures > 0 &&
			    gs->st.consecutive_failures >=
			    gs->conf->data.max_failures) {
				gs_error_prefix(err, "giving up after %d "
				    "failures", gs->st.consecutive_failures);
				return -1;
			}
			delay = sync_next_delay(&gs->conf->data,
			    gs->st.consecutive_failures, ever_ok, &seed);
		}
		/* a pinned commit cannot change: wait for signals only */
		if (rc == 0 && repo_ref_is_commit(gs->conf->data.repo.ref) &&
		    (!gs->conf->has_service || !gs->conf->service.follow))
			delay = SYNC_FOREVER_MS;
		log_debug("sync.wait", "delay_ms=%lld", (long long)delay);
		/*
		 * A publish reads a whole archive into memory; the process
		 * then sleeps for minutes. Hand the freed heap back rather
		 * than hold it idle.
		 */
#ifdef HAVE_MALLOC_TRIM
		malloc_trim(0);
#endif
		sync_notify("WATCHDOG=1");
		sig = sync_wait(delay);
		switch (sig) {
		case SIGTERM:
		case SIGINT:
			log_info("stop", "signal=%s", sig == SIGTERM ?
			    "TERM" : "INT");
			sync_notify("STOPPING=1");
			return 0;
		case SIGHUP:
			sync_reload(gs, src);
			break;
		case SIGUSR1:
			log_info("sync.now", "signal=USR1");
			break;
		default:
			break;
		}
		rc = pipeline_run(gs, &res, err);
	}
}
