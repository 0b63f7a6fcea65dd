/*
 * pipeline.c: config -> git -> recipe/unpack -> release -> switch.
 *
 * The one code path behind boot (`run --once`), the resident loop and
 * `gitstrap sync`. Every step is safe to repeat: leftovers of an
 * interrupted step are removed before it is redone, and nothing touches
 * the web root until a complete release is on disk.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gitstrap.h"

/* fingerprint of what the recipe runs with: commit, recipe, vars */
static void
pipeline_recipe_key(const struct gs_config *conf, const char *commit,
    char out[GS_HEXLEN + 1])
{
	const struct gs_service_conf	*s = &conf->service;
	char				*buf, *tmp, *path = NULL, *body = NULL;
	char				 hex[GS_HEXLEN + 1];
	size_t				 i;

	xasprintf(&buf, "commit %s\nrecipe %s\n", commit,
	    s->recipe != NULL ? s->recipe : "");
	/* a shipped recipe is not in the commit: its content counts too */
	if (s->recipe != NULL && !recipe_is_path(s->recipe) &&
	    recipe_find(&path, s->recipe, NULL, NULL) == 0 &&
	    util_read_file(path, 1 << 20, &body, NULL, NULL) == 0) {
		repo_hash_buf(body, strlen(body), hex);
		xasprintf(&tmp, "%sshipped %s\n", buf, hex);
		free(buf);
		buf = tmp;
	}
	free(path);
	free(body);
	for (i = 0; i < s->nvars; i++) {
		xasprintf(&tmp, "%svar %s=%s\n", buf, s->vars[i].key,
		    s->vars[i].val);
		free(buf);
		buf = tmp;
	}
	repo_hash_buf(buf, strlen(buf), out);
	free(buf);
}

/*
 * Name the part of the pipeline an error came from, once: errors from
 * repo.c already start with it ("data: URL: ..."), the others do not.
 */
static void
pipeline_prefix(struct gs_error *err, const char *part)
{
	size_t	len = strlen(part);

	if (strncmp(err->msg, part, len) != 0 || err->msg[len] != ':')
		gs_error_prefix(err, "%s", part);
}

/*
 * The git mirrors are caches. A process killed while libgit2 writes one
 * can leave lock files or a shallow list that no longer matches the refs,
 * and libgit2 does not repair either. So every write is bracketed by a
 * marker beside the mirror; at start a marker left behind means "drop the
 * mirror, fetch afresh" (pipeline_recover).
 */
static char *
pipeline_mark(const char *gitdir)
{
	char	*mark;
	int	 fd;

	xasprintf(&mark, "%s.busy", gitdir);
	if ((fd = open(mark, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) != -1)
		close(fd);
	return mark;
}

static void
pipeline_unmark(char *mark)
{
	if (mark != NULL)
		(void)unlink(mark);
	free(mark);
}

static void
pipeline_recover_mirror(const char *state_dir, const char *name)
{
	struct gs_error	 err;
	char		*gitdir, *mark;

	gitdir = util_path_join(state_dir, name);
	xasprintf(&mark, "%s.busy", gitdir);
	if (util_exists(mark)) {
		if (util_rm_rf(gitdir, &err) == -1)
			log_warnx("recover", "err=\"%s\"", err.msg);
		else {
			log_info("recover", "removed=%s reason=\"interrupted "
			    "while writing; it is fetched afresh\"", gitdir);
			(void)unlink(mark);
		}
	}
	free(mark);
	free(gitdir);
}

static void
pipeline_copy(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src != NULL ? src : "");
}

/*
 * Put the new checkout tmp in place of dir. The old one, if any, is left
 * in tmp (an atomic exchange), so that a failing recipe can be undone by
 * exchanging back. *had_old says whether there was one.
 */
static int
pipeline_swap_dir(const char *tmp, const char *dir, int *had_old,
    struct gs_error *err)
{
	*had_old = util_exists(dir);
	if (!*had_old) {
		if (rename(tmp, dir) == -1)
			return gs_error_sys(err, "rename %s", dir);
		return 0;
	}
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dir, RENAME_EXCHANGE) == -1)
		return gs_error_sys(err, "exchange %s", dir);
	return 0;
}

/*
 * Before anything of a fetched revision is run or published: is it signed
 * by a key the config allows? Checked at every deployment, so that a key
 * taken out of the allowed list stops the next deployment of its commits.
 */
static int
pipeline_verify(struct verify_result *vr, struct gs_repo *repo,
    const struct gs_repo_conf *rc, const char *what, const char *commit,
    struct gs_error *err)
{
	memset(vr, 0, sizeof(*vr));
	if (!rc->verify.enabled)
		return 0;
	if (verify_check(vr, repo, &rc->verify, commit, err) == -1)
		return -1;
	log_info("verify.ok", "repo=%s commit=%.12s ref=%s mode=%s kind=%s "
	    "signer=\"%s\" key=%s", what, commit, rc->ref,
	    rc->verify.mode == GS_VERIFY_TAG ? "tag" : "head", vr->kind,
	    vr->signer, vr->key);
	return 0;
}

/* the status names who signed the commit it names */
static void
pipeline_signer(char *signer, size_t slen, char *key, size_t klen,
    const struct verify_result *vr)
{
	snprintf(signer, slen, "%s", vr->signer);
	snprintf(key, klen, "%s", vr->key);
}

static int
pipeline_run_recipe(struct gitstrap *gs, const char *dir, const char *commit,
    struct gs_error *err)
{
	const struct gs_config	*conf = gs->conf;
	struct recipe		*rcp = NULL;
	struct recipe_ctx	 ctx;
	char			*path = NULL;
	int64_t			 t0 = util_now_ms();
	int			 ret = -1;

	if (recipe_find(&path, conf->service.recipe, dir, err) == -1 ||
	    recipe_load(&rcp, path, NULL, err) == -1)
		goto out;
	memset(&ctx, 0, sizeof(ctx));
	ctx.service_dir = dir;
	ctx.service_commit = commit;
	ctx.vars = conf->service.vars;
	ctx.nvars = conf->service.nvars;
	log_info("recipe.start", "recipe=%s commit=%.12s steps=%zu",
	    conf->service.recipe, commit, rcp->nsteps);
	if (step_run_recipe(rcp, &ctx, err) == -1)
		goto out;
	log_info("recipe.done", "recipe=%s commit=%.12s duration_ms=%lld",
	    conf->service.recipe, commit, (long long)(util_now_ms() - t0));
	ret = 0;
out:
	recipe_free(rcp);
	free(path);
	return ret;
}

/*
 * service: fetch, check out, run the recipe when something changed. A
 * failing recipe leaves the previous checkout in place and the status
 * naming the previous revision.
 */
static int
pipeline_service(struct gitstrap *gs, struct gs_error *err)
{
	const struct gs_config	*conf = gs->conf;
	struct gs_status	*st = &gs->st;
	struct gs_repo		*repo = NULL;
	struct gs_error		 e2;
	struct verify_result	 vr;
	char			 commit[GS_HEXLEN + 1], key[GS_HEXLEN + 1];
	char			*gitdir, *dir, *tmp, *mark;
	int			 fetched, had_old = 0, swapped = 0, rc, ret = -1;

	gitdir = util_path_join(gs->state_dir, "service.git");
	dir = util_path_join(gs->state_dir, "service");
	xasprintf(&tmp, "%s.tmp", dir);
	/* repo errors already say "service: URL: ..." */
	mark = pipeline_mark(gitdir);
	rc = repo_open(&repo, gitdir, &conf->service.repo, "service", err);
	if (rc == 0)
		rc = repo_update(repo, commit, &fetched, err);
	pipeline_unmark(mark);
	if (rc == -1)
		goto out;
	if (fetched)
		st->fetches_service++;
	pipeline_recipe_key(conf, commit, key);
	/* nothing runs: verified when it ran (see pipeline_data) */
	if (strcmp(st->svc_commit, commit) == 0 &&
	    strcmp(st->svc_recipe_key, key) == 0 && util_is_dir(dir)) {
		log_info("service.unchanged", "commit=%.12s", commit);
		ret = 0;
		goto out;
	}
	if (pipeline_verify(&vr, repo, &conf->service.repo, "service", commit,
	    err) == -1) {
		gs_error_prefix(err, "service");
		goto out;
	}
	log_info("service.update", "commit=%.12s from=%.12s fetched=%d",
	    commit, st->svc_commit[0] != '\0' ? st->svc_commit : "none",
	    fetched);
	if (util_rm_rf(tmp, err) == -1 ||
	    repo_export_tree(repo, commit, tmp, conf->data.max_bytes,
	    conf->data.max_entries, err) == -1 ||
	    pipeline_swap_dir(tmp, dir, &had_old, err) == -1) {
		gs_error_prefix(err, "service");
		goto out;
	}
	swapped = 1;
	if (conf->service.recipe != NULL) {
		if (pipeline_run_recipe(gs, dir, commit, err) == -1) {
			gs_error_prefix(err, "service %.12s", commit);
			goto out;
		}
		st->svc_recipe_ran_at = time(NULL);
	}
	pipeline_copy(st->svc_commit, sizeof(st->svc_commit), commit);
	pipeline_copy(st->svc_recipe_key, sizeof(st->svc_recipe_key), key);
	pipeline_signer(st->svc_signer, sizeof(st->svc_signer),
	    st->svc_signing_key, sizeof(st->svc_signing_key), &vr);
	ret = 0;
out:
	if (ret == -1 && swapped && had_old) {
		/* back to the checkout the status still names */
		if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dir, RENAME_EXCHANGE)
		    == -1)
			log_warn("service.restore", "dir=%s", dir);
		else
			log_warnx("service.kept", "commit=%.12s msg=\"the "
			    "previous service revision stays\"",
			    st->svc_commit[0] != '\0' ? st->svc_commit : "none");
	}
	if (util_rm_rf(tmp, &e2) == -1)
		log_warnx("service.cleanup", "err=\"%s\"", e2.msg);
	repo_free(repo);
	free(gitdir);
	free(dir);
	free(tmp);
	return ret;
}

/* does archive i's subtree hold nothing that another archive wrote? */
static int
pipeline_unpack_alone(const struct gs_data_conf *d, size_t i)
{
	const char	*why;
	char		*a = NULL, *b = NULL;
	size_t		 j, la, lb;
	int		 alone = 1;

	if (d->unpack[i].to == NULL ||
	    unpack_clean_path(d->unpack[i].to, 0, &a, &why) == -1 || a == NULL)
		return d->nunpack == 1;
	la = strlen(a);
	for (j = 0; j < d->nunpack && alone; j++) {
		if (j == i)
			continue;
		if (d->unpack[j].to == NULL || unpack_clean_path(
		    d->unpack[j].to, 0, &b, &why) == -1 || b == NULL) {
			alone = 0;
			break;
		}
		/* one is the other or below it */
		lb = strlen(b);
		if (strncmp(a, b, la < lb ? la : lb) == 0 &&
		    (la == lb || (la < lb ? b[la] : a[lb]) == '/'))
			alone = 0;
		free(b);
		b = NULL;
	}
	free(a);
	return alone;
}

/*
 * Can archive i be taken over from the previous release as it is? Its blob
 * is the same, so is the list of archives (names, strip, to: the previous
 * release was laid out the same way), its subtree is its own, and what it
 * adds stays within the limits as they are now.
 */
static int
pipeline_unpack_same(const struct gs_data_conf *d, size_t i,
    const struct gs_manifest *pm, const char *blob,
    const struct unpack_limits *lim)
{
	const struct gs_manifest_item	*it;
	const struct gs_unpack_conf	*u;
	size_t				 j;

	if (pm == NULL || pm->n != d->nunpack)
		return 0;
	for (j = 0; j < d->nunpack; j++) {
		u = &d->unpack[j];
		it = &pm->v[j];
		if (strcmp(u->archive, it->archive) != 0 ||
		    u->strip_components != it->strip ||
		    (u->to == NULL) != (it->to == NULL) ||
		    (u->to != NULL && strcmp(u->to, it->to) != 0))
			return 0;
	}
	it = &pm->v[i];
	return strcmp(it->blob, blob) == 0 && pipeline_unpack_alone(d, i) &&
	    it->entries <= lim->max_entries - lim->entries &&
	    it->bytes <= lim->max_bytes - lim->bytes;
}

/*
 * Unpack every archive into dir. prevdir, when not NULL, is the release
 * served now, and pm (may be NULL) what it was unpacked from: an archive
 * whose blob did not change has its subtree hard-linked from there, and
 * any other file that did not change is linked one by one. nm gets what
 * this release is unpacked from.
 */
static int
pipeline_unpack(struct gs_repo *repo, const struct gs_data_conf *d,
    const char *commit, const char *dir, const char *prevdir,
    const struct gs_manifest *pm, struct gs_manifest *nm,
    struct gs_error *err)
{
	struct unpack_limits	 lim;
	struct gs_manifest_item	*it;
	struct repo_blob	*blob = NULL;
	const void		*buf;
	char			*dest, *prev;
	size_t			 i, len;
	uint64_t		 entries, bytes;
	int			 rc;

	memset(&lim, 0, sizeof(lim));
	lim.max_bytes = d->max_bytes;
	lim.max_entries = d->max_entries;
	if (mkdir(dir, 0755) == -1)
		return gs_error_sys(err, "mkdir %s", dir);
	nm->v = xcalloc(d->nunpack, sizeof(*nm->v));
	for (i = 0; i < d->nunpack; i++) {
		const struct gs_unpack_conf *u = &d->unpack[i];

		it = &nm->v[nm->n++];
		it->archive = xstrdup(u->archive);
		it->to = u->to != NULL ? xstrdup(u->to) : NULL;
		it->strip = u->strip_components;
		if (repo_blob_id_at(repo, commit, u->archive, it->blob,
		    err) == -1)
			return -1;
		dest = u->to != NULL ? util_path_join(dir, u->to) :
		    xstrdup(dir);
		prev = prevdir == NULL ? NULL : u->to != NULL ?
		    util_path_join(prevdir, u->to) : xstrdup(prevdir);
		entries = lim.entries;
		bytes = lim.bytes;
		if ((rc = util_mkdir_p(dest, 0755, err)) == -1)
			;
		else if (prev != NULL && util_is_dir(prev) &&
		    pipeline_unpack_same(d, i, pm, it->blob, &lim)) {
			log_info("unpack.same", "archive=%s blob=%.12s "
			    "msg=\"linked from the previous release\"",
			    u->archive, it->blob);
			rc = release_link_tree(prev, dest, err);
			lim.entries += pm->v[i].entries;
			lim.bytes += pm->v[i].bytes;
		} else if ((rc = repo_blob_open(&blob, repo, commit,
		    u->archive, err)) == 0) {
			buf = repo_blob_data(blob, &len);
			log_debug("unpack.start", "archive=%s blob=%.12s "
			    "bytes=%zu", u->archive, it->blob, len);
			rc = unpack_memory(u->archive, buf, len, dest, prev,
			    u->strip_components, &lim, err);
			repo_blob_free(blob);
			blob = NULL;
		}
		it->entries = lim.entries - entries;
		it->bytes = lim.bytes - bytes;
		free(dest);
		free(prev);
		if (rc == -1)
			return -1;
	}
	log_info("unpack.done", "entries=%llu bytes=%llu linked=%llu "
	    "written=%llu", (unsigned long long)lim.entries,
	    (unsigned long long)lim.bytes, (unsigned long long)lim.linked,
	    (unsigned long long)lim.written);
	return 0;
}

static void
pipeline_hook_env(struct run_env *env, const char *reldir, const char *commit,
    const char *id)
{
	run_env_base(env);
	run_env_set(env, "GITSTRAP_RELEASE_DIR", reldir);
	run_env_set(env, "GITSTRAP_RELEASE", id);
	run_env_set(env, "GITSTRAP_DATA_COMMIT", commit);
}

static int
pipeline_hooks(const struct gs_strlist *hooks, const char *which,
    const struct gs_data_conf *d, const char *reldir, const char *commit,
    const char *id, struct gs_error *err)
{
	struct run_env	 env = { NULL, 0 };
	struct run_opts	 ro;
	char		 tag[64];
	size_t		 i;
	int		 ret = 0;

	if (hooks->n == 0)
		return 0;
	pipeline_hook_env(&env, reldir, commit, id);
	for (i = 0; i < hooks->n && ret == 0; i++) {
		memset(&ro, 0, sizeof(ro));
		snprintf(tag, sizeof(tag), "hook=%s index=%zu", which, i);
		ro.cwd = reldir;
		ro.envp = env.v;
		ro.timeout_ms = d->hook_timeout_ms;
		ro.logev = "hook.output";
		ro.logtag = tag;
		log_info("hook.start", "hook=%s index=%zu release=%s", which, i,
		    id);
		if (run_shell(hooks->v[i], &ro, err) == -1) {
			gs_error_prefix(err, "%s hook \"%s\"", which,
			    hooks->v[i]);
			ret = -1;
		}
	}
	run_env_free(&env);
	return ret;
}

/* GET the health URL until it answers as expected, or retries run out */
static int
pipeline_health(const struct gs_health_conf *h, struct gs_error *err)
{
	struct http_req		 req;
	struct http_resp	 resp;
	int			 attempt;

	memset(&req, 0, sizeof(req));
	req.url = h->url;
	req.timeout_ms = h->timeout_ms;
	for (attempt = 0; attempt <= h->retries; attempt++) {
		if (attempt > 0)
			sleep(1);
		if (http_do(&req, &resp, err) == -1) {
			log_info("health.retry", "attempt=%d err=\"%s\"",
			    attempt + 1, err->msg);
			continue;
		}
		http_resp_free(&resp);
		if (resp.status == h->expect) {
			log_info("health.ok", "url=%s status=%ld", h->url,
			    resp.status);
			return 0;
		}
		gs_error_set(err, GS_E_HTTP, (int)resp.status, "%s: status %ld, "
		    "expected %ld", h->url, resp.status, h->expect);
		log_info("health.retry", "attempt=%d err=\"%s\"", attempt + 1,
		    err->msg);
	}
	gs_error_prefix(err, "health check failed after %d attempts",
	    h->retries + 1);
	return -1;
}

/* after a failed gate: serve the previous release again */
static void
pipeline_undo_switch(const struct gs_data_conf *d, const char *releases,
    const char *prev, const char *id)
{
	struct gs_error	e2;

	if (prev[0] != '\0') {
		if (release_switch(d->target, releases, prev, &e2) == -1)
			log_error("rollback.failed", "release=%s err=\"%s\"",
			    prev, e2.msg);
		else
			log_warnx("rollback", "release=%s failed=%s", prev, id);
	} else if (unlink(d->target) == -1 && errno != ENOENT)
		log_warn("rollback.failed", "target=%s", d->target);
	if (release_mark_failed(releases, id, &e2) == -1)
		log_warnx("release.mark_failed", "release=%s err=\"%s\"", id,
		    e2.msg);
}

/*
 * A new release id, later than every existing one: ids sort by time, and
 * rollback and pruning rely on that order even within one second.
 */
static int
pipeline_release_id(const char *releases, const char *commit,
    char id[GS_RELIDLEN], struct gs_error *err)
{
	struct gs_strlist	 ids = { NULL, 0 };
	time_t			 t = time(NULL);
	char			 stamp[32];

	if (release_list(releases, &ids, err) == -1)
		return -1;
	util_time_compact(t, stamp);
	while (ids.n > 0 && strncmp(ids.v[ids.n - 1], stamp,
	    strlen(stamp)) >= 0)
		util_time_compact(++t, stamp);
	strlist_free(&ids);
	release_make_id(id, t, commit);
	return 0;
}

static int
pipeline_publish(struct gitstrap *gs, struct gs_repo *repo,
    const char *commit, const char *prev, struct gs_error *err)
{
	const struct gs_data_conf	*d = &gs->conf->data;
	struct gs_status		*st = &gs->st;
	char				 id[GS_RELIDLEN];
	char				*releases, *reldir = NULL, *tmp = NULL;
	char				*prevdir = NULL, *path, *name;
	struct gs_manifest		 pm, nm;
	struct gs_error			 e2;
	int64_t				 t0 = util_now_ms();
	int				 rc, ret = -1;

	memset(&pm, 0, sizeof(pm));
	memset(&nm, 0, sizeof(nm));
	releases = xstrdup(d->releases_dir);
	if (util_own_dir(releases, 0755, err) == -1)
		goto out;
	if (pipeline_release_id(releases, commit, id, err) == -1)
		goto out;
	reldir = util_path_join(releases, id);
	xasprintf(&tmp, "%s.tmp", reldir);
	if (util_is_dir(reldir)) {
		/* renamed into place only when complete: reuse it */
		log_info("release.reuse", "release=%s", id);
	} else {
		if (util_rm_rf(tmp, err) == -1)
			goto out;
		log_info("release.build", "release=%s commit=%.12s archives=%zu",
		    id, commit, d->nunpack);
		if (d->nunpack == 0) {
			if (repo_export_tree(repo, commit, tmp, d->max_bytes,
			    d->max_entries, err) == -1)
				goto out;
		} else {
			if (prev[0] != '\0') {
				prevdir = util_path_join(releases, prev);
				xasprintf(&path, "%s/.%s.manifest", releases,
				    prev);
				if (state_manifest_load(&pm, path, &e2) == -1)
					log_debug("manifest", "err=\"%s\"",
					    e2.msg);
				free(path);
			}
			rc = pipeline_unpack(repo, d, commit, tmp, prevdir,
			    pm.n > 0 ? &pm : NULL, &nm, err);
			if (rc == -1)
				goto out;
		}
		if (release_seal(tmp, err) == -1)
			goto out;
		if (rename(tmp, reldir) == -1) {
			gs_error_sys(err, "rename %s", reldir);
			goto out;
		}
		/* without it the next release is built in full: no error */
		xasprintf(&name, ".%s.manifest", id);
		if (nm.n > 0 && state_manifest_save(&nm, releases, name,
		    &e2) == -1)
			log_warnx("manifest", "err=\"%s\"", e2.msg);
		free(name);
	}
	if (pipeline_hooks(&d->before_switch, "before_switch", d, reldir,
	    commit, id, err) == -1) {
		gs_error_prefix(err, "release %s vetoed", id);
		if (release_mark_failed(releases, id, NULL) == -1)
			log_warnx("release.mark_failed", "release=%s", id);
		goto out;
	}
	if (release_switch(d->target, releases, id, err) == -1)
		goto out;
	log_info("switch", "target=%s release=%s previous=%s", d->target, id,
	    prev[0] != '\0' ? prev : "none");
	if (pipeline_hooks(&d->after_switch, "after_switch", d, reldir,
	    commit, id, err) == -1)
		goto published;
	if (d->health.url != NULL && pipeline_health(&d->health, err) == -1) {
		pipeline_undo_switch(d, releases, prev, id);
		gs_error_prefix(err, "release %s", id);
		goto out;
	}
	ret = 0;
published:
	/* switched: the state says so even when an after_switch hook failed */
	pipeline_copy(st->data_commit, sizeof(st->data_commit), commit);
	pipeline_copy(st->data_release, sizeof(st->data_release), id);
	st->data_published_at = time(NULL);
	if (ret == 0)
		log_info("publish", "release=%s commit=%.12s target=%s "
		    "duration_ms=%lld", id, commit, d->target,
		    (long long)(util_now_ms() - t0));
	if (release_prune(releases, d->keep_releases, id, &e2) == -1)
		log_warnx("release.prune", "err=\"%s\"", e2.msg);
out:
	if (tmp != NULL)
		(void)util_rm_rf(tmp, NULL);
	free(tmp);
	free(prevdir);
	state_manifest_free(&pm);
	state_manifest_free(&nm);
	free(reldir);
	free(releases);
	return ret;
}

/*
 * The data mirror's fetch. When the service is due (at boot) it runs in a
 * thread of its own while the service is fetched and its recipe runs
 * (a package install: seconds to minutes), as nothing of the data is used
 * before the unpack; else in line. Only libgit2 and the mirror's own
 * files are touched there; the status is the caller's.
 */
struct pipeline_fetch {
	const struct gitstrap	*gs;
	struct gs_repo		*repo;
	char			 commit[GS_HEXLEN + 1];
	int			 fetched;
	int			 rc;		/* -1: err is set */
	struct gs_error		 err;
	int			 done;
	int			 threaded;	/* thread still to be joined */
	pthread_t		 thread;
};

static void
pipeline_fetch_data(struct pipeline_fetch *f)
{
	const struct gs_data_conf	*d = &f->gs->conf->data;
	struct gs_error			 e2;
	char				*gitdir, *mark;

	gitdir = util_path_join(f->gs->state_dir, "data.git");
	mark = pipeline_mark(gitdir);
	f->rc = repo_open(&f->repo, gitdir, &d->repo, "data", &f->err);
	if (f->rc == 0)
		f->rc = repo_update(f->repo, f->commit, &f->fetched, &f->err);
	/* a full disk here costs space, not data: go on */
	if (f->rc == 0 && f->fetched && repo_gc(f->repo, &e2) == -1)
		log_warnx("repo.gc", "repo=data err=\"%s\"", e2.msg);
	pipeline_unmark(mark);
	free(gitdir);
	f->done = 1;
}

static void *
pipeline_fetch_thread(void *arg)
{
	pipeline_fetch_data(arg);
	return NULL;
}

/* the fetch in a thread; in line later if no thread can be had */
static void
pipeline_fetch_start(struct pipeline_fetch *f)
{
	sigset_t	all, old;
	int		rc;

	/* signals stay the main thread's, taken between cycles */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&f->thread, NULL, pipeline_fetch_thread, f);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		errno = rc;
		log_warn("data.fetch.thread", "msg=\"fetching after the "
		    "service\"");
		return;
	}
	f->threaded = 1;
}

static void
pipeline_fetch_join(struct pipeline_fetch *f)
{
	if (f->threaded) {
		pthread_join(f->thread, NULL);
		f->threaded = 0;
	}
}

/* the fetch's outcome: joined, or done now */
static void
pipeline_fetch_finish(struct pipeline_fetch *f)
{
	pipeline_fetch_join(f);
	if (!f->done)
		pipeline_fetch_data(f);
}

static void
pipeline_fetch_free(struct pipeline_fetch *f)
{
	pipeline_fetch_join(f);
	repo_free(f->repo);
	f->repo = NULL;
}

/* data: fetch; when the ref moved, build a release and switch to it */
static int
pipeline_data(struct gitstrap *gs, struct pipeline_fetch *f,
    enum pipeline_result *out, struct gs_error *err)
{
	const struct gs_data_conf	*d = &gs->conf->data;
	struct gs_repo			*repo;
	struct verify_result		 vr;
	char				*commit;
	char				 cur[GS_RELIDLEN], *reldir;
	int				 fetched, rc, ret = -1;

	*out = PIPELINE_UNCHANGED;
	pipeline_fetch_finish(f);
	repo = f->repo;
	commit = f->commit;
	fetched = f->fetched;
	if (f->rc == -1) {
		*err = f->err;
		goto out;
	}
	if (fetched)
		gs->st.fetches_data++;
	if (release_current(d->target, cur, err) == -1)
		goto out;
	if (cur[0] != '\0') {
		reldir = util_path_join(d->releases_dir, cur);
		/*
		 * The id names its commit: unchanged even if status was lost.
		 * Nothing is deployed, so nothing is verified again: what is
		 * served was verified when it was published, and an unchanged
		 * poll stays one request and no child process.
		 */
		if (util_is_dir(reldir) && strlen(cur) > GS_HEXLEN &&
		    strcmp(cur + strlen(cur) - GS_HEXLEN, commit) == 0) {
			free(reldir);
			log_info("unchanged", "release=%s commit=%.12s", cur,
			    commit);
			if (strcmp(gs->st.data_commit, commit) != 0)
				gs->st.data_signer[0] =
				    gs->st.data_signing_key[0] = '\0';
			pipeline_copy(gs->st.data_commit,
			    sizeof(gs->st.data_commit), commit);
			pipeline_copy(gs->st.data_release,
			    sizeof(gs->st.data_release), cur);
			ret = 0;
			goto out;
		}
		free(reldir);
	}
	if (pipeline_verify(&vr, repo, &d->repo, "data", commit, err) == -1)
		goto out;
	log_info("data.update", "commit=%.12s fetched=%d current=%s", commit,
	    fetched, cur[0] != '\0' ? cur : "none");
	rc = pipeline_publish(gs, repo, commit, cur, err);
	/* switched, even if a later gate failed: the status names it */
	if (strcmp(gs->st.data_commit, commit) == 0)
		pipeline_signer(gs->st.data_signer, sizeof(gs->st.data_signer),
		    gs->st.data_signing_key, sizeof(gs->st.data_signing_key),
		    &vr);
	if (rc == -1)
		goto out;
	*out = PIPELINE_PUBLISHED;
	ret = 0;
out:
	if (ret == -1)
		pipeline_prefix(err, "data");
	return ret;
}

static void
pipeline_notify(struct gitstrap *gs, const char *event, const char *error)
{
	struct http_req		 req;
	struct http_resp	 resp;
	struct gs_error		 err;
	const char		*hdrs[] = { "Content-Type: application/json",
	    NULL };
	char			*body;

	if (gs->conf->notify_webhook == NULL)
		return;
	/* hook URLs carry their token in the path: never log one */
	log_add_secret(gs->conf->notify_webhook);
	body = state_event_json(&gs->st, event, error);
	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.url = gs->conf->notify_webhook;
	req.headers = hdrs;
	req.body = body;
	req.bodylen = strlen(body);
	req.timeout_ms = 10000;
	if (http_do(&req, &resp, &err) == -1)
		log_warnx("notify.failed", "err=\"%s\"", err.msg);
	else {
		if (resp.status >= 400)
			log_warnx("notify.failed", "status=%ld", resp.status);
		http_resp_free(&resp);
	}
	free(body);
}

static void
pipeline_describe(struct gitstrap *gs)
{
	const struct gs_config	*conf = gs->conf;
	struct gs_status	*st = &gs->st;
	char			*u;

	if (conf->has_service) {
		u = util_redact_url(conf->service.repo.url);
		pipeline_copy(st->svc_repo, sizeof(st->svc_repo), u);
		pipeline_copy(st->svc_ref, sizeof(st->svc_ref),
		    conf->service.repo.ref);
		free(u);
	}
	u = util_redact_url(conf->data.repo.url);
	pipeline_copy(st->data_repo, sizeof(st->data_repo), u);
	pipeline_copy(st->data_ref, sizeof(st->data_ref), conf->data.repo.ref);
	pipeline_copy(st->data_target, sizeof(st->data_target),
	    conf->data.target);
	pipeline_copy(st->data_releases, sizeof(st->data_releases),
	    conf->data.releases_dir);
	st->stale_after_ms = conf->data.stale_after_ms;
	free(u);
}

/*
 * The service step runs at boot, on every cycle with service.follow, and
 * whenever its recipe never completed (a boot that failed part-way).
 */
static int
pipeline_service_due(const struct gitstrap *gs)
{
	if (!gs->conf->has_service)
		return 0;
	return !gs->booted || gs->conf->service.follow ||
	    gs->st.svc_recipe_key[0] == '\0';
}

int
pipeline_run(struct gitstrap *gs, enum pipeline_result *out,
    struct gs_error *err)
{
	struct gs_status	*st = &gs->st;
	struct pipeline_fetch	 fetch;
	struct gs_error		 serr;
	int			 rc;

	memset(&serr, 0, sizeof(serr));
	memset(&fetch, 0, sizeof(fetch));
	fetch.gs = gs;
	*out = PIPELINE_UNCHANGED;
	st->last_attempt = time(NULL);
	pipeline_describe(gs);
	/* now that the config's log format applies */
	config_warn(gs->conf);
	/* transport.ca_file, for the fetches, health checks and webhooks */
	http_set_ca_file(gs->conf->ca_file);
	if ((rc = repo_set_ca_file(gs->conf->ca_file, err)) == -1)
		goto done;
	if (pipeline_service_due(gs)) {
		pipeline_fetch_start(&fetch);
		rc = pipeline_service(gs, err);
		/*
		 * At boot the data needs the service layer: stop. Later (with
		 * follow) the previous service revision keeps serving, so the
		 * data goes on syncing and the failure is still reported.
		 */
		if (rc == -1 && !gs->booted)
			goto done;
		if (rc == -1) {
			serr = *err;
			log_warnx("service.failed", "err=\"%s\" msg=\"data goes "
			    "on syncing\"", serr.msg);
		}
	}
	if (pipeline_data(gs, &fetch, out, err) == -1)
		rc = -1;
	else if (rc == -1)
		*err = serr;
	if (rc == 0)
		gs->booted = 1;
done:
	pipeline_fetch_free(&fetch);
	if (rc == 0) {
		st->last_success = time(NULL);
		st->consecutive_failures = 0;
		st->last_error[0] = '\0';
		if (*out == PIPELINE_PUBLISHED)
			st->syncs_changed++;
		else
			st->syncs_unchanged++;
	} else {
		st->consecutive_failures++;
		st->syncs_failed++;
		pipeline_copy(st->last_error, sizeof(st->last_error), err->msg);
	}
	if (state_save(st, gs->state_dir, &serr) == -1) {
		if (rc == 0) {
			*err = serr;
			rc = -1;
		} else
			log_error("state.save", "err=\"%s\"", serr.msg);
	}
	if (*out == PIPELINE_PUBLISHED)
		pipeline_notify(gs, "publish", NULL);
	if (rc == -1)
		pipeline_notify(gs, "failure", err->msg);
	return rc;
}

/*
 * After a crash or kill -9: remove what an interrupted cycle left (a
 * half-built release or checkout, a half-made symlink). The web root
 * itself always points at a complete release: nothing else to repair.
 */
void
pipeline_recover(struct gitstrap *gs)
{
	const struct gs_data_conf	*d = &gs->conf->data;
	struct gs_error			 err;
	char				 cur[GS_RELIDLEN], *path;

	pipeline_recover_mirror(gs->state_dir, "data.git");
	pipeline_recover_mirror(gs->state_dir, "service.git");
	path = util_path_join(gs->state_dir, "service.tmp");
	if (util_rm_rf(path, &err) == -1)
		log_warnx("recover", "err=\"%s\"", err.msg);
	free(path);
	xasprintf(&path, "%s.gitstrap-tmp", d->target);
	if (unlink(path) == 0)
		log_info("recover", "removed=%s", path);
	free(path);
	if (util_is_dir(d->releases_dir) &&
	    release_current(d->target, cur, &err) == 0 &&
	    release_prune(d->releases_dir, d->keep_releases, cur, &err) == -1)
		log_warnx("recover", "err=\"%s\"", err.msg);
}

int
pipeline_rollback(const char *state_dir, const char *id,
    struct gs_error *err)
{
	struct gs_status	 st;
	struct gs_strlist	 ids = { NULL, 0 };
	char			 cur[GS_RELIDLEN], want[GS_RELIDLEN];
	char			 commit[GS_HEXLEN + 1];
	char			*releases = NULL;
	size_t			 i;
	int			 ret = -1;

	if (state_load(&st, state_dir, err) == -1)
		return -1;
	if (st.data_target[0] == '\0')
		return gs_error_set(err, GS_E_RUNTIME, 0, "%s: nothing was "
		    "published yet", state_dir);
	/* status files written before releases moved out of the state dir */
	if (st.data_releases[0] != '\0')
		releases = xstrdup(st.data_releases);
	else
		releases = util_path_join(state_dir, "releases");
	if (release_current(st.data_target, cur, err) == -1 ||
	    release_list(releases, &ids, err) == -1)
		goto out;
	want[0] = '\0';
	if (id != NULL) {
		for (i = 0; i < ids.n; i++)
			if (strcmp(ids.v[i], id) == 0)
				pipeline_copy(want, sizeof(want), id);
		if (want[0] == '\0') {
			gs_error_set(err, GS_E_RUNTIME, 0, "no release %s in %s",
			    id, releases);
			goto out;
		}
	} else {
		/* the newest release older than the current one */
		for (i = 0; i < ids.n; i++)
			if (cur[0] == '\0' || strcmp(ids.v[i], cur) < 0)
				pipeline_copy(want, sizeof(want), ids.v[i]);
		if (want[0] == '\0') {
			gs_error_set(err, GS_E_RUNTIME, 0, "no release older "
			    "than %s to roll back to", cur[0] != '\0' ? cur :
			    "the current one");
			goto out;
		}
	}
	if (release_switch(st.data_target, releases, want, err) == -1)
		goto out;
	log_info("rollback", "target=%s release=%s previous=%s",
	    st.data_target, want, cur[0] != '\0' ? cur : "none");
	/* the id ends in the full commit id */
	pipeline_copy(commit, sizeof(commit), want + strlen(want) - GS_HEXLEN);
	pipeline_copy(st.data_commit, sizeof(st.data_commit), commit);
	pipeline_copy(st.data_release, sizeof(st.data_release), want);
	/* the next cycle checks the signature of what is served again */
	st.data_signer[0] = st.data_signing_key[0] = '\0';
	st.data_published_at = time(NULL);
	ret = state_save(&st, state_dir, err);
out:
	strlist_free(&ids);
	free(releases);
	return ret;
}
