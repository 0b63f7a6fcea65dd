/*
 * test_config.c: yml.c (the YAML tree and its limits) and config.c (the
 * config model, its defaults and every message it gives).
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "gitstrap.h"

/* a config that passes; cases append to it or start from scratch */
#define BASE \
	"data:\n" \
	"  repo: https://example.com/data.git\n" \
	"  target: /srv/www\n"

static const char *
fixtures(void)
{
	const char	*s = getenv("FIXTURES");

	return s != NULL && *s != '\0' ? s : "tests/fixtures";
}

static char *
fixture(const char *name)
{
	char	*path;

	xasprintf(&path, "%s/config/%s", fixtures(), name);
	return path;
}

static struct yml_doc *
parse_ok(const char *yaml)
{
	struct yml_doc	*doc = NULL;
	struct gs_error	 err;

	memset(&err, 0, sizeof(err));
	if (yml_parse(&doc, "t.yml", yaml, strlen(yaml), &err) == -1)
		fail_msg("unexpected YAML error: %s", err.msg);
	assert_non_null(doc);
	return doc;
}

static void
yml_expect_error(const char *yaml, size_t len, const char *want)
{
	struct yml_doc	*doc = (struct yml_doc *)1;
	struct gs_error	 err;

	memset(&err, 0, sizeof(err));
	assert_int_equal(yml_parse(&doc, "t.yml", yaml, len, &err), -1);
	assert_null(doc);
	assert_int_equal(err.src, GS_E_YAML);
	assert_string_equal(err.msg, want);
}

/* a literal input, NUL bytes included, without the terminating one */
#define YML_ERR(lit, want)	yml_expect_error(lit, sizeof(lit) - 1, want)

static struct gs_config *
config_ok(const char *yaml)
{
	struct yml_doc		*doc = parse_ok(yaml);
	struct gs_config	*c = NULL;
	struct gs_diag		 diag = { NULL, 0 };
	struct gs_error		 err;

	memset(&err, 0, sizeof(err));
	if (config_from_node(&c, "t.yml", doc->root, &diag, &err) == -1)
		fail_msg("unexpected config error: %s", err.msg);
	assert_int_equal(diag.n, 0);
	assert_non_null(c);
	yml_free(doc);
	return c;
}

/* every diag line, in order; the first is in err too */
static void
config_expect_lines(const char *yaml, const char *const *want)
{
	struct yml_doc		*doc = parse_ok(yaml);
	struct gs_config	*c = (struct gs_config *)1;
	struct gs_diag		 diag = { NULL, 0 };
	struct gs_error		 err;
	size_t			 i, n;

	memset(&err, 0, sizeof(err));
	for (n = 0; want[n] != NULL; n++)
		;
	assert_int_equal(config_from_node(&c, "t.yml", doc->root, &diag,
	    &err), -1);
	assert_null(c);
	for (i = 0; i < diag.n && i < n; i++)
		assert_string_equal(diag.msgs[i], want[i]);
	assert_int_equal(diag.n, n);
	assert_int_equal(err.src, GS_E_CONFIG);
	assert_string_equal(err.msg, want[0]);
	diag_free(&diag);
	yml_free(doc);
}

static void
config_expect(const char *yaml, const char *want)
{
	const char	*lines[2] = { want, NULL };

	config_expect_lines(yaml, lines);
}

static int
setup(void **state)
{
	(void)state;
	unsetenv("GITSTRAP_STATE_DIR");
	return 0;
}

/* ------------------------------------------------------------------ */
/* yml.c */

static void
test_yml_tree(void **state)
{
	struct yml_doc	*doc;
	struct yml_node	*a, *b, *s;

	(void)state;
	doc = parse_ok("a:\n  b: c\n  list: [1, 'two', \"3\"]\n");
	assert_string_equal(doc->file, "t.yml");
	assert_int_equal(doc->root->type, YML_MAP);
	assert_int_equal(doc->root->line, 1);
	assert_int_equal(doc->root->col, 1);
	a = yml_get(doc->root, "a");
	assert_non_null(a);
	assert_int_equal(a->type, YML_MAP);
	assert_int_equal(a->n, 2);
	assert_int_equal(a->keys[0]->line, 2);
	assert_int_equal(a->keys[0]->col, 3);
	b = yml_get(a, "b");
	assert_string_equal(b->str, "c");
	assert_int_equal(b->len, 1);
	assert_int_equal(b->line, 2);
	assert_int_equal(b->col, 6);
	assert_false(b->quoted);
	s = yml_get(a, "list");
	assert_int_equal(s->type, YML_SEQ);
	assert_int_equal(s->n, 3);
	assert_int_equal(s->col, 9);
	assert_false(s->items[0]->quoted);
	assert_true(s->items[1]->quoted);
	assert_string_equal(s->items[2]->str, "3");
	assert_int_equal(s->items[2]->col, 20);
	assert_null(yml_get(a, "nope"));
	assert_null(yml_get(b, "b"));
	yml_free(doc);
	yml_free(NULL);
}

static void
test_yml_empty(void **state)
{
	static const char *const empty[] = { "", "# just a comment\n\n",
	    "---\n", "--- # nothing\n...\n" };
	struct yml_doc	*doc;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(empty) / sizeof(*empty); i++) {
		doc = parse_ok(empty[i]);
		assert_null(doc->root);
		yml_free(doc);
	}
	/* an empty quoted string is a value, not an empty document */
	doc = parse_ok("''\n");
	assert_non_null(doc->root);
	assert_int_equal(doc->root->len, 0);
	yml_free(doc);
}

static void
test_yml_tags_and_bools(void **state)
{
	static const char *const t[] = { "true", "True", "yes", "on", "ON" };
	static const char *const f[] = { "false", "FALSE", "no", "off", "Off" };
	struct yml_doc	*doc;
	struct yml_node	 n;
	size_t		 i;

	(void)state;
	doc = parse_ok("a: !!str 12\nb: 12\n");
	assert_string_equal(yml_get(doc->root, "a")->tag,
	    "tag:yaml.org,2002:str");
	assert_null(yml_get(doc->root, "b")->tag);
	assert_int_equal(yml_bool(yml_get(doc->root, "b")), -1);
	assert_int_equal(yml_bool(doc->root), -1);
	yml_free(doc);

	memset(&n, 0, sizeof(n));
	n.type = YML_SCALAR;
	for (i = 0; i < sizeof(t) / sizeof(*t); i++) {
		n.str = (char *)t[i];
		assert_int_equal(yml_bool(&n), 1);
		n.str = (char *)f[i];
		assert_int_equal(yml_bool(&n), 0);
	}
	n.str = (char *)"maybe";
	assert_int_equal(yml_bool(&n), -1);
	assert_int_equal(yml_bool(NULL), -1);
	assert_string_equal(yml_type_name(YML_SCALAR), "a string");
	assert_string_equal(yml_type_name(YML_SEQ), "a sequence");
	assert_string_equal(yml_type_name(YML_MAP), "a mapping");
}

static void
test_yml_duplicate_key(void **state)
{
	(void)state;
	YML_ERR("a: 1\nb: 2\na: 3\n",
	    "t.yml:3:1: duplicate key \"a\"");
	YML_ERR("x:\n  - {k: 1, k: 2}\n",
	    "t.yml:2:12: duplicate key \"k\"");
}

static void
test_yml_non_scalar_key(void **state)
{
	(void)state;
	YML_ERR("? [a, b]\n: 1\n",
	    "t.yml:1:3: mapping keys must be scalars");
	YML_ERR("{ {a: 1}: 2 }\n",
	    "t.yml:1:3: mapping keys must be scalars");
}

static void
test_yml_alias_shared(void **state)
{
	struct yml_doc	*doc;
	struct yml_node	*a, *b;

	(void)state;
	/* an alias shares its node; freeing it once is the point (ASan) */
	doc = parse_ok("a: &x {k: v, l: [1, 2]}\nb: *x\nc: [*x, *x]\n");
	a = yml_get(doc->root, "a");
	b = yml_get(doc->root, "b");
	assert_ptr_equal(a, b);
	assert_ptr_equal(yml_get(doc->root, "c")->items[1], a);
	assert_string_equal(yml_get(b, "k")->str, "v");
	yml_free(doc);

	/*
	 * anchors defined inside an anchored collection: the anchor table
	 * grows while the outer one is open (a use-after-free once)
	 */
	doc = parse_ok("a: &o [&i1 1, &i2 2, &i3 {k: &i4 v}, &i5 5]\n"
	    "b: [*o, *i4, *i5]\n");
	b = yml_get(doc->root, "b");
	assert_ptr_equal(b->items[0], yml_get(doc->root, "a"));
	assert_string_equal(b->items[1]->str, "v");
	assert_string_equal(b->items[2]->str, "5");
	yml_free(doc);

	YML_ERR("a: *nope\n", "t.yml:1:4: unknown anchor \"nope\"");
	YML_ERR("a: &x [1, *x]\n",
	    "t.yml:1:11: alias \"x\" refers to itself");
}

static void
test_yml_alias_bomb(void **state)
{
	static const char bomb[] =
	    "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\","
	    "\"lol\",\"lol\"]\n"
	    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
	    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
	    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
	    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
	    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
	    "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
	    "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
	    "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
	struct timespec	t0, t1;
	double		elapsed;

	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* "d" alone expands to 7381 nodes: the first "*d" tips it over */
	yml_expect_error(bomb, sizeof(bomb) - 1,
	    "t.yml:5:8: too many nodes (more than 10000, aliases expanded)");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	elapsed = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(elapsed < 1.0);
}

/* "a: &x" 40 levels deep, then "b:" aliasing it under depth more */
static const char *
deep_alias(char *buf, size_t size, int depth)
{
	int	i;

	assert_true(size > 2 * 40 + 2 * (size_t)depth + 16);
	strcpy(buf, "a: &x ");
	for (i = 0; i < 40; i++)
		strcat(buf, "[");
	for (i = 0; i < 40; i++)
		strcat(buf, "]");
	strcat(buf, "\nb: ");
	for (i = 0; i < depth; i++)
		strcat(buf, "[");
	strcat(buf, "*x");
	for (i = 0; i < depth; i++)
		strcat(buf, "]");
	strcat(buf, "\n");
	return buf;
}

static void
test_yml_deep_nesting(void **state)
{
	char	buf[300];
	size_t	i;

	(void)state;
	/* 64 levels are fine */
	for (i = 0; i < 64; i++) {
		buf[i] = '[';
		buf[64 + i] = ']';
	}
	buf[128] = '\0';
	yml_free(parse_ok(buf));
	/* 65 are not: refused at the 65th */
	for (i = 0; i < 65; i++) {
		buf[i] = '[';
		buf[65 + i] = ']';
	}
	yml_expect_error(buf, 130,
	    "t.yml:1:65: nesting too deep (more than 64 levels)");
	/*
	 * nor through an alias: 40 levels under the root mapping and 23
	 * sequences make 64; under 24 they make 65
	 */
	yml_free(parse_ok(deep_alias(buf, sizeof(buf), 23)));
	yml_expect_error(deep_alias(buf, sizeof(buf), 24), strlen(buf),
	    "t.yml:2:28: nesting too deep (more than 64 levels)");
}

static void
test_yml_nul_byte(void **state)
{
	static const char in[] = "a: 1\nb: x\0y\n";

	(void)state;
	yml_expect_error(in, sizeof(in) - 1,
	    "t.yml:2:5: input contains a NUL byte");
	/* an escaped NUL in a double-quoted scalar is refused too */
	YML_ERR("a: \"x\\0y\"\n",
	    "t.yml:1:4: scalar contains a NUL character");
}

static void
test_yml_bad_utf8(void **state)
{
	(void)state;
	YML_ERR("a: ok\nb: \"caf\xc3\"\n",
	    "t.yml:2:9: invalid trailing UTF-8 octet (0x22)");
	YML_ERR("a: \xff\n",
	    "t.yml:1:4: invalid leading UTF-8 octet (0xff)");
}

static void
test_yml_syntax_error(void **state)
{
	(void)state;
	YML_ERR("a: b: c\n",
	    "t.yml:1:5: mapping values are not allowed in this context");
	YML_ERR("data:\n  list: [1, 2\n  next: 3\n",
	    "t.yml:3:7: did not find expected ',' or ']' "
	    "(while parsing a flow sequence)");
	/* a tab in the indentation is named as such */
	YML_ERR("data:\n\trepo: x\n",
	    "t.yml:2:1: tab character (YAML indents with spaces only)");
	/* and a tab inside a line is still fine */
	yml_free(parse_ok("a:\tb\t# c\n"));
}

static void
test_yml_multiple_documents(void **state)
{
	(void)state;
	YML_ERR("a: 1\n---\nb: 2\n",
	    "t.yml:2:1: expected a single document");
}

static void
test_yml_large_scalar(void **state)
{
	size_t	 n = 1024 * 1024 + 1;
	char	*buf;

	(void)state;
	buf = xmalloc(n + 6);
	memcpy(buf, "a: ", 3);
	memset(buf + 3, 'x', n);
	memcpy(buf + 3 + n, "\n", 2);
	yml_expect_error(buf, n + 4,
	    "t.yml:1:4: scalar too large (more than 1048576 bytes)");
	free(buf);
}

/* ------------------------------------------------------------------ */
/* config.c: good configs */

static void
test_config_defaults(void **state)
{
	struct gs_config	*c;

	(void)state;
	c = config_ok(BASE);
	assert_string_equal(c->file, "t.yml");
	assert_string_equal(c->state_dir, GS_DEFAULT_STATE_DIR);
	assert_null(c->user);
	assert_int_equal(c->log_format, LOG_FORMAT_TEXT);
	assert_int_equal(c->log_level, LOG_LEVEL_INFO);
	assert_false(c->has_service);
	assert_null(config_var(c, "email"));
	assert_string_equal(c->data.repo.url, "https://example.com/data.git");
	assert_string_equal(c->data.repo.ref, "HEAD");
	assert_int_equal(c->data.repo.depth, 0);
	assert_null(c->data.repo.auth.password_file);
	assert_string_equal(c->data.target, "/srv/www");
	assert_int_equal(c->data.nunpack, 0);
	assert_true(c->data.max_bytes == GS_DEFAULT_MAX_BYTES);
	assert_true(c->data.max_bytes == 4ULL * 1024 * 1024 * 1024);
	assert_true(c->data.max_entries == GS_DEFAULT_MAX_ENTRIES);
	assert_int_equal(c->data.keep_releases, 3);
	assert_int_equal(c->data.interval_ms, 300000);
	assert_int_equal(c->data.jitter_pct, 10);
	assert_int_equal(c->data.backoff_max_ms, 1800000);
	assert_int_equal(c->data.max_failures, 0);
	assert_int_equal(c->data.stale_after_ms, 0);
	assert_int_equal(c->data.before_switch.n, 0);
	assert_int_equal(c->data.after_switch.n, 0);
	assert_int_equal(c->data.hook_timeout_ms, GS_DEFAULT_HOOK_MS);
	assert_null(c->data.health.url);
	assert_int_equal(c->data.health.expect, 200);
	assert_int_equal(c->data.health.timeout_ms, 10000);
	assert_int_equal(c->data.health.retries, 3);
	assert_null(c->notify_webhook);
	config_free(c);
	config_free(NULL);
}

static void
test_config_full(void **state)
{
	struct gs_config	*c = NULL;
	struct gs_diag		 diag = { NULL, 0 };
	struct gs_error		 err;
	char			*path = fixture("good-full.yml");

	(void)state;
	memset(&err, 0, sizeof(err));
	if (config_load(&c, path, &diag, &err) == -1)
		fail_msg("%s", err.msg);
	assert_int_equal(diag.n, 0);
	assert_string_equal(c->file, path);
	assert_string_equal(c->state_dir, "/var/lib/gitstrap-test");
	assert_null(c->user);
	assert_int_equal(c->log_format, LOG_FORMAT_JSON);
	assert_int_equal(c->log_level, LOG_LEVEL_DEBUG);

	assert_true(c->has_service);
	assert_string_equal(c->service.repo.url,
	    "https://github.com/eucalyptus/open-qa.git");
	assert_string_equal(c->service.repo.ref, "master");
	assert_string_equal(c->service.recipe, "open-qa");
	assert_int_equal(c->service.nvars, 2);
	assert_string_equal(config_var(c, "email"), "ops@example.com");
	assert_string_equal(config_var(c, "docroot"), "/var/www/html");
	assert_null(config_var(c, "missing"));
	assert_true(c->service.follow);
	assert_string_equal(c->service.repo.auth.username, "deploy");
	assert_string_equal(c->service.repo.auth.password_file,
	    "/etc/gitstrap/token");

	assert_string_equal(c->data.repo.ref, "master");
	assert_int_equal(c->data.repo.depth, 1);
	assert_string_equal(c->data.target, "/var/www/html/webcache");
	assert_int_equal(c->data.nunpack, 2);
	assert_string_equal(c->data.unpack[0].archive,
	    "cache_storage_for_open_qa.tar.gz");
	assert_int_equal(c->data.unpack[0].strip_components, 2);
	assert_null(c->data.unpack[0].to);
	assert_string_equal(c->data.unpack[1].archive, "extra/images.tar");
	assert_int_equal(c->data.unpack[1].strip_components, 0);
	assert_string_equal(c->data.unpack[1].to, "images");
	assert_true(c->data.max_bytes == 512ULL * 1024 * 1024);
	assert_true(c->data.max_entries == 20000);
	assert_int_equal(c->data.keep_releases, 5);
	assert_int_equal(c->data.interval_ms, 90000);
	assert_int_equal(c->data.jitter_pct, 25);
	assert_int_equal(c->data.backoff_max_ms, 5400000);
	assert_int_equal(c->data.max_failures, 4);
	assert_int_equal(c->data.stale_after_ms, 7200000);
	assert_int_equal(c->data.before_switch.n, 1);
	assert_string_equal(c->data.before_switch.v[0], "test -f index.html");
	assert_int_equal(c->data.after_switch.n, 2);
	assert_string_equal(c->data.after_switch.v[0],
	    "systemctl reload nginx");
	assert_string_equal(c->data.after_switch.v[1], "logger published");
	assert_int_equal(c->data.hook_timeout_ms, 30000);
	assert_string_equal(c->data.health.url, "http://127.0.0.1/webcache/");
	assert_int_equal(c->data.health.expect, 204);
	assert_int_equal(c->data.health.timeout_ms, 5000);
	assert_int_equal(c->data.health.retries, 0);
	assert_string_equal(c->data.repo.auth.ssh_key,
	    "/etc/gitstrap/id_ed25519");
	assert_string_equal(c->data.repo.auth.ssh_known_hosts,
	    "/etc/gitstrap/known_hosts");
	assert_string_equal(c->notify_webhook,
	    "https://hooks.example.com/gitstrap");
	config_free(c);
	free(path);
}

static void
test_config_minimal_file(void **state)
{
	struct gs_config	*c = NULL;
	struct gs_diag		 diag = { NULL, 0 };
	struct gs_error		 err;
	char			*path = fixture("good-minimal.yml");

	(void)state;
	memset(&err, 0, sizeof(err));
	assert_int_equal(config_load(&c, path, &diag, &err), 0);
	assert_string_equal(c->data.target, "/srv/www");
	assert_string_equal(c->data.repo.ref, "HEAD");
	config_free(c);
	free(path);
}

static void
test_config_quoted_and_lenient(void **state)
{
	struct gs_config	*c;

	(void)state;
	/* a quoted number is still a number; a number is still a string */
	c = config_ok(BASE
	    "  keep_releases: \"7\"\n"
	    "  depth: '0'\n"
	    "  ref: 1234\n"
	    "  limits: { max_bytes: 4096, max_entries: \"5\" }\n"
	    "  jitter: 0\n"
	    "  stale_after: 0\n"
	    "  hooks: { before_switch: [a, b, c], timeout: 1m }\n");
	assert_int_equal(c->data.keep_releases, 7);
	assert_int_equal(c->data.repo.depth, 0);
	assert_string_equal(c->data.repo.ref, "1234");
	assert_true(c->data.max_bytes == 4096);
	assert_true(c->data.max_entries == 5);
	assert_int_equal(c->data.jitter_pct, 0);
	assert_int_equal(c->data.before_switch.n, 3);
	assert_string_equal(c->data.before_switch.v[2], "c");
	assert_int_equal(c->data.hook_timeout_ms, 60000);
	config_free(c);
}

static void
test_config_service_defaults(void **state)
{
	struct gs_config	*c;

	(void)state;
	c = config_ok("service:\n  repo: git://example.com/svc.git\n"
	    "  follow: off\n" BASE);
	assert_true(c->has_service);
	assert_string_equal(c->service.repo.ref, "HEAD");
	assert_null(c->service.recipe);
	assert_int_equal(c->service.nvars, 0);
	assert_false(c->service.follow);
	config_free(c);
}

static void
test_config_password_literal(void **state)
{
	struct gs_config	*c;

	(void)state;
	/* accepted, with a warning in the log */
	c = config_ok(BASE "  auth: { username: u, password: s3cr3t-value }\n");
	assert_string_equal(c->data.repo.auth.password, "s3cr3t-value");
	config_free(c);
}

static void
test_config_env_state_dir(void **state)
{
	struct gs_config	*c;

	(void)state;
	setenv("GITSTRAP_STATE_DIR", "/tmp/gitstrap-state", 1);
	c = config_ok("state_dir: /var/lib/other\n" BASE);
	assert_string_equal(c->state_dir, "/tmp/gitstrap-state");
	config_free(c);
	/* set but empty: no override */
	setenv("GITSTRAP_STATE_DIR", "", 1);
	c = config_ok("state_dir: /var/lib/other\n" BASE);
	assert_string_equal(c->state_dir, "/var/lib/other");
	config_free(c);
	setenv("GITSTRAP_STATE_DIR", "relative/dir", 1);
	config_expect(BASE, "GITSTRAP_STATE_DIR: must be an absolute path");
	unsetenv("GITSTRAP_STATE_DIR");
}

/* ------------------------------------------------------------------ */
/* config.c: every message */

static void
test_config_unknown_key(void **state)
{
	(void)state;
	config_expect(BASE "  tagret: /srv/www\n",
	    "t.yml:4:3: data: unknown key \"tagret\"");
	config_expect("foo: 1\n" BASE,
	    "t.yml:1:1: config: unknown key \"foo\"");
	config_expect(BASE "  health: { url: http://x/, expct: 200 }\n",
	    "t.yml:4:29: data.health: unknown key \"expct\"");
}

static void
test_config_wrong_types(void **state)
{
	(void)state;
	config_expect(BASE "  keep_releases: { n: 1 }\n",
	    "t.yml:4:18: data.keep_releases: expected an integer, "
	    "got a mapping");
	config_expect("data:\n  repo: [a, b]\n  target: /srv/www\n",
	    "t.yml:2:9: data.repo: expected a string, got a sequence");
	config_expect(BASE "  health: http://127.0.0.1/\n",
	    "t.yml:4:11: data.health: expected a mapping, got a string");
	config_expect("service:\n  repo: x\n  follow: maybe\n" BASE,
	    "t.yml:3:11: service.follow: expected a boolean, got \"maybe\"");
	config_expect(BASE "  depth: deep\n",
	    "t.yml:4:10: data.depth: expected an integer, got \"deep\"");
	config_expect(BASE "  interval: [5m]\n",
	    "t.yml:4:13: data.interval: expected a duration, got a sequence");
	config_expect("log: text\n" BASE,
	    "t.yml:1:6: log: expected a mapping, got a string");
	config_expect(BASE "  unpack: { archive: a.tar }\n",
	    "t.yml:4:11: data.unpack: expected a sequence, got a mapping");
	config_expect(BASE "  unpack: [a.tar]\n",
	    "t.yml:4:12: data.unpack[0]: expected a mapping, got a string");
}

static void
test_config_missing(void **state)
{
	(void)state;
	config_expect("data:\n  target: /srv/www\n",
	    "t.yml:2:3: data: missing required key \"repo\"");
	config_expect("data:\n  repo: x\n",
	    "t.yml:2:3: data: missing required key \"target\"");
	config_expect("state_dir: /var/lib/x\n",
	    "t.yml:1:1: config: missing required key \"data\"");
	config_expect("service:\n  ref: main\n" BASE,
	    "t.yml:2:3: service: missing required key \"repo\"");
	config_expect(BASE "  unpack:\n    - strip_components: 1\n",
	    "t.yml:5:7: data.unpack[0]: missing required key \"archive\"");
	config_expect(BASE "  health: { expect: 200 }\n",
	    "t.yml:4:11: data.health: missing required key \"url\"");
}

static void
test_config_empty_and_root(void **state)
{
	struct gs_config	*c = (struct gs_config *)1;
	struct gs_diag		 diag = { NULL, 0 };
	struct gs_error		 err;

	(void)state;
	memset(&err, 0, sizeof(err));
	assert_int_equal(config_from_node(&c, "t.yml", NULL, &diag, &err), -1);
	assert_null(c);
	assert_int_equal(diag.n, 1);
	assert_string_equal(diag.msgs[0], "t.yml:1:1: config: empty document");
	assert_string_equal(err.msg, "t.yml:1:1: config: empty document");
	diag_free(&diag);
	config_expect("- data\n",
	    "t.yml:1:1: config: expected a mapping, got a sequence");
	config_expect("just words\n",
	    "t.yml:1:1: config: expected a mapping, got a string");
}

static void
test_config_bad_values(void **state)
{
	(void)state;
	config_expect(BASE "  interval: 5x\n",
	    "t.yml:4:13: data.interval: bad duration \"5x\": "
	    "unknown unit (use ms, s, m, h or d)");
	config_expect(BASE "  limits: { max_bytes: 12Q }\n",
	    "t.yml:4:24: data.limits.max_bytes: bad size \"12Q\": "
	    "unknown unit (use K, M, G or T)");
	config_expect(BASE "  jitter: 150%\n",
	    "t.yml:4:11: data.jitter: bad percentage \"150%\": "
	    "must be between 0 and 100");
	config_expect(BASE "  interval: 0s\n",
	    "t.yml:4:13: data.interval: must be more than 0");
}

static void
test_config_paths(void **state)
{
	(void)state;
	config_expect("data:\n  repo: x\n  target: srv/www\n",
	    "t.yml:3:11: data.target: must be an absolute path");
	config_expect("state_dir: var/lib\n" BASE,
	    "t.yml:1:12: state_dir: must be an absolute path");
	config_expect(BASE "  unpack:\n    - archive: a.tar\n"
	    "    - archive: ../b.tar\n",
	    "t.yml:6:16: data.unpack[1].archive: must be a relative path "
	    "inside the repository");
	config_expect(BASE "  unpack: [{ archive: /etc/a.tar }]\n",
	    "t.yml:4:23: data.unpack[0].archive: must be a relative path "
	    "inside the repository");
	config_expect(BASE "  unpack: [{ archive: a.tar, to: x/../../y }]\n",
	    "t.yml:4:34: data.unpack[0].to: must be a relative path "
	    "inside the repository");
	config_expect(BASE "  auth: { ssh_key: id_rsa }\n",
	    "t.yml:4:20: data.auth.ssh_key: must be an absolute path");
}

static void
test_config_releases_dir(void **state)
{
	struct gs_config	*c;

	(void)state;
	c = config_ok(BASE);
	assert_string_equal(c->data.releases_dir, "/srv/.www.releases");
	config_free(c);
	c = config_ok("data:\n  repo: x\n  target: /var/www/html/webcache/\n");
	assert_string_equal(c->data.releases_dir,
	    "/var/www/html/.webcache.releases");
	config_free(c);
	c = config_ok(BASE "  releases_dir: /srv/releases\n");
	assert_string_equal(c->data.releases_dir, "/srv/releases");
	config_free(c);
	config_expect(BASE "  releases_dir: /srv/www/r\n",
	    "t.yml:4:17: data.releases_dir: must not be data.target or "
	    "inside it");
	config_expect(BASE "  releases_dir: /srv/www\n",
	    "t.yml:4:17: data.releases_dir: must not be data.target or "
	    "inside it");
	config_expect(BASE "  releases_dir: rel\n",
	    "t.yml:4:17: data.releases_dir: must be an absolute path");
}

static void
test_config_ranges(void **state)
{
	(void)state;
	config_expect("data:\n  repo: ''\n  target: /srv/www\n",
	    "t.yml:2:9: data.repo: must not be empty");
	config_expect(BASE "  keep_releases: 0\n",
	    "t.yml:4:18: data.keep_releases: must be at least 1");
	config_expect(BASE "  depth: -1\n",
	    "t.yml:4:10: data.depth: must be 0 or more");
	config_expect(BASE "  unpack: [{ archive: a.tgz, strip_components: -2 }]\n",
	    "t.yml:4:48: data.unpack[0].strip_components: must be 0 or more");
	config_expect(BASE "  limits:\n    max_entries: 0\n",
	    "t.yml:5:18: data.limits.max_entries: must be at least 1");
	config_expect(BASE "  health: { url: http://127.0.0.1/, expect: 99 }\n",
	    "t.yml:4:45: data.health.expect: must be an HTTP status "
	    "(100-599)");
	config_expect(BASE "  max_failures: -3\n",
	    "t.yml:4:17: data.max_failures: must be 0 or more");
	config_expect(BASE "  depth: 99999999999999999999\n",
	    "t.yml:4:10: data.depth: must be at most 2147483647");
	config_expect(BASE "  health:\n    url: http://h/\n"
	    "    retries: -99999999999999999999\n",
	    "t.yml:6:14: data.health.retries: must be 0 or more");
}

static void
test_config_quoting(void **state)
{
	char	 yaml[512], want[512], e[80];
	size_t	 i;

	(void)state;
	/* one line whatever the value holds */
	config_expect(BASE "  interval: \"5\\nm\"\n",
	    "t.yml:4:13: data.interval: bad duration \"5?m\": "
	    "unknown unit (use ms, s, m, h or d)");
	/* long values are cut, and never inside a UTF-8 character */
	strcpy(yaml, BASE "  interval: ");
	for (i = 0; i < 100; i++)
		strcat(yaml, "\xc3\xa9");
	strcat(yaml, "\n");
	e[0] = '\0';
	for (i = 0; i < 36; i++)
		strcat(e, "\xc3\xa9");
	snprintf(want, sizeof(want), "t.yml:4:13: data.interval: bad duration "
	    "\"%s...\": expected a number", e);
	config_expect(yaml, want);
}

static void
test_config_urls(void **state)
{
	(void)state;
	config_expect(BASE "  health: { url: ftp://127.0.0.1/ }\n",
	    "t.yml:4:18: data.health.url: must be an http:// or https:// URL");
	config_expect(BASE "notify:\n  webhook: hooks.example.com\n",
	    "t.yml:5:12: notify.webhook: must be an http:// or https:// URL");
}

static void
test_config_log(void **state)
{
	(void)state;
	config_expect("log: { format: xml }\n" BASE,
	    "t.yml:1:16: log.format: must be \"text\" or \"json\"");
	config_expect("log:\n  level: loud\n" BASE,
	    "t.yml:2:10: log.level: must be one of error, warn, info, debug");
}

static void
test_config_auth_exclusive(void **state)
{
	(void)state;
	config_expect(BASE "  auth:\n    password_file: /etc/t\n"
	    "    password_env: TOKEN\n",
	    "t.yml:5:5: data.auth: password, password_file and password_env "
	    "are exclusive");
	config_expect("service:\n  repo: x\n  auth: { password_env: 1TOKEN }\n"
	    BASE,
	    "t.yml:3:25: service.auth.password_env: bad variable name "
	    "\"1TOKEN\"");
	config_expect(BASE "  auth: { password_file: token.txt }\n",
	    "t.yml:4:26: data.auth.password_file: must be an absolute path");
}

static void
test_config_verify(void **state)
{
	struct gs_config	*c;

	(void)state;
	c = config_ok(BASE "  verify: { allowed_signers: /etc/as }\n");
	assert_true(c->data.repo.verify.enabled);
	assert_string_equal(c->data.repo.verify.allowed_signers, "/etc/as");
	assert_null(c->data.repo.verify.gpg_keyring);
	assert_int_equal(c->data.repo.verify.mode, GS_VERIFY_HEAD);
	assert_false(c->service.repo.verify.enabled);
	config_free(c);

	c = config_ok("service:\n  repo: x\n  ref: v1.0\n"
	    "  verify: { gpg_keyring: /k.gpg, mode: tag }\n" BASE);
	assert_true(c->service.repo.verify.enabled);
	assert_string_equal(c->service.repo.verify.gpg_keyring, "/k.gpg");
	assert_int_equal(c->service.repo.verify.mode, GS_VERIFY_TAG);
	assert_false(c->data.repo.verify.enabled);
	config_free(c);

	c = config_ok(BASE "  ref: refs/tags/v2\n"
	    "  verify: { allowed_signers: /a, gpg_keyring: /k, mode: head }\n");
	assert_string_equal(c->data.repo.verify.allowed_signers, "/a");
	assert_string_equal(c->data.repo.verify.gpg_keyring, "/k");
	assert_int_equal(c->data.repo.verify.mode, GS_VERIFY_HEAD);
	config_free(c);

	config_expect(BASE "  verify: { mode: head }\n",
	    "t.yml:4:11: data.verify: needs allowed_signers or gpg_keyring");
	config_expect(BASE "  verify: { allowed_signers: etc/as }\n",
	    "t.yml:4:30: data.verify.allowed_signers: must be an absolute "
	    "path");
	config_expect(BASE "  verify: { gpg_keyring: [a] }\n",
	    "t.yml:4:26: data.verify.gpg_keyring: expected a string, got a "
	    "sequence");
	config_expect(BASE "  verify: { allowed_signers: /a, mode: all }\n",
	    "t.yml:4:40: data.verify.mode: must be \"head\" or \"tag\"");
	config_expect(BASE "  verify: { allowed_signers: /a, key: /b }\n",
	    "t.yml:4:34: data.verify: unknown key \"key\"");
	config_expect(BASE "  verify: /etc/as\n",
	    "t.yml:4:11: data.verify: expected a mapping, got a string");
	/* mode tag needs a ref that may name a tag */
	config_expect(BASE "  verify: { allowed_signers: /a, mode: tag }\n",
	    "t.yml:4:40: data.verify.mode: tag needs data.ref to name a tag, "
	    "not \"HEAD\"");
	config_expect(BASE "  ref: refs/heads/main\n"
	    "  verify: { allowed_signers: /a, mode: tag }\n",
	    "t.yml:5:40: data.verify.mode: tag needs data.ref to name a tag, "
	    "not \"refs/heads/main\"");
	config_expect("service:\n  repo: x\n"
	    "  ref: 0123456789abcdef0123456789abcdef01234567\n"
	    "  verify: { gpg_keyring: /k, mode: tag }\n" BASE,
	    "t.yml:4:36: service.verify.mode: tag needs service.ref to name a "
	    "tag, not \"0123456789abcdef0123456789abcdef01234567\"");
}

static void
test_config_transport(void **state)
{
	struct gs_config	*c;

	(void)state;
	c = config_ok(BASE);
	assert_null(c->ca_file);
	assert_false(c->insecure_deny);
	config_free(c);

	c = config_ok(BASE "transport: { ca_file: /etc/ca.pem, insecure: deny }\n");
	assert_string_equal(c->ca_file, "/etc/ca.pem");
	assert_true(c->insecure_deny);
	config_free(c);

	/* allowed (the default): accepted, with a warning */
	c = config_ok("data:\n  repo: http://example.com/data.git\n"
	    "  target: /srv/www\n");
	config_free(c);
	/* git://github.com/ is fetched over https:// */
	c = config_ok("data:\n  repo: git://github.com/a/b.git\n"
	    "  target: /srv/www\ntransport: { insecure: deny }\n");
	config_free(c);
	/* health checks are not remotes */
	c = config_ok(BASE "  health: { url: \"http://127.0.0.1/\" }\n"
	    "transport: { insecure: deny }\n");
	config_free(c);

	config_expect(BASE "transport: { ca_file: ca.pem }\n",
	    "t.yml:4:23: transport.ca_file: must be an absolute path");
	config_expect(BASE "transport: { insecure: maybe }\n",
	    "t.yml:4:24: transport.insecure: must be \"allow\" or \"deny\"");
	config_expect(BASE "transport: { verify: false }\n",
	    "t.yml:4:14: transport: unknown key \"verify\"");
	config_expect(BASE "transport: [ deny ]\n",
	    "t.yml:4:12: transport: expected a mapping, got a sequence");
	{
		const char *const	want[] = {
			"t.yml:2:9: service.repo: git:// is an unauthenticated "
			    "transport (transport.insecure: deny)",
			"t.yml:4:9: data.repo: http:// is an unauthenticated "
			    "transport (transport.insecure: deny)",
			"t.yml:7:12: notify.webhook: http:// is an "
			    "unauthenticated transport (transport.insecure: deny)",
			NULL
		};

		config_expect_lines("service:\n  repo: git://example.com/s\n"
		    "data:\n  repo: HTTP://u:p@example.com/d\n"
		    "  target: /srv/www\n"
		    "notify:\n  webhook: http://hooks.example.com/t0k3n\n"
		    "transport: { insecure: deny }\n", want);
	}
}

static void
test_config_vars(void **state)
{
	(void)state;
	config_expect("service:\n  repo: x\n  vars:\n    email: { a: b }\n"
	    BASE,
	    "t.yml:4:12: service.vars.email: expected a string, got a mapping");
	config_expect("service:\n  repo: x\n  vars: { a-b: 1 }\n" BASE,
	    "t.yml:3:11: service.vars: bad variable name \"a-b\"");
	config_expect("service:\n  repo: x\n  vars: [a]\n" BASE,
	    "t.yml:3:9: service.vars: expected a mapping, got a sequence");
}

static void
test_config_hooks(void **state)
{
	(void)state;
	config_expect(BASE "  hooks:\n    before_switch:\n      - true\n"
	    "      - { run: x }\n",
	    "t.yml:7:9: data.hooks.before_switch[1]: expected a string, "
	    "got a mapping");
	config_expect(BASE "  hooks: { after_switch: { run: x } }\n",
	    "t.yml:4:26: data.hooks.after_switch: expected a string or a "
	    "sequence of strings, got a mapping");
}

static void
test_config_multiple_errors(void **state)
{
	static const char *const two[] = {
		"t.yml:1:1: config: missing required key \"data\"",
		"t.yml:2:1: config: unknown key \"colour\"",
		NULL
	};
	static const char *const five[] = {
		"t.yml:1:15: log.level: must be one of error, warn, info, debug",
		"t.yml:4:11: data.target: must be an absolute path",
		"t.yml:5:18: data.keep_releases: must be at least 1",
		"t.yml:6:3: data: unknown key \"tagret\"",
		"t.yml:7:20: notify.webhook: must be an http:// or https:// URL",
		NULL
	};

	(void)state;
	/* two problems, two lines */
	config_expect_lines("state_dir: /x\ncolour: red\n", two);
	/* checked in another order, reported in document order */
	config_expect_lines("log: { level: loud }\n"
	    "data:\n"
	    "  repo: x\n"
	    "  target: rel\n"
	    "  keep_releases: 0\n"
	    "  tagret: /x\n"
	    "notify: { webhook: x }\n", five);
}

static void
test_config_multiple_errors_file(void **state)
{
	struct gs_config	*c = (struct gs_config *)1;
	struct gs_diag		 diag = { NULL, 0 };
	struct gs_error		 err;
	char			*path = fixture("bad-multi.yml"), *want[4];
	size_t			 i;

	(void)state;
	memset(&err, 0, sizeof(err));
	xasprintf(&want[0], "%s:3:12: notify.webhook: must be an http:// or "
	    "https:// URL", path);
	xasprintf(&want[1], "%s:5:3: data: missing required key \"target\"",
	    path);
	xasprintf(&want[2], "%s:6:18: data.keep_releases: must be at least 1",
	    path);
	xasprintf(&want[3], "%s:7:3: data: unknown key \"tagret\"", path);
	assert_int_equal(config_load(&c, path, &diag, &err), -1);
	assert_null(c);
	assert_int_equal(diag.n, 4);
	for (i = 0; i < 4; i++) {
		assert_string_equal(diag.msgs[i], want[i]);
		free(want[i]);
	}
	assert_int_equal(err.src, GS_E_CONFIG);
	diag_free(&diag);
	free(path);
}

static void
test_config_load_errors(void **state)
{
	struct gs_config	*c = (struct gs_config *)1;
	struct gs_diag		 diag = { NULL, 0 };
	struct gs_error		 err;
	char			*path = fixture("bad-syntax.yml"), *want;

	(void)state;
	memset(&err, 0, sizeof(err));
	/* a YAML error: in err and in diag, positioned in the file */
	assert_int_equal(config_load(&c, path, &diag, &err), -1);
	assert_null(c);
	assert_int_equal(err.src, GS_E_YAML);
	xasprintf(&want, "%s:4:1: did not find expected ',' or ']' "
	    "(while parsing a flow sequence)", path);
	assert_string_equal(err.msg, want);
	assert_int_equal(diag.n, 1);
	assert_string_equal(diag.msgs[0], want);
	diag_free(&diag);
	free(want);
	free(path);

	/* a missing file */
	path = fixture("no-such-file.yml");
	assert_int_equal(config_load(&c, path, &diag, &err), -1);
	assert_int_equal(err.src, GS_E_SYS);
	assert_int_equal(diag.n, 1);
	xasprintf(&want, "%s: No such file or directory", path);
	assert_string_equal(diag.msgs[0], want);
	free(want);
	diag_free(&diag);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_yml_tree),
		cmocka_unit_test(test_yml_empty),
		cmocka_unit_test(test_yml_tags_and_bools),
		cmocka_unit_test(test_yml_duplicate_key),
		cmocka_unit_test(test_yml_non_scalar_key),
		cmocka_unit_test(test_yml_alias_shared),
		cmocka_unit_test(test_yml_alias_bomb),
		cmocka_unit_test(test_yml_deep_nesting),
		cmocka_unit_test(test_yml_nul_byte),
		cmocka_unit_test(test_yml_bad_utf8),
		cmocka_unit_test(test_yml_syntax_error),
		cmocka_unit_test(test_yml_multiple_documents),
		cmocka_unit_test(test_yml_large_scalar),
		cmocka_unit_test(test_config_defaults),
		cmocka_unit_test(test_config_full),
		cmocka_unit_test(test_config_minimal_file),
		cmocka_unit_test(test_config_quoted_and_lenient),
		cmocka_unit_test(test_config_service_defaults),
		cmocka_unit_test(test_config_password_literal),
		cmocka_unit_test(test_config_env_state_dir),
		cmocka_unit_test(test_config_unknown_key),
		cmocka_unit_test(test_config_wrong_types),
		cmocka_unit_test(test_config_missing),
		cmocka_unit_test(test_config_empty_and_root),
		cmocka_unit_test(test_config_bad_values),
		cmocka_unit_test(test_config_paths),
		cmocka_unit_test(test_config_releases_dir),
		cmocka_unit_test(test_config_ranges),
		cmocka_unit_test(test_config_quoting),
		cmocka_unit_test(test_config_urls),
		cmocka_unit_test(test_config_log),
		cmocka_unit_test(test_config_auth_exclusive),
		cmocka_unit_test(test_config_verify),
		cmocka_unit_test(test_config_transport),
		cmocka_unit_test(test_config_vars),
		cmocka_unit_test(test_config_hooks),
		cmocka_unit_test(test_config_multiple_errors),
		cmocka_unit_test(test_config_multiple_errors_file),
		cmocka_unit_test(test_config_load_errors),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, setup, NULL);
}
