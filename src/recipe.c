/*
 * recipe.c: recipes, the steps that install a service layer.
 *
 * A recipe is a YAML file, shipped in recipes/NAME.yml or kept in the
 * service repo: default vars and a list of steps with one action each
 * (packages, copy, template, run, service). Parsing collects every problem
 * as "FILE:LINE:COL: message" before failing. Running expands "{{ var }}"
 * in every string of a step, honours its creates/unless guards, and stops
 * at the first step that fails.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <assert.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gitstrap.h"

#ifndef GS_RECIPES_DIR
#define GS_RECIPES_DIR		"/usr/local/share/gitstrap/recipes"
#endif

#define RECIPE_MAX_FILE		(1024 * 1024)	/* recipes and templates */
#define RECIPE_TIMEOUT_MS	(30 * 60 * 1000LL)
#define RECIPE_COPY_DEPTH	128
#define RECIPE_COPY_TMP		".gitstrap-copy.tmp"
#define RECIPE_SYSTEMD_DIR	"/run/systemd/system"
#define RECIPE_APT_LOCK_WAIT	"DPkg::Lock::Timeout=300"

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
/* small helpers */

static int
recipe_in(const char *s, const char *const *list)
{
	size_t	i;

	for (i = 0; list[i] != NULL; i++)
		if (strcmp(s, list[i]) == 0)
			return (int)i;
	return -1;
}

static int
recipe_ident_ok(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return 0;
	for (s++; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return 0;
	return 1;
}

/* a relative path that cannot climb out of where it is resolved */
static int
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
static int
recipe_path_inside(const char *root, const char *path)
{
	size_t	len = strlen(root);

	if (len == 1 && root[0] == '/')
		return 1;
	return strncmp(root, path, len) == 0 &&
	    (path[len] == '\0' || path[len] == '/');
}

/* "0644", "755": octal permission bits */
static int
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

static int
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

static int
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

static const char *
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
		if (!recipe_ident_ok(n->keys[i]->str)) {
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
		if (!recipe_ident_ok(n->keys[i]->str)) {
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

static void
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
	if (strchr(name, '/') != NULL || recipe_ends_with(name, ".yml")) {
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

/* ------------------------------------------------------------------ */
/* running */

struct recipe_runner {
	const struct recipe	*r;
	const struct recipe_ctx	*ctx;
	struct gs_kv		*vars;
	size_t			 nvars;
	struct run_env		 env;		/* what every step starts from */
	struct run_env		 senv;		/* the current step's */
	const char		*pm;		/* package manager, once known */
	int			 pm_updated;	/* lists refreshed in this run */
	size_t			 step;		/* 1-based, for logs */
	const char		*label;
	struct run_opts		 ro;
};

/* how a step is named in logs and errors: its name, or a short form */
static void
recipe_step_label(const struct recipe_step *s, char *buf, size_t len)
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
recipe_xstr(char **out, const char *in, const struct recipe_runner *rr,
    struct gs_error *err)
{
	*out = NULL;
	if (in == NULL)
		return 0;
	return recipe_expand(out, in, rr->vars, rr->nvars, err);
}

static int
recipe_xlist(struct gs_strlist *out, const struct gs_strlist *in,
    const struct recipe_runner *rr, struct gs_error *err)
{
	char	*s;
	size_t	 i;

	for (i = 0; i < in->n; i++) {
		if (recipe_xstr(&s, in->v[i], rr, err) == -1)
			return -1;
		out->v = xreallocarray(out->v, out->n + 1, sizeof(*out->v));
		out->v[out->n++] = s;
	}
	return 0;
}

/* a copy of the step with every string expanded */
static int
recipe_step_expand(struct recipe_step *x, const struct recipe_step *s,
    const struct recipe_runner *rr, struct gs_error *err)
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
	if (recipe_xlist(&x->pkgs, &s->pkgs, rr, err) == -1 ||
	    recipe_xlist(&x->pkgs_apt, &s->pkgs_apt, rr, err) == -1 ||
	    recipe_xlist(&x->pkgs_dnf, &s->pkgs_dnf, rr, err) == -1 ||
	    recipe_xlist(&x->pkgs_yum, &s->pkgs_yum, rr, err) == -1 ||
	    recipe_xlist(&x->pkgs_apk, &s->pkgs_apk, rr, err) == -1 ||
	    recipe_xstr(&x->from, s->from, rr, err) == -1 ||
	    recipe_xstr(&x->to, s->to, rr, err) == -1 ||
	    recipe_xstr(&x->cmd, s->cmd, rr, err) == -1 ||
	    recipe_xstr(&x->svc_name, s->svc_name, rr, err) == -1 ||
	    recipe_xstr(&x->creates, s->creates, rr, err) == -1 ||
	    recipe_xstr(&x->unless, s->unless, rr, err) == -1)
		return -1;
	if (s->nenv > 0)
		x->env = xcalloc(s->nenv, sizeof(*x->env));
	for (i = 0; i < s->nenv; i++) {
		x->env[i].key = xstrdup(s->env[i].key);
		x->nenv++;
		if (recipe_xstr(&x->env[i].val, s->env[i].val, rr, err) == -1) {
			gs_error_prefix(err, "env %s", s->env[i].key);
			return -1;
		}
	}
	return 0;
}

static int
recipe_argv(const struct recipe_runner *rr, struct gs_error *err, ...)
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
	return run_argv((char *const *)argv, &rr->ro, err);
}

/* ---- run */

static int
recipe_do_run(struct recipe_runner *rr, const struct recipe_step *x,
    struct gs_error *err)
{
	return run_shell(x->cmd, &rr->ro, err);
}

/* ---- copy */

struct recipe_copy {
	const char	*droot;		/* for messages */
	size_t		 files;
	uint64_t	 bytes;
};

static int
recipe_copy_file(int sfd, const char *sname, int dfd, const char *dname,
    mode_t mode, const char *what, struct recipe_copy *cp,
    struct gs_error *err)
{
	char	 buf[65536], tmp[NAME_MAX + 1];
	ssize_t	 n, w, off;
	int	 in = -1, out = -1, ret = -1;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s", RECIPE_COPY_TMP) >=
	    sizeof(tmp))
		return gs_error_set(err, GS_E_SYS, ENAMETOOLONG, "%s", what);
	if ((in = openat(sfd, sname, O_RDONLY | O_CLOEXEC | O_NOFOLLOW))
	    == -1) {
		gs_error_sys(err, "%s", what);
		goto out;
	}
	(void)unlinkat(dfd, tmp, 0);
	if ((out = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) == -1) {
		gs_error_sys(err, "%s", what);
		goto out;
	}
	for (;;) {
		if ((n = read(in, buf, sizeof(buf))) == -1) {
			if (errno == EINTR)
				continue;
			gs_error_sys(err, "%s", what);
			goto out;
		}
		if (n == 0)
			break;
		for (off = 0; off < n; off += w) {
			if ((w = write(out, buf + off, n - off)) == -1) {
				if (errno == EINTR) {
					w = 0;
					continue;
				}
				gs_error_sys(err, "%s", what);
				goto out;
			}
		}
		cp->bytes += n;
	}
	if (fchmod(out, mode) == -1) {
		gs_error_sys(err, "%s", what);
		goto out;
	}
	if (close(out) == -1) {
		out = -1;
		gs_error_sys(err, "%s", what);
		goto out;
	}
	out = -1;
	if (renameat(dfd, tmp, dfd, dname) == -1) {
		gs_error_sys(err, "%s", what);
		goto out;
	}
	cp->files++;
	ret = 0;
out:
	if (out != -1)
		close(out);
	if (ret == -1)
		(void)unlinkat(dfd, tmp, 0);
	if (in != -1)
		close(in);
	return ret;
}

static int
recipe_copy_link(int sfd, const char *sname, int dfd, const char *dname,
    const char *what, struct gs_error *err)
{
	char	target[PATH_MAX], cur[PATH_MAX];
	ssize_t	n, m;

	if ((n = readlinkat(sfd, sname, target, sizeof(target) - 1)) == -1)
		return gs_error_sys(err, "%s", what);
	target[n] = '\0';
	m = readlinkat(dfd, dname, cur, sizeof(cur) - 1);
	if (m == n && memcmp(cur, target, n) == 0)
		return 0;
	(void)unlinkat(dfd, RECIPE_COPY_TMP, 0);
	if (symlinkat(target, dfd, RECIPE_COPY_TMP) == -1)
		return gs_error_sys(err, "%s", what);
	if (renameat(dfd, RECIPE_COPY_TMP, dfd, dname) == -1) {
		gs_error_sys(err, "%s", what);
		(void)unlinkat(dfd, RECIPE_COPY_TMP, 0);
		return -1;
	}
	return 0;
}

static int
recipe_copy_tree(int sfd, int dfd, const char *rel, int depth,
    struct recipe_copy *cp, struct gs_error *err)
{
	struct dirent	*de;
	struct stat	 st, dt;
	DIR		*d = NULL;
	char		*sub = NULL, *what = NULL;
	int		 fd, sfd2 = -1, dfd2 = -1, dexists, ret = -1;

	if (depth > RECIPE_COPY_DEPTH)
		return gs_error_set(err, GS_E_RUNTIME, 0, "%s/%s: too deeply "
		    "nested", cp->droot, rel);
	if ((fd = openat(sfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1
	    || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return gs_error_sys(err, "%s", *rel != '\0' ? rel : ".");
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0) {
				gs_error_sys(err, "%s", *rel != '\0' ? rel :
				    ".");
				goto out;
			}
			break;
		}
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    strcmp(de->d_name, ".git") == 0)
			continue;
		free(sub);
		free(what);
		if (*rel != '\0')
			xasprintf(&sub, "%s/%s", rel, de->d_name);
		else
			sub = xstrdup(de->d_name);
		xasprintf(&what, "%s/%s", cp->droot, sub);

		if (fstatat(sfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
			gs_error_sys(err, "%s", sub);
			goto out;
		}
		dexists = fstatat(dfd, de->d_name, &dt, AT_SYMLINK_NOFOLLOW)
		    == 0;
		if (!dexists && errno != ENOENT) {
			gs_error_sys(err, "%s", what);
			goto out;
		}
		/*
		 * A symlink at the destination (the web root gitstrap
		 * switches, say) is never written through or replaced by
		 * something that is not a link.
		 */
		if (dexists && S_ISLNK(dt.st_mode) && !S_ISLNK(st.st_mode)) {
			log_warnx("recipe.copy", "skipped=\"%s\" "
			    "reason=\"destination is a symlink\"", what);
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			if (dexists && !S_ISDIR(dt.st_mode)) {
				gs_error_set(err, GS_E_RUNTIME, 0, "%s: exists "
				    "and is not a directory", what);
				goto out;
			}
			if (!dexists && mkdirat(dfd, de->d_name, 0755) == -1) {
				gs_error_sys(err, "%s", what);
				goto out;
			}
			if ((sfd2 = openat(sfd, de->d_name, O_RDONLY |
			    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
				gs_error_sys(err, "%s", sub);
				goto out;
			}
			if ((dfd2 = openat(dfd, de->d_name, O_RDONLY |
			    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1 ||
			    (!dexists && fchmod(dfd2, 0755) == -1)) {
				gs_error_sys(err, "%s", what);
				goto out;
			}
			if (recipe_copy_tree(sfd2, dfd2, sub, depth + 1, cp,
			    err) == -1)
				goto out;
			close(sfd2);
			close(dfd2);
			sfd2 = dfd2 = -1;
		} else if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) {
			if (dexists && S_ISDIR(dt.st_mode)) {
				gs_error_set(err, GS_E_RUNTIME, 0, "%s: is a "
				    "directory", what);
				goto out;
			}
			if (S_ISLNK(st.st_mode)) {
				if (recipe_copy_link(sfd, de->d_name, dfd,
				    de->d_name, what, err) == -1)
					goto out;
			} else if (recipe_copy_file(sfd, de->d_name, dfd,
			    de->d_name, (st.st_mode & 0111) ? 0755 : 0644,
			    what, cp, err) == -1)
				goto out;
		}
		/* devices, fifos and sockets have no place in a web root */
	}
	ret = 0;
out:
	if (sfd2 != -1)
		close(sfd2);
	if (dfd2 != -1)
		close(dfd2);
	free(sub);
	free(what);
	closedir(d);
	return ret;
}

/* dirname and basename of an absolute path, without touching it */
static void
recipe_split(const char *path, char **dir, char **base)
{
	const char	*slash;
	size_t		 len = strlen(path);

	while (len > 1 && path[len - 1] == '/')
		len--;
	for (slash = path + len - 1; slash > path && *slash != '/'; slash--)
		;
	*dir = slash == path ? xstrdup("/") : xstrndup(path, slash - path);
	*base = xstrndup(slash + 1, path + len - (slash + 1));
}

/*
 * Resolve a path in the service checkout; it must exist and stay inside.
 * what names the key ("copy from", "template src") in messages.
 */
static int
recipe_resolve_src(char **out, const char *rel, const char *service_dir,
    const char *what, struct gs_error *err)
{
	char	*path, *root, *real;

	*out = NULL;
	if (!recipe_relpath_ok(rel))
		return gs_error_set(err, GS_E_CONFIG, 0, "%s \"%s\": must be "
		    "a path inside the service repo", what, rel);
	if ((root = realpath(service_dir, NULL)) == NULL)
		return gs_error_sys(err, "%s", service_dir);
	path = util_path_join(service_dir, rel);
	real = realpath(path, NULL);
	free(path);
	if (real == NULL) {
		gs_error_sys(err, "%s \"%s\"", what, rel);
		free(root);
		return -1;
	}
	if (!recipe_path_inside(root, real)) {
		gs_error_set(err, GS_E_CONFIG, 0, "%s \"%s\": leads outside "
		    "the service repo", what, rel);
		free(root);
		free(real);
		return -1;
	}
	free(root);
	*out = real;
	return 0;
}

static int
recipe_do_copy(struct recipe_runner *rr, const struct recipe_step *x,
    struct gs_error *err)
{
	struct recipe_copy	 cp;
	struct stat		 st;
	char			*src = NULL, *dst = NULL, *dir = NULL;
	char			*base = NULL, *sbase = NULL, *sdir = NULL;
	char			*dreal = NULL;
	mode_t			 mode;
	int			 sfd = -1, dfd = -1, ret = -1;

	memset(&cp, 0, sizeof(cp));
	if (*x->to != '/')
		return gs_error_set(err, GS_E_CONFIG, 0, "copy to \"%s\": "
		    "must be an absolute path", x->to);
	if (recipe_resolve_src(&src, x->from, rr->ctx->service_dir,
	    "copy from", err) == -1)
		return -1;
	if (stat(src, &st) == -1) {
		gs_error_sys(err, "copy from \"%s\"", x->from);
		goto out;
	}

	if (S_ISREG(st.st_mode)) {
		/* into a directory when "to" is one (or ends in a slash) */
		recipe_split(src, &sdir, &sbase);
		if (x->to[strlen(x->to) - 1] == '/' || util_is_dir(x->to))
			dst = util_path_join(x->to, sbase);
		else
			dst = xstrdup(x->to);
		recipe_split(dst, &dir, &base);
		mode = (st.st_mode & 0111) ? 0755 : 0644;
		if (x->mode != NULL && recipe_mode_parse(x->mode, &mode) == -1) {
			gs_error_set(err, GS_E_CONFIG, 0, "copy: invalid mode "
			    "\"%s\"", x->mode);
			goto out;
		}
		if (util_mkdir_p(dir, 0755, err) == -1)
			goto out;
		if ((sfd = open(sdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
			gs_error_sys(err, "copy from \"%s\"", x->from);
			goto out;
		}
		if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
			gs_error_sys(err, "copy to \"%s\"", dir);
			goto out;
		}
		cp.droot = dir;
		if (recipe_copy_file(sfd, sbase, dfd, base, mode, dst, &cp,
		    err) == -1)
			goto out;
	} else if (S_ISDIR(st.st_mode)) {
		if (x->mode != NULL) {
			gs_error_set(err, GS_E_CONFIG, 0, "copy from \"%s\": "
			    "mode applies to a file, not a directory", x->from);
			goto out;
		}
		if (util_mkdir_p(x->to, 0755, err) == -1)
			goto out;
		if ((dreal = realpath(x->to, NULL)) == NULL) {
			gs_error_sys(err, "copy to \"%s\"", x->to);
			goto out;
		}
		if (recipe_path_inside(src, dreal)) {
			gs_error_set(err, GS_E_CONFIG, 0, "copy to \"%s\": "
			    "inside the directory copied", x->to);
			goto out;
		}
		if ((sfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
			gs_error_sys(err, "copy from \"%s\"", x->from);
			goto out;
		}
		if ((dfd = open(x->to, O_RDONLY | O_DIRECTORY | O_CLOEXEC))
		    == -1) {
			gs_error_sys(err, "copy to \"%s\"", x->to);
			goto out;
		}
		cp.droot = x->to;
		if (recipe_copy_tree(sfd, dfd, "", 0, &cp, err) == -1)
			goto out;
	} else {
		gs_error_set(err, GS_E_CONFIG, 0, "copy from \"%s\": not a "
		    "file or directory", x->from);
		goto out;
	}
	log_info("recipe.copy", "step=%zu from=\"%s\" to=\"%s\" files=%zu "
	    "bytes=%llu", rr->step, x->from, x->to, cp.files,
	    (unsigned long long)cp.bytes);
	ret = 0;
out:
	if (sfd != -1)
		close(sfd);
	if (dfd != -1)
		close(dfd);
	free(src);
	free(dst);
	free(dir);
	free(base);
	free(sdir);
	free(sbase);
	free(dreal);
	return ret;
}

/* ---- template */

static int
recipe_do_template(struct recipe_runner *rr, const struct recipe_step *x,
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
	if (recipe_resolve_src(&src, x->from, rr->ctx->service_dir,
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
	recipe_split(x->to, &dir, &base);
	if (util_mkdir_p(dir, 0755, err) == -1 ||
	    util_write_atomic(dir, base, text, strlen(text), mode, err) == -1)
		goto out;
	log_info("recipe.template", "step=%zu src=\"%s\" dest=\"%s\" "
	    "bytes=%zu", rr->step, x->from, x->to, strlen(text));
	ret = 0;
out:
	free(src);
	free(buf);
	free(text);
	free(dir);
	free(base);
	return ret;
}

/* ---- packages */

static const char *
recipe_pm_find(void)
{
	static const char *const pms[] = { "apt-get", "dnf", "yum", "apk",
	    NULL };
	size_t	i;

	for (i = 0; pms[i] != NULL; i++)
		if (run_have(pms[i]))
			return pms[i];
	return NULL;
}

/* are all of these installed? (a failing check means "install") */
static int
recipe_pkgs_installed(struct recipe_runner *rr, const struct gs_strlist *l)
{
	static const char dpkg[] = "for p; do "
	    "case $(dpkg-query -W -f='${Status}' \"$p\" 2>/dev/null) in "
	    "*\" installed\") ;; *) exit 1 ;; esac; done";
	static const char rpm[] = "for p; do "
	    "rpm -q --quiet --whatprovides \"$p\" >/dev/null 2>&1 || exit 1; "
	    "done";
	static const char apk[] = "for p; do "
	    "apk info -e \"$p\" >/dev/null 2>&1 || exit 1; done";
	struct gs_error	  e;
	const char	**argv;
	size_t		  i;
	int		  rc;

	argv = xcalloc(l->n + 5, sizeof(*argv));
	argv[0] = "/bin/sh";
	argv[1] = "-c";
	if (strcmp(rr->pm, "apt-get") == 0)
		argv[2] = dpkg;
	else if (strcmp(rr->pm, "apk") == 0)
		argv[2] = apk;
	else
		argv[2] = rpm;
	argv[3] = "sh";
	for (i = 0; i < l->n; i++)
		argv[4 + i] = l->v[i];
	rc = run_argv((char *const *)argv, &rr->ro, &e);
	free(argv);
	return rc == 0;
}

static int
recipe_pkgs_install(struct recipe_runner *rr, const struct gs_strlist *l,
    struct gs_error *err)
{
	const char	**argv;
	size_t		  i, n = 0;
	int		  rc;

	argv = xcalloc(l->n + 16, sizeof(*argv));
	argv[n++] = rr->pm;
	if (strcmp(rr->pm, "apt-get") == 0) {
		argv[n++] = "install";
		argv[n++] = "-y";
		argv[n++] = "--no-install-recommends";
		argv[n++] = "-o";
		argv[n++] = "Dpkg::Options::=--force-confdef";
		argv[n++] = "-o";
		argv[n++] = "Dpkg::Options::=--force-confold";
		argv[n++] = "-o";
		argv[n++] = RECIPE_APT_LOCK_WAIT;
	} else if (strcmp(rr->pm, "apk") == 0) {
		argv[n++] = "add";
		argv[n++] = "--no-progress";
	} else {
		argv[n++] = "install";
		argv[n++] = "-y";
	}
	for (i = 0; i < l->n; i++)
		argv[n++] = l->v[i];
	argv[n] = NULL;
	rc = run_argv((char *const *)argv, &rr->ro, err);
	free(argv);
	return rc;
}

/* apt-get and apk need package lists, which fresh images lack */
static int
recipe_pkgs_update(struct recipe_runner *rr, struct gs_error *err)
{
	rr->pm_updated = 1;
	if (strcmp(rr->pm, "apt-get") == 0)
		return recipe_argv(rr, err, "apt-get", "update", "-o",
		    RECIPE_APT_LOCK_WAIT, (char *)NULL);
	return recipe_argv(rr, err, "apk", "update", "--no-progress",
	    (char *)NULL);
}


/* a variable for the current step's children only */
static void
recipe_setenv(struct recipe_runner *rr, const char *name, const char *val)
{
	run_env_set(&rr->senv, name, val);
	rr->ro.envp = rr->senv.v;
}

static int
recipe_do_packages(struct recipe_runner *rr, const struct recipe_step *x,
    struct gs_error *err)
{
	const struct gs_strlist	*l;
	struct gs_error		 first;
	size_t			 i;
	int			 can_update;

	if (rr->pm == NULL && (rr->pm = recipe_pm_find()) == NULL)
		return gs_error_set(err, GS_E_RUNTIME, 0, "no package manager "
		    "found (apt-get, dnf, yum, apk)");
	/* the manager's own list, else the common one; dnf and yum agree */
	if (strcmp(rr->pm, "apt-get") == 0)
		l = x->pkgs_apt.n > 0 ? &x->pkgs_apt : &x->pkgs;
	else if (strcmp(rr->pm, "dnf") == 0)
		l = x->pkgs_dnf.n > 0 ? &x->pkgs_dnf :
		    x->pkgs_yum.n > 0 ? &x->pkgs_yum : &x->pkgs;
	else if (strcmp(rr->pm, "yum") == 0)
		l = x->pkgs_yum.n > 0 ? &x->pkgs_yum :
		    x->pkgs_dnf.n > 0 ? &x->pkgs_dnf : &x->pkgs;
	else
		l = x->pkgs_apk.n > 0 ? &x->pkgs_apk : &x->pkgs;
	if (l->n == 0) {
		log_info("recipe.skip", "step=%zu name=\"%s\" "
		    "reason=no-packages manager=%s", rr->step, rr->label,
		    rr->pm);
		return 0;
	}
	for (i = 0; i < l->n; i++)
		if (!recipe_pkg_ok(l->v[i]))
			return gs_error_set(err, GS_E_CONFIG, 0,
			    "invalid package name \"%s\"", l->v[i]);
	if (recipe_pkgs_installed(rr, l)) {
		log_info("recipe.skip", "step=%zu name=\"%s\" reason=installed",
		    rr->step, rr->label);
		return 0;
	}

	if (strcmp(rr->pm, "apt-get") == 0)
		recipe_setenv(rr, "DEBIAN_FRONTEND", "noninteractive");
	can_update = !rr->pm_updated && (strcmp(rr->pm, "apt-get") == 0 ||
	    strcmp(rr->pm, "apk") == 0);
	if (recipe_pkgs_install(rr, l, can_update ? &first : err) == 0)
		return 0;
	if (!can_update)
		return -1;
	log_info("recipe.packages", "step=%zu manager=%s retry=update "
	    "err=\"%s\"", rr->step, rr->pm, first.msg);
	if (recipe_pkgs_update(rr, err) == -1) {
		gs_error_prefix(err, "%s update", rr->pm);
		return -1;
	}
	return recipe_pkgs_install(rr, l, err);
}

/* ---- service */

static int
recipe_systemd(void)
{
	struct stat	st;

	return lstat(RECIPE_SYSTEMD_DIR, &st) == 0 && S_ISDIR(st.st_mode);
}

static int
recipe_service_systemd(struct recipe_runner *rr, const struct recipe_step *x,
    struct gs_error *err)
{
	const char	*verb = NULL;

	if (x->svc_enabled != -1 && recipe_argv(rr, err, "systemctl",
	    x->svc_enabled ? "enable" : "disable", "--quiet", x->svc_name,
	    (char *)NULL) == -1) {
		gs_error_prefix(err, "systemctl %s %s",
		    x->svc_enabled ? "enable" : "disable", x->svc_name);
		return -1;
	}
	if (x->svc_state == NULL)
		return 0;
	if (strcmp(x->svc_state, "started") == 0)
		verb = "start";
	else if (strcmp(x->svc_state, "stopped") == 0)
		verb = "stop";
	else if (strcmp(x->svc_state, "restarted") == 0)
		verb = "restart";
	else
		verb = "reload-or-restart";	/* starts it when stopped */
	if (recipe_argv(rr, err, "systemctl", verb, x->svc_name,
	    (char *)NULL) == -1) {
		gs_error_prefix(err, "systemctl %s %s", verb, x->svc_name);
		return -1;
	}
	return 0;
}

static int
recipe_service_enable(struct recipe_runner *rr, const struct recipe_step *x,
    struct gs_error *err)
{
	int	on = x->svc_enabled, rc;

	if (run_have("update-rc.d")) {
		if (on && recipe_argv(rr, err, "update-rc.d", x->svc_name,
		    "defaults", (char *)NULL) == -1)
			rc = -1;
		else
			rc = recipe_argv(rr, err, "update-rc.d", x->svc_name,
			    on ? "enable" : "disable", (char *)NULL);
		if (rc == -1)
			gs_error_prefix(err, "update-rc.d %s", x->svc_name);
		return rc;
	}
	if (run_have("chkconfig")) {
		if ((rc = recipe_argv(rr, err, "chkconfig", x->svc_name,
		    on ? "on" : "off", (char *)NULL)) == -1)
			gs_error_prefix(err, "chkconfig %s", x->svc_name);
		return rc;
	}
	if (run_have("rc-update")) {
		/* "del" fails when it is not in the runlevel: that is fine */
		if (on)
			rc = recipe_argv(rr, err, "rc-update", "add",
			    x->svc_name, "default", (char *)NULL);
		else
			rc = recipe_argv(rr, err, "/bin/sh", "-c",
			    "rc-update show default | grep -qw \"$1\" || "
			    "exit 0; rc-update del \"$1\" default", "sh",
			    x->svc_name, (char *)NULL);
		if (rc == -1)
			gs_error_prefix(err, "rc-update %s", x->svc_name);
		return rc;
	}
	log_warnx("recipe.service", "step=%zu service=%s enabled=%d "
	    "reason=\"no boot-time service tool (update-rc.d, chkconfig, "
	    "rc-update)\"", rr->step, x->svc_name, on);
	return 0;
}

static int
recipe_service_sysv(struct recipe_runner *rr, const struct recipe_step *x,
    struct gs_error *err)
{
	struct gs_error	 e;
	const char	*tool, *verb;

	if (x->svc_enabled != -1 && recipe_service_enable(rr, x, err) == -1)
		return -1;
	if (x->svc_state == NULL)
		return 0;
	if (run_have("service"))
		tool = "service";
	else if (run_have("rc-service"))
		tool = "rc-service";
	else
		return gs_error_set(err, GS_E_RUNTIME, 0, "no service manager "
		    "found (systemctl, service, rc-service)");
	if (strcmp(x->svc_state, "started") == 0)
		verb = "start";
	else if (strcmp(x->svc_state, "stopped") == 0)
		verb = "stop";
	else if (strcmp(x->svc_state, "restarted") == 0)
		verb = "restart";
	else
		/* reload a running service, start a stopped one */
		verb = recipe_argv(rr, &e, tool, x->svc_name, "status",
		    (char *)NULL) == 0 ? "reload" : "start";
	if (recipe_argv(rr, err, tool, x->svc_name, verb, (char *)NULL) == -1) {
		gs_error_prefix(err, "%s %s %s", tool, x->svc_name, verb);
		return -1;
	}
	return 0;
}

static int
recipe_do_service(struct recipe_runner *rr, const struct recipe_step *x,
    struct gs_error *err)
{
	if (!recipe_svc_ok(x->svc_name))
		return gs_error_set(err, GS_E_CONFIG, 0,
		    "invalid service name \"%s\"", x->svc_name);
	if (recipe_systemd())
		return recipe_service_systemd(rr, x, err);
	return recipe_service_sysv(rr, x, err);
}

/* ---- one step */

static int
recipe_step_run(struct recipe_runner *rr, const struct recipe_step *s,
    struct gs_error *err)
{
	struct recipe_step	 x;
	struct gs_error		 e;
	char			 tag[32], *creates = NULL;
	size_t			 i;
	int64_t			 t0;
	int			 rc, ret = -1;

	if (recipe_step_expand(&x, s, rr, err) == -1)
		goto out;

	/* the base environment, then the step's own */
	run_env_free(&rr->senv);
	for (i = 0; i < rr->env.n; i++) {
		rr->senv.v = xreallocarray(rr->senv.v, rr->senv.n + 2,
		    sizeof(*rr->senv.v));
		rr->senv.v[rr->senv.n++] = xstrdup(rr->env.v[i]);
		rr->senv.v[rr->senv.n] = NULL;
	}
	for (i = 0; i < x.nenv; i++)
		run_env_set(&rr->senv, x.env[i].key, x.env[i].val);

	snprintf(tag, sizeof(tag), "step=%zu", rr->step);
	memset(&rr->ro, 0, sizeof(rr->ro));
	rr->ro.cwd = rr->ctx->service_dir;
	rr->ro.envp = rr->senv.v;
	rr->ro.logev = "recipe.out";
	rr->ro.logtag = tag;
	if ((rr->ro.timeout_ms = s->timeout_ms) == 0 &&
	    (rr->ro.timeout_ms = rr->ctx->default_timeout_ms) <= 0)
		rr->ro.timeout_ms = RECIPE_TIMEOUT_MS;

	if (x.creates != NULL) {
		creates = *x.creates == '/' ? xstrdup(x.creates) :
		    util_path_join(rr->ctx->service_dir, x.creates);
		if (util_exists(creates)) {
			log_info("recipe.skip", "step=%zu name=\"%s\" "
			    "reason=creates", rr->step, rr->label);
			ret = 0;
			goto out;
		}
	}
	if (x.unless != NULL) {
		if (run_shell(x.unless, &rr->ro, &e) == 0) {
			log_info("recipe.skip", "step=%zu name=\"%s\" "
			    "reason=unless", rr->step, rr->label);
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

	log_info("recipe.step", "step=%zu action=%s name=\"%s\"", rr->step,
	    recipe_action_name(s->action), rr->label);
	t0 = util_now_ms();
	switch (s->action) {
	case RECIPE_RUN:
		rc = recipe_do_run(rr, &x, err);
		break;
	case RECIPE_COPY:
		rc = recipe_do_copy(rr, &x, err);
		break;
	case RECIPE_TEMPLATE:
		rc = recipe_do_template(rr, &x, err);
		break;
	case RECIPE_PACKAGES:
		rc = recipe_do_packages(rr, &x, err);
		break;
	case RECIPE_SERVICE:
		rc = recipe_do_service(rr, &x, err);
		break;
	default:
		fatalx("recipe.step", "bad action %d", (int)s->action);
	}
	if (rc == -1)
		goto out;
	log_info("recipe.step.done", "step=%zu action=%s name=\"%s\" ms=%lld",
	    rr->step, recipe_action_name(s->action), rr->label,
	    (long long)(util_now_ms() - t0));
	ret = 0;
out:
	free(creates);
	recipe_step_clear(&x);
	return ret;
}

/* GITSTRAP_VAR_DOCROOT for docroot */
static char *
recipe_var_envname(const char *key)
{
	char	*s, *c;

	xasprintf(&s, "GITSTRAP_VAR_%s", key);
	for (c = s + strlen("GITSTRAP_VAR_"); *c != '\0'; c++)
		*c = isalnum((unsigned char)*c) ?
		    (char)toupper((unsigned char)*c) : '_';
	return s;
}

int
recipe_run(const struct recipe *r, const struct recipe_ctx *ctx,
    struct gs_error *err)
{
	struct recipe_runner	 rr;
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
		name = recipe_var_envname(rr.vars[i].key);
		run_env_set(&rr.env, name, rr.vars[i].val);
		free(name);
	}

	/* recipe.start and recipe.done are the caller's (the pipeline) */
	for (i = 0; i < r->nsteps; i++) {
		recipe_step_label(&r->steps[i], label, sizeof(label));
		rr.step = i + 1;
		rr.label = label;
		if (recipe_step_run(&rr, &r->steps[i], err) == -1) {
			gs_error_prefix(err, "recipe %s: step %zu (%s)",
			    r->name, i + 1, label);
			goto out;
		}
	}
	ret = 0;
out:
	run_env_free(&rr.senv);
	run_env_free(&rr.env);
	kv_free(rr.vars, rr.nvars);
	return ret;
}
