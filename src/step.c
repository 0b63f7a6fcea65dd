/*
 * step.c: running a recipe.
 *
 * Each step is expanded first: "{{ var }}" in every string, from the
 * recipe's defaults with service.vars over them. Then its guards decide
 * (creates: a path that exists; unless: a command that succeeds) and its
 * action runs with a clean environment (the safe base, GITSTRAP_SERVICE_*,
 * GITSTRAP_VAR_* and the step's env), in the service checkout, with the
 * step's timeout. The first step that fails stops the recipe. run and
 * template are here; copy.c, pkg.c and svc.c do the other actions.
 */
#include "config.h"

#include <sys/types.h>

#include <assert.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gitstrap.h"

#define STEP_TIMEOUT_MS		(30 * 60 * 1000LL)

/* one run of a recipe */
struct step_runner {
	const struct recipe	*r;
	const struct recipe_ctx	*ctx;
	struct gs_kv		*vars;	/* merged, all with a value */
	size_t			 nvars;
	struct run_env		 env;	/* what every step starts from */
	struct step_exec	 ex;	/* the current step's */
	struct pkg_state	 pkg;	/* the package manager of this run */
};

/* how a step is named in logs and errors: its name, or a short form */
static void
step_label(const struct recipe_step *s, char *buf, size_t len)
{
	const char	*arg = NULL;
	size_t		 n;

	if (s->name != NULL) {
		snprintf(buf, len, "%s", s->name);
		return;
	}
	switch (s->action) {
	case RECIPE_RUN:
		arg = s->cmd;
		break;
	case RECIPE_COPY:
	case RECIPE_TEMPLATE:
		arg = s->from;
		break;
	case RECIPE_SERVICE:
		arg = s->svc_name;
		break;
	case RECIPE_PACKAGES:
		break;
	}
	if (arg == NULL) {
		snprintf(buf, len, "%s", recipe_action_name(s->action));
		return;
	}
	n = strcspn(arg, "\n");
	if (n > 40)
		snprintf(buf, len, "%s \"%.37s...\"",
		    recipe_action_name(s->action), arg);
	else if (arg[n] != '\0')
		snprintf(buf, len, "%s \"%.*s...\"",
		    recipe_action_name(s->action), (int)n, arg);
	else
		snprintf(buf, len, "%s \"%s\"", recipe_action_name(s->action),
		    arg);
}

static int
step_xstr(char **out, const char *in, const struct step_runner *rr,
    struct gs_error *err)
{
	*out = NULL;
	if (in == NULL)
		return 0;
	return recipe_expand(out, in, rr->vars, rr->nvars, err);
}

static int
step_xlist(struct gs_strlist *out, const struct gs_strlist *in,
    const struct step_runner *rr, struct gs_error *err)
{
	char	*s;
	size_t	 i;

	for (i = 0; i < in->n; i++) {
		if (step_xstr(&s, in->v[i], rr, err) == -1)
			return -1;
		out->v = xreallocarray(out->v, out->n + 1, sizeof(*out->v));
		out->v[out->n++] = s;
	}
	return 0;
}

/* a copy of the step with every string expanded */
static int
step_expand(struct recipe_step *x, const struct recipe_step *s,
    const struct step_runner *rr, struct gs_error *err)
{
	size_t	i;

	memset(x, 0, sizeof(*x));
	x->action = s->action;
	x->line = s->line;
	x->col = s->col;
	x->svc_enabled = s->svc_enabled;
	x->timeout_ms = s->timeout_ms;
	x->name = s->name != NULL ? xstrdup(s->name) : NULL;
	x->mode = s->mode != NULL ? xstrdup(s->mode) : NULL;
	x->svc_state = s->svc_state != NULL ? xstrdup(s->svc_state) : NULL;
	if (step_xlist(&x->pkgs, &s->pkgs, rr, err) == -1 ||
	    step_xlist(&x->pkgs_apt, &s->pkgs_apt, rr, err) == -1 ||
	    step_xlist(&x->pkgs_dnf, &s->pkgs_dnf, rr, err) == -1 ||
	    step_xlist(&x->pkgs_yum, &s->pkgs_yum, rr, err) == -1 ||
	    step_xlist(&x->pkgs_apk, &s->pkgs_apk, rr, err) == -1 ||
	    step_xstr(&x->from, s->from, rr, err) == -1 ||
	    step_xstr(&x->to, s->to, rr, err) == -1 ||
	    step_xstr(&x->cmd, s->cmd, rr, err) == -1 ||
	    step_xstr(&x->svc_name, s->svc_name, rr, err) == -1 ||
	    step_xstr(&x->creates, s->creates, rr, err) == -1 ||
	    step_xstr(&x->unless, s->unless, rr, err) == -1)
		return -1;
	if (s->nenv > 0)
		x->env = xcalloc(s->nenv, sizeof(*x->env));
	for (i = 0; i < s->nenv; i++) {
		x->env[i].key = xstrdup(s->env[i].key);
		x->nenv++;
		if (step_xstr(&x->env[i].val, s->env[i].val, rr, err) == -1) {
			gs_error_prefix(err, "env %s", s->env[i].key);
			return -1;
		}
	}
	return 0;
}

int
step_argv(const struct step_exec *ex, struct gs_error *err, ...)
{
	const char	*argv[16];
	va_list		 ap;
	size_t		 n = 0;

	va_start(ap, err);
	while ((argv[n] = va_arg(ap, const char *)) != NULL &&
	    n < sizeof(argv) / sizeof(argv[0]) - 1)
		n++;
	va_end(ap);
	argv[n] = NULL;
	return run_argv((char *const *)argv, &ex->ro, err);
}

/* a variable for the current step's children only */
void
step_setenv(struct step_exec *ex, const char *name, const char *val)
{
	run_env_set(&ex->env, name, val);
	ex->ro.envp = ex->env.v;
}

/* ---- run */

static int
step_do_run(struct step_runner *rr, const struct recipe_step *x,
    struct gs_error *err)
{
	return run_shell(x->cmd, &rr->ex.ro, err);
}

/* ---- copy */

static int
step_do_copy(struct step_runner *rr, const struct recipe_step *x,
    struct gs_error *err)
{
	struct copy_stats	 cs;

	if (copy_path(&cs, rr->ctx->service_dir, x->from, x->to, x->mode,
	    err) == -1)
		return -1;
	log_info("recipe.copy", "step=%zu from=\"%s\" to=\"%s\" files=%zu "
	    "bytes=%llu", rr->ex.step, x->from, x->to, cs.files,
	    (unsigned long long)cs.bytes);
	return 0;
}

/* ---- template */

static int
step_do_template(struct step_runner *rr, const struct recipe_step *x,
    struct gs_error *err)
{
	char	*src = NULL, *buf = NULL, *text = NULL, *dir = NULL;
	char	*base = NULL;
	size_t	 len;
	mode_t	 mode = 0644;
	int	 ret = -1;

	if (*x->to != '/' || x->to[strlen(x->to) - 1] == '/')
		return gs_error_set(err, GS_E_CONFIG, 0, "template dest \"%s\": "
		    "must be an absolute file path", x->to);
	if (x->mode != NULL && recipe_mode_parse(x->mode, &mode) == -1)
		return gs_error_set(err, GS_E_CONFIG, 0, "template: invalid "
		    "mode \"%s\"", x->mode);
	if (copy_resolve_src(&src, x->from, rr->ctx->service_dir,
	    "template src", err) == -1)
		return -1;
	if (util_read_file(src, RECIPE_MAX_FILE, &buf, &len, err) == -1) {
		gs_error_prefix(err, "template src \"%s\"", x->from);
		goto out;
	}
	if (strlen(buf) != len) {
		gs_error_set(err, GS_E_CONFIG, 0, "template src \"%s\": "
		    "contains a NUL character", x->from);
		goto out;
	}
	if (recipe_expand(&text, buf, rr->vars, rr->nvars, err) == -1) {
		gs_error_prefix(err, "template src \"%s\"", x->from);
		goto out;
	}
	copy_split(x->to, &dir, &base);
	if (util_mkdir_p(dir, 0755, err) == -1 ||
	    util_write_atomic(dir, base, text, strlen(text), mode, err) == -1)
		goto out;
	log_info("recipe.template", "step=%zu src=\"%s\" dest=\"%s\" "
	    "bytes=%zu", rr->ex.step, x->from, x->to, strlen(text));
	ret = 0;
out:
	free(src);
	free(buf);
	free(text);
	free(dir);
	free(base);
	return ret;
}

/* ---- one step */

static int
step_one(struct step_runner *rr, const struct recipe_step *s,
    struct gs_error *err)
{
	struct recipe_step	 x;
	struct gs_error		 e;
	char			 tag[32], *creates = NULL;
	size_t			 i;
	int64_t			 t0;
	int			 rc, ret = -1;

	if (step_expand(&x, s, rr, err) == -1)
		goto out;

	/* the base environment, then the step's own */
	run_env_free(&rr->ex.env);
	for (i = 0; i < rr->env.n; i++) {
		rr->ex.env.v = xreallocarray(rr->ex.env.v, rr->ex.env.n + 2,
		    sizeof(*rr->ex.env.v));
		rr->ex.env.v[rr->ex.env.n++] = xstrdup(rr->env.v[i]);
		rr->ex.env.v[rr->ex.env.n] = NULL;
	}
	for (i = 0; i < x.nenv; i++)
		run_env_set(&rr->ex.env, x.env[i].key, x.env[i].val);

	snprintf(tag, sizeof(tag), "step=%zu", rr->ex.step);
	memset(&rr->ex.ro, 0, sizeof(rr->ex.ro));
	rr->ex.ro.cwd = rr->ctx->service_dir;
	rr->ex.ro.envp = rr->ex.env.v;
	rr->ex.ro.logev = "recipe.out";
	rr->ex.ro.logtag = tag;
	if ((rr->ex.ro.timeout_ms = s->timeout_ms) == 0 &&
	    (rr->ex.ro.timeout_ms = rr->ctx->default_timeout_ms) <= 0)
		rr->ex.ro.timeout_ms = STEP_TIMEOUT_MS;

	if (x.creates != NULL) {
		creates = *x.creates == '/' ? xstrdup(x.creates) :
		    util_path_join(rr->ctx->service_dir, x.creates);
		if (util_exists(creates)) {
			log_info("recipe.skip", "step=%zu name=\"%s\" "
			    "reason=creates", rr->ex.step, rr->ex.label);
			ret = 0;
			goto out;
		}
	}
	if (x.unless != NULL) {
		if (run_shell(x.unless, &rr->ex.ro, &e) == 0) {
			log_info("recipe.skip", "step=%zu name=\"%s\" "
			    "reason=unless", rr->ex.step, rr->ex.label);
			ret = 0;
			goto out;
		}
		/* a guard that hangs or crashes is no answer */
		if (e.code > 128) {
			*err = e;
			gs_error_prefix(err, "unless");
			goto out;
		}
	}

	log_info("recipe.step", "step=%zu action=%s name=\"%s\"", rr->ex.step,
	    recipe_action_name(s->action), rr->ex.label);
	t0 = util_now_ms();
	switch (s->action) {
	case RECIPE_RUN:
		rc = step_do_run(rr, &x, err);
		break;
	case RECIPE_COPY:
		rc = step_do_copy(rr, &x, err);
		break;
	case RECIPE_TEMPLATE:
		rc = step_do_template(rr, &x, err);
		break;
	case RECIPE_PACKAGES:
		rc = pkg_install(&rr->pkg, &rr->ex, &x, err);
		break;
	case RECIPE_SERVICE:
		rc = svc_apply(&rr->ex, &x, err);
		break;
	default:
		fatalx("recipe.step", "bad action %d", (int)s->action);
	}
	if (rc == -1)
		goto out;
	log_info("recipe.step.done", "step=%zu action=%s name=\"%s\" ms=%lld",
	    rr->ex.step, recipe_action_name(s->action), rr->ex.label,
	    (long long)(util_now_ms() - t0));
	ret = 0;
out:
	free(creates);
	recipe_step_clear(&x);
	return ret;
}

/* GITSTRAP_VAR_DOCROOT for docroot */
static char *
step_var_envname(const char *key)
{
	char	*s, *c;

	xasprintf(&s, "GITSTRAP_VAR_%s", key);
	for (c = s + strlen("GITSTRAP_VAR_"); *c != '\0'; c++)
		*c = isalnum((unsigned char)*c) ?
		    (char)toupper((unsigned char)*c) : '_';
	return s;
}

int
step_run_recipe(const struct recipe *r, const struct recipe_ctx *ctx,
    struct gs_error *err)
{
	struct step_runner	 rr;
	char			 label[128], *name;
	size_t			 i;
	int			 ret = -1;

	assert(ctx != NULL && ctx->service_dir != NULL);
	memset(&rr, 0, sizeof(rr));
	rr.r = r;
	rr.ctx = ctx;
	recipe_vars(&rr.vars, &rr.nvars, r, ctx);
	for (i = 0; i < rr.nvars; i++) {
		if (rr.vars[i].val == NULL) {
			gs_error_set(err, GS_E_CONFIG, 0, "recipe %s: var "
			    "\"%s\" has no value: set it in service.vars",
			    r->name, rr.vars[i].key);
			goto out;
		}
	}

	/* a clean environment: nothing of gitstrap's own leaks into steps */
	run_env_base(&rr.env);
	run_env_set(&rr.env, "GITSTRAP_SERVICE_DIR", ctx->service_dir);
	if (ctx->service_commit != NULL)
		run_env_set(&rr.env, "GITSTRAP_SERVICE_COMMIT",
		    ctx->service_commit);
	for (i = 0; i < rr.nvars; i++) {
		name = step_var_envname(rr.vars[i].key);
		run_env_set(&rr.env, name, rr.vars[i].val);
		free(name);
	}

	/* recipe.start and recipe.done are the caller's (the pipeline) */
	for (i = 0; i < r->nsteps; i++) {
		step_label(&r->steps[i], label, sizeof(label));
		rr.ex.step = i + 1;
		rr.ex.label = label;
		if (step_one(&rr, &r->steps[i], err) == -1) {
			gs_error_prefix(err, "recipe %s: step %zu (%s)",
			    r->name, i + 1, label);
			goto out;
		}
	}
	ret = 0;
out:
	run_env_free(&rr.ex.env);
	run_env_free(&rr.env);
	kv_free(rr.vars, rr.nvars);
	return ret;
}
