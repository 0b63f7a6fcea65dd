/*
 * recipe.c: recipes, the steps that install a service layer.
 *
 * A recipe is a YAML file, shipped in recipes/NAME.yml or kept in the
 * service repo: default vars and a list of steps with one action each
 * (packages, copy, template, run, service). Parsing collects every problem
 * as "FILE:LINE:COL: message" before failing. This file is what a recipe
 * is: parsing, finding one, its vars and "{{ var }}" expansion, and the
 * rules a step's values must follow. Running one is step.c's.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gitstrap.h"

#ifndef GS_RECIPES_DIR
#define GS_RECIPES_DIR		"/usr/local/share/gitstrap/recipes"
#endif

static const char *const recipe_action_names[] = {
	"packages", "copy", "template", "run", "service", NULL
};
static const char *const recipe_option_names[] = {
	"name", "creates", "unless", "timeout", "env", NULL
};
static const char *const recipe_states[] = {
	"started", "stopped", "restarted", "reloaded", NULL
};

/* ------------------------------------------------------------------ */
/*
 * small helpers, and the rules for values that step.c, copy.c, pkg.c and
 * svc.c check again once "{{ var }}" is expanded
 */

static int
recipe_in(const char *s, const char *const *list)
{
	size_t	i;

	for (i = 0; list[i] != NULL; i++)
		if (strcmp(s, list[i]) == 0)
			return (int)i;
	return -1;
}

/* a relative path that cannot climb out of where it is resolved */
int
recipe_relpath_ok(const char *path)
{
	const char	*p = path, *end;

	if (*path == '\0' || *path == '/')
		return 0;
	for (; *p != '\0'; p = *end == '/' ? end + 1 : end) {
		if ((end = strchr(p, '/')) == NULL)
			end = p + strlen(p);
		if (end - p == 2 && p[0] == '.' && p[1] == '.')
			return 0;
	}
	return 1;
}

/* is path (resolved) root itself or below it? */
int
recipe_path_inside(const char *root, const char *path)
{
	size_t	len = strlen(root);

	if (len == 1 && root[0] == '/')
		return 1;
	return strncmp(root, path, len) == 0 &&
	    (path[len] == '\0' || path[len] == '/');
}

/* "0644", "755": octal permission bits */
int
recipe_mode_parse(const char *s, mode_t *out)
{
	unsigned long	 v = 0;
	size_t		 len = strlen(s), i;

	if (len == 0 || len > 4)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '7')
			return -1;
		v = v * 8 + (s[i] - '0');
	}
	*out = (mode_t)v;
	return 0;
}

int
recipe_pkg_ok(const char *s)
{
	if (!isalnum((unsigned char)*s))
		return 0;
	for (s++; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) &&
		    strchr("+-._:=/~@", *s) == NULL)
			return 0;
	return 1;
}

int
recipe_svc_ok(const char *s)
{
	if (*s == '\0' || *s == '-' || *s == '.')
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) &&
		    strchr("@._:-", *s) == NULL)
			return 0;
	return 1;
}

static int
recipe_has_var(const char *s)
{
	return strstr(s, "{{") != NULL;
}

const char *
recipe_action_name(enum recipe_action a)
{
	return recipe_action_names[a];
}

static void
recipe_strlist_add(struct gs_strlist *l, const char *s)
{
	l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = xstrdup(s);
}

static void
recipe_strlist_clear(struct gs_strlist *l)
{
	size_t	i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* ------------------------------------------------------------------ */
/* parsing */

struct recipe_parser {
	const char	*file;
	struct gs_diag	*diag;
	size_t		 nerr;
};

static void recipe_diag(struct recipe_parser *, const struct yml_node *,
    const char *, ...) __attribute__((format(printf, 3, 4)));

static void
recipe_diag(struct recipe_parser *p, const struct yml_node *n,
    const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	diag_addat(p->diag, p->file, n != NULL ? n->line : 1,
	    n != NULL ? n->col : 1, "%s", msg);
	free(msg);
	p->nerr++;
}

/* a plain ~, null or nothing: YAML's null */
static int
recipe_is_null(const struct yml_node *n)
{
	if (n->type != YML_SCALAR || n->quoted)
		return 0;
	return n->len == 0 || strcmp(n->str, "~") == 0 ||
	    strcmp(n->str, "null") == 0 || strcmp(n->str, "Null") == 0 ||
	    strcmp(n->str, "NULL") == 0;
}

static const char *
recipe_what(const struct yml_node *n)
{
	switch (n->type) {
	case YML_SEQ:
		return "a list";
	case YML_MAP:
		return "a mapping";
	default:
		return recipe_is_null(n) ? "nothing" : "a string";
	}
}

/* a non-empty string, or NULL after a diagnostic */
static char *
recipe_str(struct recipe_parser *p, const struct yml_node *n,
    const char *path)
{
	if (n->type != YML_SCALAR || recipe_is_null(n)) {
		recipe_diag(p, n, "%s: expected a string, got %s", path,
		    recipe_what(n));
		return NULL;
	}
	if (n->len == 0) {
		recipe_diag(p, n, "%s: must not be empty", path);
		return NULL;
	}
	if (strlen(n->str) != n->len) {
		recipe_diag(p, n, "%s: contains a NUL character", path);
		return NULL;
	}
	return xstrdup(n->str);
}

static int
recipe_want_map(struct recipe_parser *p, const struct yml_node *n,
    const char *path)
{
	if (n->type == YML_MAP)
		return 0;
	recipe_diag(p, n, "%s: expected a mapping, got %s", path,
	    recipe_what(n));
	return -1;
}

/* unknown keys of a mapping are errors */
static void
recipe_check_keys(struct recipe_parser *p, const struct yml_node *n,
    const char *path, const char *const *known)
{
	size_t	i;

	for (i = 0; i < n->n; i++)
		if (recipe_in(n->keys[i]->str, known) == -1)
			recipe_diag(p, n->keys[i], "%s: unknown key \"%s\"",
			    path, n->keys[i]->str);
}

static struct yml_node *
recipe_require(struct recipe_parser *p, const struct yml_node *n,
    const char *path, const char *key)
{
	struct yml_node	*v;

	if ((v = yml_get(n, key)) == NULL)
		recipe_diag(p, n, "%s: missing required key \"%s\"", path, key);
	return v;
}

/* a list of package names; at least one */
static void
recipe_parse_pkglist(struct recipe_parser *p, struct gs_strlist *l,
    const struct yml_node *n, const char *path)
{
	char	 ipath[160], *s;
	size_t	 i;

	if (n->type != YML_SEQ) {
		recipe_diag(p, n, "%s: expected a list, got %s", path,
		    recipe_what(n));
		return;
	}
	if (n->n == 0) {
		recipe_diag(p, n, "%s: expected at least one package", path);
		return;
	}
	for (i = 0; i < n->n; i++) {
		snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
		if ((s = recipe_str(p, n->items[i], ipath)) == NULL)
			continue;
		if (!recipe_has_var(s) && !recipe_pkg_ok(s))
			recipe_diag(p, n->items[i],
			    "%s: invalid package name \"%s\"", ipath, s);
		recipe_strlist_add(l, s);
		free(s);
	}
}

static void
recipe_parse_packages(struct recipe_parser *p, struct recipe_step *s,
    const struct yml_node *n, const char *where)
{
	static const char *const keys[] = { "apt", "dnf", "yum", "apk", NULL };
	struct gs_strlist	*lists[4];
	char			 path[128], kpath[160];
	size_t			 i;

	snprintf(path, sizeof(path), "%s.packages", where);
	if (n->type == YML_SEQ) {
		recipe_parse_pkglist(p, &s->pkgs, n, path);
		return;
	}
	if (n->type != YML_MAP) {
		recipe_diag(p, n, "%s: expected a list of packages, or a "
		    "mapping of lists for apt, dnf, yum, apk; got %s", path,
		    recipe_what(n));
		return;
	}
	if (n->n == 0) {
		recipe_diag(p, n, "%s: expected lists for at least one of "
		    "apt, dnf, yum, apk", path);
		return;
	}
	lists[0] = &s->pkgs_apt;
	lists[1] = &s->pkgs_dnf;
	lists[2] = &s->pkgs_yum;
	lists[3] = &s->pkgs_apk;
	recipe_check_keys(p, n, path, keys);
	for (i = 0; keys[i] != NULL; i++) {
		const struct yml_node	*v;

		if ((v = yml_get(n, keys[i])) == NULL)
			continue;
		snprintf(kpath, sizeof(kpath), "%s.%s", path, keys[i]);
		recipe_parse_pkglist(p, lists[i], v, kpath);
	}
}

static void
recipe_parse_mode(struct recipe_parser *p, struct recipe_step *s,
    const struct yml_node *n, const char *path)
{
	char	kpath[160];
	mode_t	mode;

	snprintf(kpath, sizeof(kpath), "%s.mode", path);
	if ((s->mode = recipe_str(p, n, kpath)) == NULL)
		return;
	if (recipe_mode_parse(s->mode, &mode) == -1)
		recipe_diag(p, n, "%s: invalid mode \"%s\" (expected octal, "
		    "e.g. \"0644\")", kpath, s->mode);
}

/* copy: {from, to, mode}; template: {src, dest, mode} */
static void
recipe_parse_files(struct recipe_parser *p, struct recipe_step *s,
    const struct yml_node *n, const char *where, const char *action,
    const char *srckey, const char *dstkey)
{
	const char *const	 keys[] = { srckey, dstkey, "mode", NULL };
	const struct yml_node	*v;
	char			 path[128], kpath[160];

	snprintf(path, sizeof(path), "%s.%s", where, action);
	if (recipe_want_map(p, n, path) == -1)
		return;
	recipe_check_keys(p, n, path, keys);
	if ((v = recipe_require(p, n, path, srckey)) != NULL) {
		snprintf(kpath, sizeof(kpath), "%s.%s", path, srckey);
		if ((s->from = recipe_str(p, v, kpath)) != NULL &&
		    !recipe_has_var(s->from) && !recipe_relpath_ok(s->from))
			recipe_diag(p, v, "%s: must be a path inside the "
			    "service repo (no leading \"/\", no \"..\")", kpath);
	}
	if ((v = recipe_require(p, n, path, dstkey)) != NULL) {
		snprintf(kpath, sizeof(kpath), "%s.%s", path, dstkey);
		if ((s->to = recipe_str(p, v, kpath)) != NULL &&
		    !recipe_has_var(s->to) && *s->to != '/')
			recipe_diag(p, v, "%s: must be an absolute path", kpath);
	}
	if ((v = yml_get(n, "mode")) != NULL)
		recipe_parse_mode(p, s, v, path);
}

static void
recipe_parse_service(struct recipe_parser *p, struct recipe_step *s,
    const struct yml_node *n, const char *where)
{
	static const char *const keys[] = { "name", "state", "enabled", NULL };
	const struct yml_node	*v;
	char			 path[128], kpath[160];

	snprintf(path, sizeof(path), "%s.service", where);
	if (recipe_want_map(p, n, path) == -1)
		return;
	recipe_check_keys(p, n, path, keys);
	if ((v = recipe_require(p, n, path, "name")) != NULL) {
		snprintf(kpath, sizeof(kpath), "%s.name", path);
		if ((s->svc_name = recipe_str(p, v, kpath)) != NULL &&
		    !recipe_has_var(s->svc_name) && !recipe_svc_ok(s->svc_name))
			recipe_diag(p, v, "%s: invalid service name \"%s\"",
			    kpath, s->svc_name);
	}
	if ((v = yml_get(n, "state")) != NULL) {
		snprintf(kpath, sizeof(kpath), "%s.state", path);
		if ((s->svc_state = recipe_str(p, v, kpath)) != NULL &&
		    recipe_in(s->svc_state, recipe_states) == -1)
			recipe_diag(p, v, "%s: expected started, stopped, "
			    "restarted or reloaded, got \"%s\"", kpath,
			    s->svc_state);
	}
	if ((v = yml_get(n, "enabled")) != NULL) {
		snprintf(kpath, sizeof(kpath), "%s.enabled", path);
		if (v->type != YML_SCALAR)
			recipe_diag(p, v, "%s: expected true or false, got %s",
			    kpath, recipe_what(v));
		else if ((s->svc_enabled = yml_bool(v)) == -1)
			recipe_diag(p, v, "%s: expected true or false, got "
			    "\"%s\"", kpath, v->str);
	}
	if (yml_get(n, "state") == NULL && yml_get(n, "enabled") == NULL)
		recipe_diag(p, n, "%s: needs \"state\" or \"enabled\"", path);
}

static void
recipe_parse_env(struct recipe_parser *p, struct recipe_step *s,
    const struct yml_node *n, const char *where)
{
	const struct yml_node	*v;
	char			 path[128], kpath[256];
	size_t			 i;

	snprintf(path, sizeof(path), "%s.env", where);
	if (recipe_want_map(p, n, path) == -1)
		return;
	s->env = xcalloc(n->n, sizeof(*s->env));
	for (i = 0; i < n->n; i++) {
		snprintf(kpath, sizeof(kpath), "%s.%s", path, n->keys[i]->str);
		if (!util_is_identifier(n->keys[i]->str)) {
			recipe_diag(p, n->keys[i], "%s: invalid variable name "
			    "\"%s\" (letters, digits and _)", path,
			    n->keys[i]->str);
			continue;
		}
		v = n->vals[i];
		if (v->type != YML_SCALAR) {
			recipe_diag(p, v, "%s: expected a string, got %s",
			    kpath, recipe_what(v));
			continue;
		}
		s->env[s->nenv].key = xstrdup(n->keys[i]->str);
		s->env[s->nenv].val = xstrdup(recipe_is_null(v) ? "" : v->str);
		s->nenv++;
	}
}

static void
recipe_parse_timeout(struct recipe_parser *p, struct recipe_step *s,
    const struct yml_node *n, const char *where)
{
	const char	*why = NULL;
	char		 path[128];
	int64_t		 ms;

	snprintf(path, sizeof(path), "%s.timeout", where);
	if (n->type != YML_SCALAR || recipe_is_null(n)) {
		recipe_diag(p, n, "%s: expected a duration, got %s", path,
		    recipe_what(n));
		return;
	}
	if (util_parse_duration(n->str, &ms, &why) == -1) {
		recipe_diag(p, n, "%s: invalid duration \"%s\": %s", path,
		    n->str, why != NULL ? why : "expected e.g. 90s, 5m, 1h");
		return;
	}
	if (ms <= 0) {
		recipe_diag(p, n, "%s: must be more than 0", path);
		return;
	}
	s->timeout_ms = ms;
}

static void
recipe_parse_step(struct recipe_parser *p, struct recipe_step *s,
    size_t idx, const struct yml_node *n)
{
	const struct yml_node	*acts[8];
	char			 where[64], path[128], list[128];
	const char		*key;
	size_t			 i, nact = 0, len;
	int			 k;

	s->line = n->line;
	s->col = n->col;
	s->svc_enabled = -1;
	snprintf(where, sizeof(where), "steps[%zu]", idx);
	if (recipe_want_map(p, n, where) == -1)
		return;

	for (i = 0; i < n->n; i++) {
		key = n->keys[i]->str;
		if ((k = recipe_in(key, recipe_action_names)) != -1) {
			if (nact < sizeof(acts) / sizeof(acts[0]))
				acts[nact++] = n->keys[i];
			if (nact == 1)
				s->action = (enum recipe_action)k;
		} else if (recipe_in(key, recipe_option_names) == -1)
			recipe_diag(p, n->keys[i], "%s: unknown key \"%s\"",
			    where, key);
	}
	if (nact == 0) {
		recipe_diag(p, n, "%s: a step needs exactly one action "
		    "(packages, copy, template, run, service)", where);
		return;
	}
	if (nact > 1) {
		/* ("run" and "copy"), ("run", "copy" and "service") */
		list[0] = '\0';
		for (i = 0; i < nact; i++) {
			len = strlen(list);
			snprintf(list + len, sizeof(list) - len, "%s\"%s\"",
			    i == 0 ? "" : i == nact - 1 ? " and " : ", ",
			    acts[i]->str);
		}
		recipe_diag(p, acts[1], "%s: more than one action (%s)", where,
		    list);
		return;
	}

	switch (s->action) {
	case RECIPE_PACKAGES:
		recipe_parse_packages(p, s, yml_get(n, "packages"), where);
		break;
	case RECIPE_COPY:
		recipe_parse_files(p, s, yml_get(n, "copy"), where, "copy",
		    "from", "to");
		break;
	case RECIPE_TEMPLATE:
		recipe_parse_files(p, s, yml_get(n, "template"), where,
		    "template", "src", "dest");
		break;
	case RECIPE_RUN:
		snprintf(path, sizeof(path), "%s.run", where);
		s->cmd = recipe_str(p, yml_get(n, "run"), path);
		break;
	case RECIPE_SERVICE:
		recipe_parse_service(p, s, yml_get(n, "service"), where);
		break;
	}

	for (i = 0; i < n->n; i++) {
		key = n->keys[i]->str;
		snprintf(path, sizeof(path), "%s.%s", where, key);
		if (strcmp(key, "name") == 0)
			s->name = recipe_str(p, n->vals[i], path);
		else if (strcmp(key, "creates") == 0)
			s->creates = recipe_str(p, n->vals[i], path);
		else if (strcmp(key, "unless") == 0)
			s->unless = recipe_str(p, n->vals[i], path);
		else if (strcmp(key, "timeout") == 0)
			recipe_parse_timeout(p, s, n->vals[i], where);
		else if (strcmp(key, "env") == 0)
			recipe_parse_env(p, s, n->vals[i], where);
	}
}

static void
recipe_parse_vars(struct recipe_parser *p, struct recipe *r,
    const struct yml_node *n)
{
	const struct yml_node	*v;
	size_t			 i;

	if (recipe_want_map(p, n, "vars") == -1)
		return;
	r->vars = xcalloc(n->n, sizeof(*r->vars));
	for (i = 0; i < n->n; i++) {
		if (!util_is_identifier(n->keys[i]->str)) {
			recipe_diag(p, n->keys[i], "vars: invalid var name "
			    "\"%s\" (letters, digits and _)", n->keys[i]->str);
			continue;
		}
		v = n->vals[i];
		if (v->type != YML_SCALAR) {
			recipe_diag(p, v, "vars.%s: expected a string, got %s",
			    n->keys[i]->str, recipe_what(v));
			continue;
		}
		r->vars[r->nvars].key = xstrdup(n->keys[i]->str);
		/* a var without a value must be given by service.vars */
		r->vars[r->nvars].val = recipe_is_null(v) ? NULL :
		    xstrdup(v->str);
		r->nvars++;
	}
}

/* "recipes/nginx-static.yml" -> "nginx-static" */
static char *
recipe_name_from_file(const char *file)
{
	const char	*base, *dot;

	base = (base = strrchr(file, '/')) != NULL ? base + 1 : file;
	if ((dot = strrchr(base, '.')) != NULL && dot != base &&
	    (strcmp(dot, ".yml") == 0 || strcmp(dot, ".yaml") == 0))
		return xstrndup(base, dot - base);
	return xstrdup(base);
}

int
recipe_parse(struct recipe **out, const char *file, const char *buf,
    size_t len, struct gs_diag *diag, struct gs_error *err)
{
	static const char *const keys[] = { "name", "vars", "steps", NULL };
	struct gs_diag		 local = { NULL, 0 };
	struct recipe_parser	 p;
	struct yml_doc		*doc = NULL;
	const struct yml_node	*root, *v;
	struct recipe		*r;
	size_t			 i, first;

	*out = NULL;
	if (diag == NULL)
		diag = &local;
	first = diag->n;
	p.file = file;
	p.diag = diag;
	p.nerr = 0;

	if (yml_parse(&doc, file, buf, len, err) == -1) {
		diag_add(diag, "%s", err->msg);
		diag_free(&local);
		return -1;
	}

	r = xcalloc(1, sizeof(*r));
	r->file = xstrdup(file);
	root = doc->root;
	if (root == NULL)
		recipe_diag(&p, NULL, "recipe: empty document (expected a "
		    "mapping with \"steps\")");
	else if (recipe_want_map(&p, root, "recipe") == 0) {
		recipe_check_keys(&p, root, "recipe", keys);
		if ((v = yml_get(root, "name")) != NULL)
			r->name = recipe_str(&p, v, "name");
		if ((v = yml_get(root, "vars")) != NULL)
			recipe_parse_vars(&p, r, v);
		if ((v = recipe_require(&p, root, "recipe", "steps")) == NULL)
			;
		else if (v->type != YML_SEQ)
			recipe_diag(&p, v, "steps: expected a list, got %s",
			    recipe_what(v));
		else {
			r->steps = xcalloc(v->n, sizeof(*r->steps));
			r->nsteps = v->n;
			for (i = 0; i < v->n; i++)
				recipe_parse_step(&p, &r->steps[i], i,
				    v->items[i]);
		}
	}
	if (r->name == NULL)
		r->name = recipe_name_from_file(file);
	yml_free(doc);

	if (p.nerr > 0) {
		gs_error_set(err, GS_E_CONFIG, 0, "%s", diag->msgs[first]);
		recipe_free(r);
		diag_free(&local);
		return -1;
	}
	diag_free(&local);
	*out = r;
	return 0;
}

int
recipe_load(struct recipe **out, const char *path, struct gs_diag *diag,
    struct gs_error *err)
{
	char	*buf = NULL;
	size_t	 len;
	int	 ret;

	*out = NULL;
	if (util_read_file(path, RECIPE_MAX_FILE, &buf, &len, err) == -1)
		return -1;
	ret = recipe_parse(out, path, buf, len, diag, err);
	free(buf);
	return ret;
}

void
recipe_step_clear(struct recipe_step *s)
{
	free(s->name);
	recipe_strlist_clear(&s->pkgs);
	recipe_strlist_clear(&s->pkgs_apt);
	recipe_strlist_clear(&s->pkgs_dnf);
	recipe_strlist_clear(&s->pkgs_yum);
	recipe_strlist_clear(&s->pkgs_apk);
	free(s->from);
	free(s->to);
	free(s->mode);
	free(s->cmd);
	free(s->svc_name);
	free(s->svc_state);
	free(s->creates);
	free(s->unless);
	kv_free(s->env, s->nenv);
	memset(s, 0, sizeof(*s));
}

void
recipe_free(struct recipe *r)
{
	size_t	i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nsteps; i++)
		recipe_step_clear(&r->steps[i]);
	free(r->steps);
	kv_free(r->vars, r->nvars);
	free(r->name);
	free(r->file);
	free(r);
}

void
kv_free(struct gs_kv *kv, size_t n)
{
	size_t	i;

	if (kv == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(kv[i].key);
		free(kv[i].val);
	}
	free(kv);
}

/* ------------------------------------------------------------------ */
/* finding a recipe */

static int
recipe_name_ok(const char *s)
{
	if (*s == '\0' || *s == '.' || *s == '-')
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr("._-", *s) == NULL)
			return 0;
	return 1;
}

static int
recipe_ends_with(const char *s, const char *suffix)
{
	size_t	ls = strlen(s), lx = strlen(suffix);

	return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

static int
recipe_find_in_repo(char **out, const char *name, const char *service_dir,
    struct gs_error *err)
{
	struct stat	 st;
	char		*path = NULL, *real = NULL, *root = NULL;
	int		 ret = -1;

	if (!recipe_relpath_ok(name))
		return gs_error_set(err, GS_E_CONFIG, 0, "recipe \"%s\": must "
		    "be a path inside the service repo (no leading \"/\", "
		    "no \"..\")", name);
	path = util_path_join(service_dir, name);
	if ((root = realpath(service_dir, NULL)) == NULL) {
		gs_error_sys(err, "%s", service_dir);
		goto out;
	}
	if ((real = realpath(path, NULL)) == NULL) {
		if (errno == ENOENT || errno == ENOTDIR)
			gs_error_set(err, GS_E_CONFIG, errno, "recipe \"%s\": "
			    "not found in the service repo", name);
		else
			gs_error_sys(err, "recipe \"%s\"", name);
		goto out;
	}
	if (!recipe_path_inside(root, real)) {
		gs_error_set(err, GS_E_CONFIG, 0, "recipe \"%s\": leads "
		    "outside the service repo", name);
		goto out;
	}
	if (stat(real, &st) == -1) {
		gs_error_sys(err, "recipe \"%s\"", name);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		gs_error_set(err, GS_E_CONFIG, 0, "recipe \"%s\": not a "
		    "regular file", name);
		goto out;
	}
	*out = path;
	path = NULL;
	ret = 0;
out:
	free(root);
	free(real);
	free(path);
	return ret;
}

/* a path in the service repo (has a '/' or ends in .yml), not a name */
int
recipe_is_path(const char *name)
{
	return strchr(name, '/') != NULL || recipe_ends_with(name, ".yml");
}

int
recipe_find(char **out, const char *name, const char *service_dir,
    struct gs_error *err)
{
	struct stat	 st;
	const char	*dirs, *p, *end;
	char		*path;
	size_t		 len;

	*out = NULL;
	if (name == NULL || *name == '\0')
		return gs_error_set(err, GS_E_CONFIG, 0, "recipe: empty name");
	if (recipe_is_path(name)) {
		if (service_dir == NULL)
			return gs_error_set(err, GS_E_CONFIG, 0, "recipe \"%s\": "
			    "no service checkout to look in", name);
		return recipe_find_in_repo(out, name, service_dir, err);
	}

	if (!recipe_name_ok(name))
		return gs_error_set(err, GS_E_CONFIG, 0,
		    "invalid recipe name \"%s\"", name);
	if ((dirs = getenv("GITSTRAP_RECIPES_DIR")) == NULL || *dirs == '\0')
		dirs = GS_RECIPES_DIR;
	for (p = dirs; *p != '\0'; p = *end == ':' ? end + 1 : end) {
		if ((end = strchr(p, ':')) == NULL)
			end = p + strlen(p);
		if ((len = end - p) == 0)
			continue;
		xasprintf(&path, "%.*s/%s.yml", (int)len, p, name);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			*out = path;
			return 0;
		}
		free(path);
	}
	return gs_error_set(err, GS_E_CONFIG, 0,
	    "unknown recipe \"%s\" (looked in %s)", name, dirs);
}

/* ------------------------------------------------------------------ */
/* vars */

struct recipe_buf {
	char	*p;
	size_t	 len, cap;
};

static void
recipe_buf_add(struct recipe_buf *b, const char *s, size_t len)
{
	if (b->len + len + 1 > b->cap) {
		b->cap = (b->len + len + 1) * 2;
		b->p = xreallocarray(b->p, b->cap, 1);
	}
	memcpy(b->p + b->len, s, len);
	b->len += len;
	b->p[b->len] = '\0';
}

static const struct gs_kv *
recipe_var_get(const struct gs_kv *vars, size_t n, const char *name,
    size_t len)
{
	size_t	i;

	/* from the end, so a later entry overrides an earlier one */
	for (i = n; i > 0; i--)
		if (strncmp(vars[i - 1].key, name, len) == 0 &&
		    vars[i - 1].key[len] == '\0')
			return &vars[i - 1];
	return NULL;
}

int
recipe_expand(char **out, const char *in, const struct gs_kv *vars,
    size_t n, struct gs_error *err)
{
	struct recipe_buf	 b = { NULL, 0, 0 };
	const struct gs_kv	*kv;
	const char		*p = in, *open, *close, *name, *end, *c;

	*out = NULL;
	recipe_buf_add(&b, "", 0);
	while ((open = strstr(p, "{{")) != NULL) {
		recipe_buf_add(&b, p, open - p);
		if ((close = strstr(open + 2, "}}")) == NULL) {
			free(b.p);
			return gs_error_set(err, GS_E_CONFIG, 0,
			    "\"{{\" without a closing \"}}\"");
		}
		for (name = open + 2; name < close && (*name == ' ' ||
		    *name == '\t'); name++)
			;
		for (end = close; end > name && (end[-1] == ' ' ||
		    end[-1] == '\t'); end--)
			;
		if (name == end) {
			free(b.p);
			return gs_error_set(err, GS_E_CONFIG, 0,
			    "empty \"{{ }}\"");
		}
		for (c = name; c < end; c++)
			if (!isalnum((unsigned char)*c) && *c != '_')
				break;
		if (c != end || isdigit((unsigned char)*name)) {
			free(b.p);
			return gs_error_set(err, GS_E_CONFIG, 0,
			    "invalid var name \"%.*s\" in \"{{ }}\"",
			    (int)(end - name), name);
		}
		if ((kv = recipe_var_get(vars, n, name, end - name)) == NULL) {
			free(b.p);
			return gs_error_set(err, GS_E_CONFIG, 0,
			    "unknown var \"%.*s\"", (int)(end - name), name);
		}
		if (kv->val == NULL) {
			free(b.p);
			return gs_error_set(err, GS_E_CONFIG, 0,
			    "var \"%s\" has no value: set it in service.vars",
			    kv->key);
		}
		recipe_buf_add(&b, kv->val, strlen(kv->val));
		p = close + 2;
	}
	recipe_buf_add(&b, p, strlen(p));
	*out = b.p;
	return 0;
}

void
recipe_vars(struct gs_kv **out, size_t *nout, const struct recipe *r,
    const struct recipe_ctx *ctx)
{
	struct gs_kv	*kv;
	size_t		 n = 0, i, j, max;

	max = r->nvars + (ctx != NULL ? ctx->nvars : 0);
	kv = xcalloc(max, sizeof(*kv));
	for (i = 0; i < r->nvars; i++) {
		kv[n].key = xstrdup(r->vars[i].key);
		kv[n].val = r->vars[i].val != NULL ?
		    xstrdup(r->vars[i].val) : NULL;
		n++;
	}
	for (i = 0; ctx != NULL && i < ctx->nvars; i++) {
		for (j = 0; j < n; j++)
			if (strcmp(kv[j].key, ctx->vars[i].key) == 0)
				break;
		if (j == n)
			kv[n++].key = xstrdup(ctx->vars[i].key);
		free(kv[j].val);
		kv[j].val = ctx->vars[i].val != NULL ?
		    xstrdup(ctx->vars[i].val) : NULL;
	}
	*out = kv;
	*nout = n;
}
