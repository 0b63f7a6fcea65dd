/*
 * config.c: the typed model of gitstrap.yml, built from a yml tree.
 *
 * Every problem is collected, each as one line "FILE:LINE:COL: key: problem"
 * at the node it is about, and reported in document order, so that
 * `gitstrap check` can show them all at once. Nothing here touches the
 * network or the file system beyond reading the config file itself.
 */
#include "config.h"

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gitstrap.h"

#define CONFIG_MAX_FILE		(1024 * 1024)
#define CONFIG_HEALTH_TIMEOUT	(10 * 1000LL)
#define CONFIG_HEALTH_RETRIES	3
#define CONFIG_HEALTH_EXPECT	200

/* one problem, kept with its place so the list can be put in order */
struct config_msg {
	int	 line, col;		/* INT_MAX: not in the file */
	size_t	 seq;
	char	*text;			/* the whole line */
};

struct config_ctx {
	const char		*file;
	struct config_msg	*msgs;
	size_t			 nmsgs;
};

static void
config_msg_add(struct config_ctx *cx, int line, int col, char *text)
{
	struct config_msg	*m;

	cx->msgs = xreallocarray(cx->msgs, cx->nmsgs + 1, sizeof(*cx->msgs));
	m = &cx->msgs[cx->nmsgs];
	m->line = line;
	m->col = col;
	m->seq = cx->nmsgs++;
	m->text = text;
}

static void
config_err(struct config_ctx *cx, const struct yml_node *n, const char *key,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* "FILE:LINE:COL: key: problem" at node n */
static void
config_err(struct config_ctx *cx, const struct yml_node *n, const char *key,
    const char *fmt, ...)
{
	va_list	 ap;
	char	*what, *text;
	int	 line = n != NULL ? n->line : 1, col = n != NULL ? n->col : 1;

	va_start(ap, fmt);
	xvasprintf(&what, fmt, ap);
	va_end(ap);
	xasprintf(&text, "%s:%d:%d: %s: %s", cx->file, line, col, key, what);
	free(what);
	config_msg_add(cx, line, col, text);
}

static int
config_msg_cmp(const void *a, const void *b)
{
	const struct config_msg	*x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* a printable, bounded copy of a user's value, for a message */
static const char *
config_quote(char *out, size_t size, const char *s)
{
	util_quote(out, size, s, strlen(s));
	return out;
}

/*
 * Typed getters. Each reports its own problem and returns -1; the caller
 * then keeps the default, so that later checks see a sane value.
 */

static int
config_want(struct config_ctx *cx, const struct yml_node *n, const char *key,
    enum yml_type type)
{
	if (n->type == type)
		return 0;
	config_err(cx, n, key, "expected %s, got %s", yml_type_name(type),
	    yml_type_name(n->type));
	return -1;
}

static int
config_str(struct config_ctx *cx, const struct yml_node *n, const char *key,
    char **out)
{
	if (config_want(cx, n, key, YML_SCALAR) == -1)
		return -1;
	if (n->str[0] == '\0') {
		config_err(cx, n, key, "must not be empty");
		return -1;
	}
	free(*out);
	*out = xstrdup(n->str);
	return 0;
}

static int
config_abs_path(struct config_ctx *cx, const struct yml_node *n,
    const char *key, char **out)
{
	if (n->type == YML_SCALAR && n->str[0] != '/') {
		config_err(cx, n, key, "must be an absolute path");
		return -1;
	}
	return config_str(cx, n, key, out);
}

static int
config_is_http_url(const char *s)
{
	const char	*host;

	if (strncasecmp(s, "http://", 7) == 0)
		host = s + 7;
	else if (strncasecmp(s, "https://", 8) == 0)
		host = s + 8;
	else
		return 0;
	return *host != '\0' && *host != '/' && strpbrk(s, " \t") == NULL;
}

static int
config_url(struct config_ctx *cx, const struct yml_node *n, const char *key,
    char **out)
{
	if (n->type == YML_SCALAR && !config_is_http_url(n->str)) {
		config_err(cx, n, key, "must be an http:// or https:// URL");
		return -1;
	}
	return config_str(cx, n, key, out);
}

static int
config_int(struct config_ctx *cx, const struct yml_node *n, const char *key,
    long long *out)
{
	const char	*why;
	char		 q[80];

	if (n->type != YML_SCALAR) {
		config_err(cx, n, key, "expected an integer, got %s",
		    yml_type_name(n->type));
		return -1;
	}
	if (util_strtonum(n->str, LLONG_MIN, LLONG_MAX, out, &why) == 0)
		return 0;
	/* out of any range: let the caller's range check say so */
	if (strcmp(why, "too large") == 0) {
		*out = LLONG_MAX;
		return 0;
	}
	if (strcmp(why, "too small") == 0) {
		*out = LLONG_MIN;
		return 0;
	}
	config_err(cx, n, key, "expected an integer, got \"%s\"",
	    config_quote(q, sizeof(q), n->str));
	return -1;
}

/* an int in [min, INT_MAX]; minmsg says what min means */
static int
config_int_min(struct config_ctx *cx, const struct yml_node *n,
    const char *key, int min, const char *minmsg, int *out)
{
	long long	v;

	if (config_int(cx, n, key, &v) == -1)
		return -1;
	if (v < min) {
		config_err(cx, n, key, "%s", minmsg);
		return -1;
	}
	if (v > INT_MAX) {
		config_err(cx, n, key, "must be at most %d", INT_MAX);
		return -1;
	}
	*out = (int)v;
	return 0;
}

static int
config_bool(struct config_ctx *cx, const struct yml_node *n, const char *key,
    int *out)
{
	char	q[80];
	int	b;

	if (n->type != YML_SCALAR) {
		config_err(cx, n, key, "expected a boolean, got %s",
		    yml_type_name(n->type));
		return -1;
	}
	if ((b = yml_bool(n)) == -1) {
		config_err(cx, n, key, "expected a boolean, got \"%s\"",
		    config_quote(q, sizeof(q), n->str));
		return -1;
	}
	*out = b;
	return 0;
}

/* a duration in ms; positive says 0 is refused */
static int
config_duration(struct config_ctx *cx, const struct yml_node *n,
    const char *key, int positive, int64_t *out)
{
	const char	*why;
	char		 q[80];
	int64_t		 v;

	if (n->type != YML_SCALAR) {
		config_err(cx, n, key, "expected a duration, got %s",
		    yml_type_name(n->type));
		return -1;
	}
	if (util_parse_duration(n->str, &v, &why) == -1) {
		config_err(cx, n, key, "bad duration \"%s\": %s",
		    config_quote(q, sizeof(q), n->str), why);
		return -1;
	}
	if (positive && v == 0) {
		config_err(cx, n, key, "must be more than 0");
		return -1;
	}
	*out = v;
	return 0;
}

static int
config_size(struct config_ctx *cx, const struct yml_node *n, const char *key,
    uint64_t *out)
{
	const char	*why;
	char		 q[80];
	uint64_t	 v;

	if (n->type != YML_SCALAR) {
		config_err(cx, n, key, "expected a size, got %s",
		    yml_type_name(n->type));
		return -1;
	}
	if (util_parse_size(n->str, &v, &why) == -1) {
		config_err(cx, n, key, "bad size \"%s\": %s",
		    config_quote(q, sizeof(q), n->str), why);
		return -1;
	}
	if (v == 0) {
		config_err(cx, n, key, "must be more than 0");
		return -1;
	}
	*out = v;
	return 0;
}

static int
config_percent(struct config_ctx *cx, const struct yml_node *n,
    const char *key, int *out)
{
	const char	*why;
	char		 q[80];

	if (n->type != YML_SCALAR) {
		config_err(cx, n, key, "expected a percentage, got %s",
		    yml_type_name(n->type));
		return -1;
	}
	if (util_parse_percent(n->str, out, &why) == -1) {
		config_err(cx, n, key, "bad percentage \"%s\": %s",
		    config_quote(q, sizeof(q), n->str), why);
		return -1;
	}
	return 0;
}

/*
 * Is this a map (else report it), and are all its keys known? Unknown keys
 * are reported at the key. Returns -1 only when it is not a map.
 */
static int
config_map(struct config_ctx *cx, const struct yml_node *n, const char *key,
    const char *const *known)
{
	const char *const	*k;
	char			 q[80];
	size_t			 i;

	if (config_want(cx, n, key, YML_MAP) == -1)
		return -1;
	for (i = 0; i < n->n; i++) {
		for (k = known; *k != NULL; k++)
			if (strcmp(n->keys[i]->str, *k) == 0)
				break;
		if (*k == NULL)
			config_err(cx, n->keys[i], key, "unknown key \"%s\"",
			    config_quote(q, sizeof(q), n->keys[i]->str));
	}
	return 0;
}

static const struct yml_node *
config_required(struct config_ctx *cx, const struct yml_node *map,
    const char *key, const char *name)
{
	const struct yml_node	*v;

	if ((v = yml_get(map, name)) == NULL)
		config_err(cx, map, key, "missing required key \"%s\"", name);
	return v;
}

/* "data" + "repo" -> "data.repo" */
static const char *
config_key(char *buf, size_t size, const char *parent, const char *name)
{
	int	r;

	r = snprintf(buf, size, "%s.%s", parent, name);
	if (r < 0 || (size_t)r >= size)
		fatalx("config.key", "key=%s.%s", parent, name);
	return buf;
}

/* a path in the data tree or release: relative, and no ".." in it */
static int
config_inside(const char *s)
{
	const char	*p = s;
	size_t		 len;

	if (*s == '/')
		return 0;
	while (*p != '\0') {
		len = strcspn(p, "/");
		if (len == 2 && p[0] == '.' && p[1] == '.')
			return 0;
		p += len;
		if (*p == '/')
			p++;
	}
	return 1;
}

static int
config_rel_path(struct config_ctx *cx, const struct yml_node *n,
    const char *key, char **out)
{
	if (n->type == YML_SCALAR && n->str[0] != '\0' &&
	    !config_inside(n->str)) {
		config_err(cx, n, key,
		    "must be a relative path inside the repository");
		return -1;
	}
	return config_str(cx, n, key, out);
}

static void
config_auth(struct config_ctx *cx, const struct yml_node *n,
    const char *section, struct gs_auth *a)
{
	static const char *const known[] = { "username", "password",
	    "password_file", "password_env", "ssh_key", "ssh_known_hosts",
	    NULL };
	const struct yml_node	*v;
	char			 key[64], k[96], q[80];
	int			 secrets = 0;

	config_key(key, sizeof(key), section, "auth");
	if (config_map(cx, n, key, known) == -1)
		return;
	if ((v = yml_get(n, "username")) != NULL)
		config_str(cx, v, config_key(k, sizeof(k), key, "username"),
		    &a->username);
	if ((v = yml_get(n, "password")) != NULL) {
		secrets++;
		if (config_str(cx, v, config_key(k, sizeof(k), key,
		    "password"), &a->password) == 0) {
			log_add_secret(a->password);
			log_warnx("config.secret_literal",
			    "key=%s.auth.password msg=\"prefer password_file or "
			    "password_env\"", section);
		}
	}
	if ((v = yml_get(n, "password_file")) != NULL) {
		secrets++;
		config_abs_path(cx, v, config_key(k, sizeof(k), key,
		    "password_file"), &a->password_file);
	}
	if ((v = yml_get(n, "password_env")) != NULL) {
		secrets++;
		config_key(k, sizeof(k), key, "password_env");
		if (v->type == YML_SCALAR && v->str[0] != '\0' &&
		    !util_is_identifier(v->str))
			config_err(cx, v, k, "bad variable name \"%s\"",
			    config_quote(q, sizeof(q), v->str));
		else
			config_str(cx, v, k, &a->password_env);
	}
	if ((v = yml_get(n, "ssh_key")) != NULL)
		config_abs_path(cx, v, config_key(k, sizeof(k), key, "ssh_key"),
		    &a->ssh_key);
	if ((v = yml_get(n, "ssh_known_hosts")) != NULL)
		config_abs_path(cx, v, config_key(k, sizeof(k), key,
		    "ssh_known_hosts"), &a->ssh_known_hosts);
	if (secrets > 1)
		config_err(cx, n, key,
		    "password, password_file and password_env are exclusive");
}

/*
 * Can this ref name a tag? Only a name that may be one: HEAD, a full ref
 * outside refs/tags/ and a commit id are known not to be.
 */
static int
config_ref_may_be_tag(const char *ref)
{
	if (strcmp(ref, "HEAD") == 0 || util_is_hex_id(ref))
		return 0;
	if (strncmp(ref, "refs/", 5) == 0)
		return strncmp(ref, "refs/tags/", 10) == 0;
	return 1;
}

static void
config_verify(struct config_ctx *cx, const struct yml_node *n,
    const char *section, struct gs_repo_conf *r)
{
	static const char *const known[] = { "allowed_signers", "gpg_keyring",
	    "revoked_keys", "mode", NULL };
	struct gs_verify_conf	*vc = &r->verify;
	const struct yml_node	*v;
	char			 key[64], k[96], q[80];

	config_key(key, sizeof(key), section, "verify");
	if (config_map(cx, n, key, known) == -1)
		return;
	vc->enabled = 1;
	if ((v = yml_get(n, "allowed_signers")) != NULL)
		config_abs_path(cx, v, config_key(k, sizeof(k), key,
		    "allowed_signers"), &vc->allowed_signers);
	if ((v = yml_get(n, "gpg_keyring")) != NULL)
		config_abs_path(cx, v, config_key(k, sizeof(k), key,
		    "gpg_keyring"), &vc->gpg_keyring);
	if ((v = yml_get(n, "revoked_keys")) != NULL) {
		config_key(k, sizeof(k), key, "revoked_keys");
		config_abs_path(cx, v, k, &vc->revoked_keys);
		if (yml_get(n, "allowed_signers") == NULL)
			config_err(cx, v, k, "revokes SSH keys: needs "
			    "allowed_signers");
	}
	if (yml_get(n, "allowed_signers") == NULL &&
	    yml_get(n, "gpg_keyring") == NULL)
		config_err(cx, n, key, "needs allowed_signers or gpg_keyring");
	if ((v = yml_get(n, "mode")) == NULL)
		return;
	config_key(k, sizeof(k), key, "mode");
	if (config_want(cx, v, k, YML_SCALAR) == -1)
		return;
	if (strcmp(v->str, "head") == 0)
		vc->mode = GS_VERIFY_HEAD;
	else if (strcmp(v->str, "tag") == 0) {
		vc->mode = GS_VERIFY_TAG;
		if (!config_ref_may_be_tag(r->ref))
			config_err(cx, v, k, "tag needs %s.ref to name a tag, "
			    "not \"%s\"", section,
			    config_quote(q, sizeof(q), r->ref));
	} else
		config_err(cx, v, k, "must be \"head\" or \"tag\"");
}

/* repo, ref, auth and verify, shared by service and data */
static void
config_repo(struct config_ctx *cx, const struct yml_node *sec,
    const char *section, struct gs_repo_conf *r)
{
	const struct yml_node	*v;
	char			 k[64];

	if ((v = config_required(cx, sec, section, "repo")) != NULL)
		config_str(cx, v, config_key(k, sizeof(k), section, "repo"),
		    &r->url);
	if ((v = yml_get(sec, "ref")) != NULL)
		config_str(cx, v, config_key(k, sizeof(k), section, "ref"),
		    &r->ref);
	if ((v = yml_get(sec, "auth")) != NULL)
		config_auth(cx, v, section, &r->auth);
	/* after ref: mode tag checks it */
	if ((v = yml_get(sec, "verify")) != NULL)
		config_verify(cx, v, section, r);
}

static void
config_vars(struct config_ctx *cx, const struct yml_node *n,
    struct gs_service_conf *s)
{
	const struct yml_node	*k, *v;
	char			*key, q[80];
	size_t			 i;

	if (config_want(cx, n, "service.vars", YML_MAP) == -1)
		return;
	for (i = 0; i < n->n; i++) {
		k = n->keys[i];
		v = n->vals[i];
		if (!util_is_identifier(k->str)) {
			config_err(cx, k, "service.vars",
			    "bad variable name \"%s\"",
			    config_quote(q, sizeof(q), k->str));
			continue;
		}
		if (v->type != YML_SCALAR) {
			xasprintf(&key, "service.vars.%s", k->str);
			config_want(cx, v, key, YML_SCALAR);
			free(key);
			continue;
		}
		s->vars = xreallocarray(s->vars, s->nvars + 1,
		    sizeof(*s->vars));
		s->vars[s->nvars].key = xstrdup(k->str);
		s->vars[s->nvars].val = xstrdup(v->str);
		s->nvars++;
	}
}

static void
config_service(struct config_ctx *cx, const struct yml_node *n,
    struct gs_service_conf *s)
{
	static const char *const known[] = { "repo", "ref", "recipe", "vars",
	    "follow", "auth", "verify", NULL };
	const struct yml_node	*v;

	if (config_map(cx, n, "service", known) == -1)
		return;
	config_repo(cx, n, "service", &s->repo);
	if ((v = yml_get(n, "recipe")) != NULL)
		config_str(cx, v, "service.recipe", &s->recipe);
	if ((v = yml_get(n, "vars")) != NULL)
		config_vars(cx, v, s);
	if ((v = yml_get(n, "follow")) != NULL)
		config_bool(cx, v, "service.follow", &s->follow);
}

static void
config_unpack(struct config_ctx *cx, const struct yml_node *n,
    struct gs_data_conf *d)
{
	static const char *const known[] = { "archive", "strip_components",
	    "to", NULL };
	const struct yml_node	*item, *v;
	struct gs_unpack_conf	*u;
	char			 key[64], k[96];
	size_t			 i;

	if (config_want(cx, n, "data.unpack", YML_SEQ) == -1)
		return;
	if (n->n == 0) {
		config_err(cx, n, "data.unpack", "must not be empty");
		return;
	}
	d->unpack = xcalloc(n->n, sizeof(*d->unpack));
	d->nunpack = n->n;
	for (i = 0; i < n->n; i++) {
		item = n->items[i];
		u = &d->unpack[i];
		snprintf(key, sizeof(key), "data.unpack[%zu]", i);
		if (config_map(cx, item, key, known) == -1)
			continue;
		if ((v = config_required(cx, item, key, "archive")) != NULL)
			config_rel_path(cx, v, config_key(k, sizeof(k), key,
			    "archive"), &u->archive);
		if ((v = yml_get(item, "strip_components")) != NULL)
			config_int_min(cx, v, config_key(k, sizeof(k), key,
			    "strip_components"), 0, "must be 0 or more",
			    &u->strip_components);
		if ((v = yml_get(item, "to")) != NULL)
			config_rel_path(cx, v, config_key(k, sizeof(k), key,
			    "to"), &u->to);
	}
}

static void
config_limits(struct config_ctx *cx, const struct yml_node *n,
    struct gs_data_conf *d)
{
	static const char *const known[] = { "max_bytes", "max_entries",
	    NULL };
	const struct yml_node	*v;
	long long		 ll;

	if (config_map(cx, n, "data.limits", known) == -1)
		return;
	if ((v = yml_get(n, "max_bytes")) != NULL)
		config_size(cx, v, "data.limits.max_bytes", &d->max_bytes);
	if ((v = yml_get(n, "max_entries")) != NULL &&
	    config_int(cx, v, "data.limits.max_entries", &ll) == 0) {
		if (ll < 1)
			config_err(cx, v, "data.limits.max_entries",
			    "must be at least 1");
		else
			d->max_entries = (uint64_t)ll;
	}
}

static int
config_hook_cmd(struct config_ctx *cx, const struct yml_node *n,
    const char *key)
{
	if (config_want(cx, n, key, YML_SCALAR) == -1)
		return 0;
	if (n->str[0] == '\0') {
		config_err(cx, n, key, "must not be empty");
		return 0;
	}
	return 1;
}

/* a hook: one command, or a list of them run in order */
static void
config_hook(struct config_ctx *cx, const struct yml_node *n, const char *key,
    struct gs_strlist *out)
{
	char	k[96];
	size_t	i;

	if (n->type == YML_MAP) {
		config_err(cx, n, key,
		    "expected a string or a sequence of strings, got %s",
		    yml_type_name(n->type));
		return;
	}
	if (n->type == YML_SCALAR) {
		if (config_hook_cmd(cx, n, key))
			strlist_add(out, n->str);
		return;
	}
	for (i = 0; i < n->n; i++) {
		snprintf(k, sizeof(k), "%s[%zu]", key, i);
		if (config_hook_cmd(cx, n->items[i], k))
			strlist_add(out, n->items[i]->str);
	}
}

static void
config_hooks(struct config_ctx *cx, const struct yml_node *n,
    struct gs_data_conf *d)
{
	static const char *const known[] = { "before_switch", "after_switch",
	    "timeout", NULL };
	const struct yml_node	*v;

	if (config_map(cx, n, "data.hooks", known) == -1)
		return;
	if ((v = yml_get(n, "before_switch")) != NULL)
		config_hook(cx, v, "data.hooks.before_switch",
		    &d->before_switch);
	if ((v = yml_get(n, "after_switch")) != NULL)
		config_hook(cx, v, "data.hooks.after_switch",
		    &d->after_switch);
	if ((v = yml_get(n, "timeout")) != NULL)
		config_duration(cx, v, "data.hooks.timeout", 1,
		    &d->hook_timeout_ms);
}

static void
config_health(struct config_ctx *cx, const struct yml_node *n,
    struct gs_health_conf *h)
{
	static const char *const known[] = { "url", "expect", "timeout",
	    "retries", NULL };
	const struct yml_node	*v;
	long long		 ll;

	if (config_map(cx, n, "data.health", known) == -1)
		return;
	if ((v = config_required(cx, n, "data.health", "url")) != NULL)
		config_url(cx, v, "data.health.url", &h->url);
	if ((v = yml_get(n, "expect")) != NULL &&
	    config_int(cx, v, "data.health.expect", &ll) == 0) {
		if (ll < 100 || ll > 599)
			config_err(cx, v, "data.health.expect",
			    "must be an HTTP status (100-599)");
		else
			h->expect = (long)ll;
	}
	if ((v = yml_get(n, "timeout")) != NULL)
		config_duration(cx, v, "data.health.timeout", 1,
		    &h->timeout_ms);
	if ((v = yml_get(n, "retries")) != NULL)
		config_int_min(cx, v, "data.health.retries", 0,
		    "must be 0 or more", &h->retries);
}

/* 1 when path is dir or below it */
static int
config_path_within(const char *path, const char *dir)
{
	size_t	len = strlen(dir);

	while (len > 1 && dir[len - 1] == '/')
		len--;
	return strncmp(path, dir, len) == 0 &&
	    (path[len] == '\0' || path[len] == '/');
}

/*
 * Releases live beside the target, not in the private state dir: the web
 * server (another user) must reach them, and a link relative to the
 * target's directory keeps working where that directory is mounted
 * elsewhere, as in a volume shared with a web server container.
 */
static char *
config_default_releases(const char *target)
{
	char	*t, *slash, *out;

	t = xstrdup(target);
	while (strlen(t) > 1 && t[strlen(t) - 1] == '/')
		t[strlen(t) - 1] = '\0';
	slash = strrchr(t, '/');
	*slash = '\0';
	xasprintf(&out, "%s/.%s.releases", t, slash + 1);
	free(t);
	return out;
}

static void
config_data(struct config_ctx *cx, const struct yml_node *n,
    struct gs_data_conf *d)
{
	static const char *const known[] = { "repo", "ref", "depth", "target",
	    "unpack", "limits", "keep_releases", "interval", "jitter",
	    "backoff_max", "max_failures", "stale_after", "hooks", "health",
	    "auth", "verify", "releases_dir", NULL };
	const struct yml_node	*v;

	if (config_map(cx, n, "data", known) == -1)
		return;
	config_repo(cx, n, "data", &d->repo);
	if ((v = yml_get(n, "depth")) != NULL)
		config_int_min(cx, v, "data.depth", 0, "must be 0 or more",
		    &d->repo.depth);
	if ((v = config_required(cx, n, "data", "target")) != NULL)
		config_abs_path(cx, v, "data.target", &d->target);
	if ((v = yml_get(n, "unpack")) != NULL)
		config_unpack(cx, v, d);
	if ((v = yml_get(n, "limits")) != NULL)
		config_limits(cx, v, d);
	if ((v = yml_get(n, "keep_releases")) != NULL)
		config_int_min(cx, v, "data.keep_releases", 1,
		    "must be at least 1", &d->keep_releases);
	if ((v = yml_get(n, "interval")) != NULL)
		config_duration(cx, v, "data.interval", 1, &d->interval_ms);
	if ((v = yml_get(n, "jitter")) != NULL)
		config_percent(cx, v, "data.jitter", &d->jitter_pct);
	if ((v = yml_get(n, "backoff_max")) != NULL)
		config_duration(cx, v, "data.backoff_max", 1,
		    &d->backoff_max_ms);
	if ((v = yml_get(n, "max_failures")) != NULL)
		config_int_min(cx, v, "data.max_failures", 0,
		    "must be 0 or more", &d->max_failures);
	if ((v = yml_get(n, "stale_after")) != NULL)
		config_duration(cx, v, "data.stale_after", 0,
		    &d->stale_after_ms);
	if ((v = yml_get(n, "hooks")) != NULL)
		config_hooks(cx, v, d);
	if ((v = yml_get(n, "health")) != NULL)
		config_health(cx, v, &d->health);
	if ((v = yml_get(n, "releases_dir")) != NULL &&
	    config_abs_path(cx, v, "data.releases_dir", &d->releases_dir) == 0 &&
	    d->target != NULL && config_path_within(d->releases_dir, d->target))
		config_err(cx, v, "data.releases_dir",
		    "must not be data.target or inside it");
	if (d->releases_dir == NULL && d->target != NULL)
		d->releases_dir = config_default_releases(d->target);
}

static void
config_log(struct config_ctx *cx, const struct yml_node *n,
    struct gs_config *c)
{
	static const char *const known[] = { "format", "level", NULL };
	const struct yml_node	*v;

	if (config_map(cx, n, "log", known) == -1)
		return;
	if ((v = yml_get(n, "format")) != NULL &&
	    config_want(cx, v, "log.format", YML_SCALAR) == 0 &&
	    log_format_parse(v->str, &c->log_format) == -1)
		config_err(cx, v, "log.format", "must be \"text\" or \"json\"");
	if ((v = yml_get(n, "level")) != NULL &&
	    config_want(cx, v, "log.level", YML_SCALAR) == 0 &&
	    log_level_parse(v->str, &c->log_level) == -1)
		config_err(cx, v, "log.level",
		    "must be one of error, warn, info, debug");
}

static void
config_notify(struct config_ctx *cx, const struct yml_node *n,
    struct gs_config *c)
{
	static const char *const known[] = { "webhook", NULL };
	const struct yml_node	*v;

	if (config_map(cx, n, "notify", known) == -1)
		return;
	if ((v = yml_get(n, "webhook")) != NULL)
		config_url(cx, v, "notify.webhook", &c->notify_webhook);
}

static void
config_transport(struct config_ctx *cx, const struct yml_node *n,
    struct gs_config *c)
{
	static const char *const known[] = { "ca_file", "insecure", NULL };
	const struct yml_node	*v;

	if (config_map(cx, n, "transport", known) == -1)
		return;
	if ((v = yml_get(n, "ca_file")) != NULL)
		config_abs_path(cx, v, "transport.ca_file", &c->ca_file);
	if ((v = yml_get(n, "insecure")) != NULL &&
	    config_want(cx, v, "transport.insecure", YML_SCALAR) == 0) {
		if (strcmp(v->str, "allow") == 0)
			c->insecure_deny = 0;
		else if (strcmp(v->str, "deny") == 0)
			c->insecure_deny = 1;
		else
			config_err(cx, v, "transport.insecure",
			    "must be \"allow\" or \"deny\"");
	}
}

/* the scheme of a URL that neither authenticates the server nor protects
 * the content in transit, or NULL */
static const char *
config_insecure_scheme(const char *url)
{
	char	*rewritten;

	if (strncasecmp(url, "http://", 7) == 0)
		return "http://";
	if (strncasecmp(url, "git://", 6) == 0) {
		/* git://github.com/ is fetched over https:// (repo.c) */
		if ((rewritten = repo_rewrite_url(url)) != NULL) {
			free(rewritten);
			return NULL;
		}
		return "git://";
	}
	return NULL;
}

/*
 * transport.insecure applies to what is deployed and what is announced:
 * the git remotes and notify.webhook. Health checks are usually plain
 * http:// on the loopback, and are left alone.
 */
static void
config_insecure_check(struct config_ctx *cx, const struct yml_node *n,
    const char *key, struct gs_config *c)
{
	const char	*scheme;
	char		*safe, *line;

	if (n == NULL || n->type != YML_SCALAR ||
	    (scheme = config_insecure_scheme(n->str)) == NULL)
		return;
	if (c->insecure_deny) {
		config_err(cx, n, key, "%s is an unauthenticated transport "
		    "(transport.insecure: deny)", scheme);
		return;
	}
	/* a webhook URL carries its token: name the key, not the URL */
	safe = strcmp(key, "notify.webhook") == 0 ? xstrdup(scheme) :
	    util_redact_url(n->str);
	xasprintf(&line, "key=%s url=%s", key, safe);
	strlist_add(&c->insecure, line);
	free(line);
	free(safe);
}

static void
config_insecure(struct config_ctx *cx, const struct yml_node *root,
    struct gs_config *c)
{
	const struct yml_node	*sec;

	if ((sec = yml_get(root, "service")) != NULL && sec->type == YML_MAP)
		config_insecure_check(cx, yml_get(sec, "repo"),
		    "service.repo", c);
	if ((sec = yml_get(root, "data")) != NULL && sec->type == YML_MAP)
		config_insecure_check(cx, yml_get(sec, "repo"), "data.repo", c);
	if ((sec = yml_get(root, "notify")) != NULL && sec->type == YML_MAP)
		config_insecure_check(cx, yml_get(sec, "webhook"),
		    "notify.webhook", c);
}

void
config_warn(struct gs_config *c)
{
	size_t	i;

	if (c->warned)
		return;
	c->warned = 1;
	for (i = 0; i < c->insecure.n; i++)
		log_warnx("transport", "%s msg=\"unauthenticated transport: "
		    "anyone on the path can change what is fetched\"",
		    c->insecure.v[i]);
}

static struct gs_config *
config_new(const char *file)
{
	struct gs_config	*c;
	struct gs_data_conf	*d;

	c = xcalloc(1, sizeof(*c));
	c->file = xstrdup(file);
	c->state_dir = xstrdup(GS_DEFAULT_STATE_DIR);
	c->log_level = LOG_LEVEL_INFO;
	c->log_format = LOG_FORMAT_TEXT;
	c->service.repo.ref = xstrdup("HEAD");
	d = &c->data;
	d->repo.ref = xstrdup("HEAD");
	d->max_bytes = GS_DEFAULT_MAX_BYTES;
	d->max_entries = GS_DEFAULT_MAX_ENTRIES;
	d->keep_releases = GS_DEFAULT_KEEP;
	d->interval_ms = GS_DEFAULT_INTERVAL_MS;
	d->jitter_pct = GS_DEFAULT_JITTER;
	d->backoff_max_ms = GS_DEFAULT_BACKOFF_MS;
	d->hook_timeout_ms = GS_DEFAULT_HOOK_MS;
	d->health.expect = CONFIG_HEALTH_EXPECT;
	d->health.timeout_ms = CONFIG_HEALTH_TIMEOUT;
	d->health.retries = CONFIG_HEALTH_RETRIES;
	return c;
}

static void
config_root(struct config_ctx *cx, const struct yml_node *root,
    struct gs_config *c)
{
	static const char *const known[] = { "state_dir", "user", "log",
	    "service", "data", "notify", "transport", NULL };
	const struct yml_node	*v;

	if (root == NULL) {
		config_err(cx, NULL, "config", "empty document");
		return;
	}
	if (config_map(cx, root, "config", known) == -1)
		return;
	if ((v = yml_get(root, "state_dir")) != NULL)
		config_abs_path(cx, v, "state_dir", &c->state_dir);
	if ((v = yml_get(root, "user")) != NULL)
		config_str(cx, v, "user", &c->user);
	if ((v = yml_get(root, "log")) != NULL)
		config_log(cx, v, c);
	if ((v = yml_get(root, "service")) != NULL) {
		c->has_service = 1;
		config_service(cx, v, &c->service);
	}
	if ((v = config_required(cx, root, "config", "data")) != NULL)
		config_data(cx, v, &c->data);
	if ((v = yml_get(root, "notify")) != NULL)
		config_notify(cx, v, c);
	if ((v = yml_get(root, "transport")) != NULL)
		config_transport(cx, v, c);
	config_insecure(cx, root, c);
}

static void
config_env(struct config_ctx *cx, struct gs_config *c)
{
	const char	*s;
	char		*text;

	if ((s = getenv("GITSTRAP_STATE_DIR")) == NULL || *s == '\0')
		return;
	if (*s != '/') {
		xasprintf(&text, "GITSTRAP_STATE_DIR: must be an absolute path");
		config_msg_add(cx, INT_MAX, INT_MAX, text);
		return;
	}
	free(c->state_dir);
	c->state_dir = xstrdup(s);
}

int
config_from_node(struct gs_config **out, const char *file,
    const struct yml_node *root, struct gs_diag *diag, struct gs_error *err)
{
	struct config_ctx	 cx;
	struct gs_config	*c;
	size_t			 i;
	int			 ret = 0;

	*out = NULL;
	memset(&cx, 0, sizeof(cx));
	cx.file = file;
	c = config_new(file);
	config_root(&cx, root, c);
	config_env(&cx, c);

	if (cx.nmsgs > 0) {
		qsort(cx.msgs, cx.nmsgs, sizeof(*cx.msgs), config_msg_cmp);
		gs_error_set(err, GS_E_CONFIG, 0, "%s", cx.msgs[0].text);
		for (i = 0; i < cx.nmsgs; i++) {
			diag_add(diag, "%s", cx.msgs[i].text);
			free(cx.msgs[i].text);
		}
		free(cx.msgs);
		config_free(c);
		ret = -1;
	} else
		*out = c;
	return ret;
}

int
config_load(struct gs_config **out, const char *path, struct gs_diag *diag,
    struct gs_error *err)
{
	struct yml_doc	*doc = NULL;
	struct gs_error	 local;
	char		*buf = NULL;
	size_t		 len;
	int		 ret = -1;

	*out = NULL;
	if (err == NULL)
		err = &local;
	if (util_read_file(path, CONFIG_MAX_FILE, &buf, &len, err) == -1) {
		diag_add(diag, "%s", err->msg);
		goto out;
	}
	if (yml_parse(&doc, path, buf, len, err) == -1) {
		diag_add(diag, "%s", err->msg);
		goto out;
	}
	ret = config_from_node(out, path, doc->root, diag, err);
out:
	yml_free(doc);
	free(buf);
	return ret;
}

static void
config_auth_free(struct gs_auth *a)
{
	free(a->username);
	free(a->password);
	free(a->password_file);
	free(a->password_env);
	free(a->ssh_key);
	free(a->ssh_known_hosts);
}

static void
config_verify_free(struct gs_verify_conf *v)
{
	free(v->allowed_signers);
	free(v->gpg_keyring);
	free(v->revoked_keys);
}

void
config_free(struct gs_config *c)
{
	size_t	i;

	if (c == NULL)
		return;
	free(c->file);
	free(c->state_dir);
	free(c->user);
	free(c->service.repo.url);
	free(c->service.repo.ref);
	config_auth_free(&c->service.repo.auth);
	config_verify_free(&c->service.repo.verify);
	free(c->service.recipe);
	for (i = 0; i < c->service.nvars; i++) {
		free(c->service.vars[i].key);
		free(c->service.vars[i].val);
	}
	free(c->service.vars);
	free(c->data.repo.url);
	free(c->data.repo.ref);
	config_auth_free(&c->data.repo.auth);
	config_verify_free(&c->data.repo.verify);
	free(c->data.target);
	free(c->data.releases_dir);
	for (i = 0; i < c->data.nunpack; i++) {
		free(c->data.unpack[i].archive);
		free(c->data.unpack[i].to);
	}
	free(c->data.unpack);
	strlist_free(&c->data.before_switch);
	strlist_free(&c->data.after_switch);
	free(c->data.health.url);
	free(c->notify_webhook);
	free(c->ca_file);
	strlist_free(&c->insecure);
	free(c);
}

const char *
config_var(const struct gs_config *c, const char *name)
{
	size_t	i;

	if (c == NULL || !c->has_service)
		return NULL;
	for (i = 0; i < c->service.nvars; i++)
		if (strcmp(c->service.vars[i].key, name) == 0)
			return c->service.vars[i].val;
	return NULL;
}
