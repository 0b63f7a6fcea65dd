/*
 * test_recipe.c: recipe parsing, vars, lookup, and running recipes for
 * real in a temporary directory.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
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

/* ------------------------------------------------------------------ */
/* helpers */

static char *
tpath(const char *fmt, ...)
{
	va_list	 ap;
	char	*rel, *p;

	va_start(ap, fmt);
	xvasprintf(&rel, fmt, ap);
	va_end(ap);
	p = util_path_join(tmpdir, rel);
	free(rel);
	return p;
}

static void
put(const char *path, const char *text, mode_t mode)
{
	struct gs_error	 err;
	char		*dir, *slash;

	dir = xstrdup(path);
	slash = strrchr(dir, '/');
	*slash = '\0';
	if (util_mkdir_p(dir, 0755, &err) == -1)
		fail_msg("%s", err.msg);
	free(dir);
	unlink(path);
	{
		int	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

		assert_true(fd != -1);
		assert_int_equal(write(fd, text, strlen(text)),
		    (ssize_t)strlen(text));
		assert_int_equal(fchmod(fd, mode), 0);
		close(fd);
	}
}

static char *
slurp(const char *path)
{
	struct gs_error	 err;
	char		*buf;

	if (util_read_file(path, 1 << 20, &buf, NULL, &err) == -1)
		fail_msg("%s", err.msg);
	return buf;
}

static mode_t
mode_of(const char *path)
{
	struct stat	st;

	assert_int_equal(lstat(path, &st), 0);
	return st.st_mode & 07777;
}

/* parse; the recipe, or NULL with diag filled */
static struct recipe *
parse(const char *yaml, struct gs_diag *diag, struct gs_error *err)
{
	struct recipe	*r = NULL;
	int		 rc;

	rc = recipe_parse(&r, "t.yml", yaml, strlen(yaml), diag, err);
	if (rc == 0)
		assert_non_null(r);
	else
		assert_null(r);
	return r;
}

static struct recipe *
parse_ok(const char *yaml)
{
	struct gs_diag	 diag = { NULL, 0 };
	struct gs_error	 err;
	struct recipe	*r;

	r = parse(yaml, &diag, &err);
	if (r == NULL)
		fail_msg("unexpected: %s", err.msg);
	assert_int_equal(diag.n, 0);
	return r;
}

/* parsing fails, with this first diagnostic, and n of them in all */
static void
parse_bad(const char *yaml, const char *first, size_t n)
{
	struct gs_diag	 diag = { NULL, 0 };
	struct gs_error	 err;

	gs_error_clear(&err);
	assert_null(parse(yaml, &diag, &err));
	if (diag.n == 0)
		fail_msg("no diagnostics");
	if (strcmp(diag.msgs[0], first) != 0)
		fail_msg("got \"%s\", want \"%s\"", diag.msgs[0], first);
	assert_string_equal(err.msg, first);
	if (diag.n != n) {
		size_t	i;

		for (i = 0; i < diag.n; i++)
			print_message("# diag: %s\n", diag.msgs[i]);
		fail_msg("%zu diagnostics, want %zu", diag.n, n);
	}
	diag_free(&diag);
}

static int
setup(void **state)
{
	const char	*t = getenv("TMPDIR");

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_recipe.XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	/* quiet by default; the tests that read the log capture it */
	log_init("test", LOG_LEVEL_WARN, LOG_FORMAT_TEXT);
	return 0;
}

static int
teardown(void **state)
{
	struct gs_error	err;

	(void)state;
	return util_rm_rf(tmpdir, &err);
}

/* ------------------------------------------------------------------ */
/* parsing: good */

static void
test_parse_minimal(void **state)
{
	struct recipe	*r;

	(void)state;
	r = parse_ok("steps:\n  - run: \"true\"\n");
	assert_string_equal(r->name, "t");
	assert_string_equal(r->file, "t.yml");
	assert_int_equal(r->nvars, 0);
	assert_int_equal(r->nsteps, 1);
	assert_int_equal(r->steps[0].action, RECIPE_RUN);
	assert_string_equal(r->steps[0].cmd, "true");
	assert_null(r->steps[0].name);
	assert_int_equal(r->steps[0].line, 2);
	assert_int_equal(r->steps[0].col, 5);
	recipe_free(r);
	recipe_free(NULL);
}

static void
test_parse_full(void **state)
{
	struct recipe		*r;
	struct recipe_step	*s;

	(void)state;
	r = parse_ok(
	    "name: demo\n"
	    "vars:\n"
	    "  docroot: /var/www/html\n"
	    "  listen: 80\n"
	    "  email:\n"
	    "steps:\n"
	    "  - packages: [nginx, php-fpm]\n"
	    "  - packages:\n"
	    "      apt: [apache2, libapache2-mod-php]\n"
	    "      dnf: [httpd, php]\n"
	    "      yum: [httpd]\n"
	    "      apk: [apache2]\n"
	    "  - copy: { from: site, to: \"{{ docroot }}\", mode: \"0640\" }\n"
	    "    name: copy the site\n"
	    "  - template: { src: conf/a.in, dest: /etc/a.conf }\n"
	    "    creates: /etc/a.conf\n"
	    "  - run: make install\n"
	    "    unless: test -f /usr/local/bin/tool\n"
	    "    timeout: 5m\n"
	    "    env: { CC: gcc, EMPTY: }\n"
	    "  - service: { name: nginx, state: reloaded, enabled: yes }\n"
	    "  - service: { name: cron, enabled: false }\n");
	assert_string_equal(r->name, "demo");
	assert_int_equal(r->nvars, 3);
	assert_string_equal(r->vars[0].key, "docroot");
	assert_string_equal(r->vars[0].val, "/var/www/html");
	assert_string_equal(r->vars[1].val, "80");
	assert_string_equal(r->vars[2].key, "email");
	assert_null(r->vars[2].val);	/* required: no default */
	assert_int_equal(r->nsteps, 7);

	s = &r->steps[0];
	assert_int_equal(s->action, RECIPE_PACKAGES);
	assert_int_equal(s->pkgs.n, 2);
	assert_string_equal(s->pkgs.v[1], "php-fpm");
	assert_int_equal(s->pkgs_apt.n, 0);

	s = &r->steps[1];
	assert_int_equal(s->pkgs.n, 0);
	assert_int_equal(s->pkgs_apt.n, 2);
	assert_string_equal(s->pkgs_apt.v[1], "libapache2-mod-php");
	assert_int_equal(s->pkgs_dnf.n, 2);
	assert_int_equal(s->pkgs_yum.n, 1);
	assert_int_equal(s->pkgs_apk.n, 1);

	s = &r->steps[2];
	assert_int_equal(s->action, RECIPE_COPY);
	assert_string_equal(s->name, "copy the site");
	assert_string_equal(s->from, "site");
	assert_string_equal(s->to, "{{ docroot }}");
	assert_string_equal(s->mode, "0640");

	s = &r->steps[3];
	assert_int_equal(s->action, RECIPE_TEMPLATE);
	assert_string_equal(s->from, "conf/a.in");
	assert_string_equal(s->to, "/etc/a.conf");
	assert_null(s->mode);
	assert_string_equal(s->creates, "/etc/a.conf");

	s = &r->steps[4];
	assert_int_equal(s->action, RECIPE_RUN);
	assert_string_equal(s->unless, "test -f /usr/local/bin/tool");
	assert_int_equal(s->timeout_ms, 5 * 60 * 1000);
	assert_int_equal(s->nenv, 2);
	assert_string_equal(s->env[0].key, "CC");
	assert_string_equal(s->env[0].val, "gcc");
	assert_string_equal(s->env[1].val, "");

	s = &r->steps[5];
	assert_int_equal(s->action, RECIPE_SERVICE);
	assert_string_equal(s->svc_name, "nginx");
	assert_string_equal(s->svc_state, "reloaded");
	assert_int_equal(s->svc_enabled, 1);
	assert_int_equal(r->steps[6].svc_enabled, 0);
	assert_null(r->steps[6].svc_state);
	assert_int_equal(r->steps[4].svc_enabled, -1);
	recipe_free(r);
}

/* ------------------------------------------------------------------ */
/* parsing: bad, with exact messages */

static void
test_parse_no_action(void **state)
{
	(void)state;
	parse_bad("steps:\n  - name: nothing to do\n",
	    "t.yml:2:5: steps[0]: a step needs exactly one action "
	    "(packages, copy, template, run, service)", 1);
}

static void
test_parse_two_actions(void **state)
{
	(void)state;
	parse_bad("steps:\n  - run: \"true\"\n  - run: ls\n    copy: "
	    "{ from: a, to: /b }\n",
	    "t.yml:4:5: steps[1]: more than one action (\"run\" and \"copy\")",
	    1);
	parse_bad("steps:\n  - run: ls\n    copy: { from: a, to: /b }\n"
	    "    service: { name: x, state: started }\n",
	    "t.yml:3:5: steps[0]: more than one action "
	    "(\"run\", \"copy\" and \"service\")", 1);
}

static void
test_parse_unknown_step_key(void **state)
{
	(void)state;
	parse_bad("steps:\n  - run: \"true\"\n  - run: \"true\"\n"
	    "  - run: \"true\"\n  - run: mkdir x\n    crates: x\n",
	    "t.yml:6:5: steps[3]: unknown key \"crates\"", 1);
}

static void
test_parse_top_level(void **state)
{
	(void)state;
	parse_bad("name: x\nx: 1\nsteps: []\n",
	    "t.yml:2:1: recipe: unknown key \"x\"", 1);
	parse_bad("name: x\nvars: {}\n",
	    "t.yml:1:1: recipe: missing required key \"steps\"", 1);
	parse_bad("name: [a, b]\nsteps: []\n",
	    "t.yml:1:7: name: expected a string, got a list", 1);
	parse_bad("steps: { run: ls }\n",
	    "t.yml:1:8: steps: expected a list, got a mapping", 1);
	parse_bad("- run: ls\n",
	    "t.yml:1:1: recipe: expected a mapping, got a list", 1);
	parse_bad("",
	    "t.yml:1:1: recipe: empty document (expected a mapping with "
	    "\"steps\")", 1);
}

static void
test_parse_step_shape(void **state)
{
	(void)state;
	parse_bad("steps:\n  - ls -l\n",
	    "t.yml:2:5: steps[0]: expected a mapping, got a string", 1);
	parse_bad("steps:\n  - run: [ls]\n",
	    "t.yml:2:10: steps[0].run: expected a string, got a list", 1);
	parse_bad("steps:\n  - run:\n",
	    "t.yml:2:9: steps[0].run: expected a string, got nothing", 1);
	parse_bad("steps:\n  - run: \"\"\n",
	    "t.yml:2:10: steps[0].run: must not be empty", 1);
	parse_bad("steps:\n  - run: ls\n    name: { a: b }\n",
	    "t.yml:3:11: steps[0].name: expected a string, got a mapping", 1);
}

static void
test_parse_copy(void **state)
{
	(void)state;
	parse_bad("steps:\n  - copy: { from: a }\n",
	    "t.yml:2:11: steps[0].copy: missing required key \"to\"", 1);
	parse_bad("steps:\n  - copy: { from: /etc, to: /x }\n",
	    "t.yml:2:19: steps[0].copy.from: must be a path inside the "
	    "service repo (no leading \"/\", no \"..\")", 1);
	parse_bad("steps:\n  - copy: { from: a/../../b, to: /x }\n",
	    "t.yml:2:19: steps[0].copy.from: must be a path inside the "
	    "service repo (no leading \"/\", no \"..\")", 1);
	parse_bad("steps:\n  - copy: { from: a, to: rel/x }\n",
	    "t.yml:2:26: steps[0].copy.to: must be an absolute path", 1);
	parse_bad("steps:\n  - copy: { from: a, to: /x, mode: 0999 }\n",
	    "t.yml:2:36: steps[0].copy.mode: invalid mode \"0999\" "
	    "(expected octal, e.g. \"0644\")", 1);
	parse_bad("steps:\n  - copy: { from: a, to: /x, owner: root }\n",
	    "t.yml:2:30: steps[0].copy: unknown key \"owner\"", 1);
	parse_bad("steps:\n  - copy: a\n",
	    "t.yml:2:11: steps[0].copy: expected a mapping, got a string", 1);
}

static void
test_parse_template(void **state)
{
	(void)state;
	parse_bad("steps:\n  - template: { src: a.in, to: /x }\n",
	    "t.yml:2:28: steps[0].template: unknown key \"to\"", 2);
	parse_bad("steps:\n  - template: { src: ../a.in, dest: x }\n",
	    "t.yml:2:22: steps[0].template.src: must be a path inside the "
	    "service repo (no leading \"/\", no \"..\")", 2);
}

static void
test_parse_service(void **state)
{
	(void)state;
	parse_bad("steps:\n  - service: { name: nginx, state: running }\n",
	    "t.yml:2:36: steps[0].service.state: expected started, stopped, "
	    "restarted or reloaded, got \"running\"", 1);
	parse_bad("steps:\n  - service: { name: nginx, enabled: maybe }\n",
	    "t.yml:2:38: steps[0].service.enabled: expected true or false, "
	    "got \"maybe\"", 1);
	parse_bad("steps:\n  - service: { name: nginx }\n",
	    "t.yml:2:14: steps[0].service: needs \"state\" or \"enabled\"", 1);
	parse_bad("steps:\n  - service: { state: started }\n",
	    "t.yml:2:14: steps[0].service: missing required key \"name\"", 1);
	parse_bad("steps:\n  - service: { name: -x, state: started }\n",
	    "t.yml:2:22: steps[0].service.name: invalid service name \"-x\"",
	    1);
}

static void
test_parse_packages(void **state)
{
	(void)state;
	parse_bad("steps:\n  - packages: []\n",
	    "t.yml:2:15: steps[0].packages: expected at least one package", 1);
	parse_bad("steps:\n  - packages: { pacman: [x] }\n",
	    "t.yml:2:17: steps[0].packages: unknown key \"pacman\"", 1);
	parse_bad("steps:\n  - packages: [nginx, \"-o foo\"]\n",
	    "t.yml:2:23: steps[0].packages[1]: invalid package name "
	    "\"-o foo\"", 1);
	parse_bad("steps:\n  - packages: { apt: nginx }\n",
	    "t.yml:2:22: steps[0].packages.apt: expected a list, got a string",
	    1);
	parse_bad("steps:\n  - packages: nginx\n",
	    "t.yml:2:15: steps[0].packages: expected a list of packages, or "
	    "a mapping of lists for apt, dnf, yum, apk; got a string", 1);
}

static void
test_parse_timeout_env(void **state)
{
	(void)state;
	parse_bad("steps:\n  - run: ls\n    timeout: 5x\n",
	    "t.yml:3:14: steps[0].timeout: invalid duration \"5x\": "
	    "unknown unit (use ms, s, m, h or d)", 1);
	parse_bad("steps:\n  - run: ls\n    timeout: 0s\n",
	    "t.yml:3:14: steps[0].timeout: must be more than 0", 1);
	parse_bad("steps:\n  - run: ls\n    env: [A=1]\n",
	    "t.yml:3:10: steps[0].env: expected a mapping, got a list", 1);
	parse_bad("steps:\n  - run: ls\n    env: { BAD-NAME: 1 }\n",
	    "t.yml:3:12: steps[0].env: invalid variable name \"BAD-NAME\" "
	    "(letters, digits and _)", 1);
	parse_bad("steps:\n  - run: ls\n    env: { A: [1] }\n",
	    "t.yml:3:15: steps[0].env.A: expected a string, got a list", 1);
}

static void
test_parse_vars(void **state)
{
	(void)state;
	parse_bad("vars: { doc-root: /x }\nsteps: []\n",
	    "t.yml:1:9: vars: invalid var name \"doc-root\" "
	    "(letters, digits and _)", 1);
	/* a plain scalar folded over lines: the message stays one line */
	parse_bad("vars: { a\n\n b }\nsteps: []\n",
	    "t.yml:1:9: vars: invalid var name \"a?b\" "
	    "(letters, digits and _)", 1);
	parse_bad("vars: { a: [1] }\nsteps: []\n",
	    "t.yml:1:12: vars.a: expected a string, got a list", 1);
	parse_bad("vars: [a]\nsteps: []\n",
	    "t.yml:1:7: vars: expected a mapping, got a list", 1);
}

static void
test_parse_collects_all(void **state)
{
	(void)state;
	/* every problem is reported, in document order */
	parse_bad("name: x\nbogus: 1\nsteps:\n"
	    "  - name: a\n"
	    "  - run: ls\n    crates: x\n"
	    "  - copy: { from: /a, to: b }\n",
	    "t.yml:2:1: recipe: unknown key \"bogus\"", 5);
}

static void
test_parse_yaml_error(void **state)
{
	struct gs_diag	 diag = { NULL, 0 };
	struct gs_error	 err;

	(void)state;
	assert_null(parse("steps:\n  - run: [unclosed\n", &diag, &err));
	assert_int_equal(diag.n, 1);
	assert_int_equal(strncmp(diag.msgs[0], "t.yml:", 6), 0);
	assert_string_equal(diag.msgs[0], err.msg);
	diag_free(&diag);

	/* diagnostics already in the list stay first; err gets ours */
	diag_add(&diag, "other.yml:1:1: something else");
	assert_null(parse("steps: 1\n", &diag, &err));
	assert_int_equal(diag.n, 2);
	assert_string_equal(err.msg,
	    "t.yml:1:8: steps: expected a list, got a string");
	assert_int_equal(err.src, GS_E_CONFIG);
	diag_free(&diag);

	/* a NULL diag list is allowed */
	assert_null(parse("steps: 1\n", NULL, &err));
	assert_string_equal(err.msg,
	    "t.yml:1:8: steps: expected a list, got a string");
}

/* ------------------------------------------------------------------ */
/* vars and expansion */

static void
test_expand(void **state)
{
	struct gs_kv	 vars[] = {
		{ "docroot", "/var/www" }, { "port", "80" }, { "empty", "" },
		{ "req", NULL }, { "port", "8080" },
	};
	struct gs_error	 err;
	char		*out;

	(void)state;
	assert_int_equal(recipe_expand(&out, "{{ docroot }}/x", vars, 5,
	    &err), 0);
	assert_string_equal(out, "/var/www/x");
	free(out);
	assert_int_equal(recipe_expand(&out, "{{docroot}}:{{\tport }}{{empty}}"
	    "!", vars, 5, &err), 0);
	/* the later of two entries wins */
	assert_string_equal(out, "/var/www:8080!");
	free(out);
	assert_int_equal(recipe_expand(&out, "no vars } here {", vars, 5,
	    &err), 0);
	assert_string_equal(out, "no vars } here {");
	free(out);
	assert_int_equal(recipe_expand(&out, "", vars, 5, &err), 0);
	assert_string_equal(out, "");
	free(out);
	/* values are not expanded again */
	vars[2].val = "{{ port }}";
	assert_int_equal(recipe_expand(&out, "{{ empty }}", vars, 5, &err), 0);
	assert_string_equal(out, "{{ port }}");
	free(out);

	assert_int_equal(recipe_expand(&out, "x {{ nope }}", vars, 5, &err),
	    -1);
	assert_null(out);
	assert_int_equal(err.src, GS_E_CONFIG);
	assert_string_equal(err.msg, "unknown var \"nope\"");
	assert_int_equal(recipe_expand(&out, "a {{ docroot", vars, 5, &err),
	    -1);
	assert_string_equal(err.msg, "\"{{\" without a closing \"}}\"");
	assert_int_equal(recipe_expand(&out, "{{ }}", vars, 5, &err), -1);
	assert_string_equal(err.msg, "empty \"{{ }}\"");
	assert_int_equal(recipe_expand(&out, "{{ a b }}", vars, 5, &err), -1);
	assert_string_equal(err.msg, "invalid var name \"a b\" in \"{{ }}\"");
	assert_int_equal(recipe_expand(&out, "{{ req }}", vars, 5, &err), -1);
	assert_string_equal(err.msg,
	    "var \"req\" has no value: set it in service.vars");
	assert_int_equal(recipe_expand(&out, "{{ x }}", NULL, 0, &err), -1);
	assert_string_equal(err.msg, "unknown var \"x\"");
}

static void
test_vars_override(void **state)
{
	struct gs_kv		 ctxvars[] = {
		{ "listen", "8080" }, { "email", "ops@example.com" },
		{ "instance_id", "i-0123" },
	};
	struct recipe_ctx	 ctx = { .service_dir = "/srv",
				    .vars = ctxvars, .nvars = 3 };
	struct recipe		*r;
	struct gs_kv		*kv;
	size_t			 n;

	(void)state;
	r = parse_ok("vars: { docroot: /var/www/html, listen: 80, email: }\n"
	    "steps: []\n");
	recipe_vars(&kv, &n, r, &ctx);
	assert_int_equal(n, 4);
	assert_string_equal(kv[0].key, "docroot");
	assert_string_equal(kv[0].val, "/var/www/html");
	assert_string_equal(kv[1].key, "listen");
	assert_string_equal(kv[1].val, "8080");
	assert_string_equal(kv[2].key, "email");
	assert_string_equal(kv[2].val, "ops@example.com");
	assert_string_equal(kv[3].key, "instance_id");
	assert_string_equal(kv[3].val, "i-0123");
	kv_free(kv, n);

	recipe_vars(&kv, &n, r, NULL);
	assert_int_equal(n, 3);
	assert_null(kv[2].val);
	kv_free(kv, n);
	kv_free(NULL, 0);
	recipe_free(r);
}

/* ------------------------------------------------------------------ */
/* finding recipes */

static void
test_find_in_repo(void **state)
{
	struct gs_error	 err;
	char		*svc, *out, *want, *p;

	(void)state;
	svc = tpath("find/service");
	p = tpath("find/service/deploy/site.yml");
	put(p, "steps: []\n", 0644);
	free(p);
	p = tpath("find/service/local.yml");
	put(p, "steps: []\n", 0644);
	free(p);
	p = tpath("find/outside.yml");
	put(p, "steps: []\n", 0644);
	free(p);

	assert_int_equal(recipe_find(&out, "deploy/site.yml", svc, &err), 0);
	want = util_path_join(svc, "deploy/site.yml");
	assert_string_equal(out, want);
	free(want);
	free(out);
	/* a name ending in .yml is a path too */
	assert_int_equal(recipe_find(&out, "local.yml", svc, &err), 0);
	free(out);

	assert_int_equal(recipe_find(&out, "deploy/nope.yml", svc, &err), -1);
	assert_null(out);
	assert_int_equal(err.src, GS_E_CONFIG);
	assert_string_equal(err.msg,
	    "recipe \"deploy/nope.yml\": not found in the service repo");

	assert_int_equal(recipe_find(&out, "../outside.yml", svc, &err), -1);
	assert_string_equal(err.msg, "recipe \"../outside.yml\": must be a "
	    "path inside the service repo (no leading \"/\", no \"..\")");
	assert_int_equal(recipe_find(&out, "deploy/../../outside.yml", svc,
	    &err), -1);
	assert_int_equal(err.src, GS_E_CONFIG);
	assert_int_equal(recipe_find(&out, "/etc/x.yml", svc, &err), -1);
	assert_int_equal(err.src, GS_E_CONFIG);

	/* a symlink in the repo may not lead out of it */
	p = tpath("find/service/evil.yml");
	assert_int_equal(symlink("../outside.yml", p), 0);
	free(p);
	assert_int_equal(recipe_find(&out, "evil.yml", svc, &err), -1);
	assert_string_equal(err.msg,
	    "recipe \"evil.yml\": leads outside the service repo");
	free(svc);
}

static void
test_find_shipped(void **state)
{
	struct gs_error	 err;
	char		*d1, *d2, *dirs, *out, *p, *want, *old = NULL;

	(void)state;
	if (getenv("GITSTRAP_RECIPES_DIR") != NULL)
		old = xstrdup(getenv("GITSTRAP_RECIPES_DIR"));
	d1 = tpath("shipped/one");
	d2 = tpath("shipped/two");
	p = tpath("shipped/two/static.yml");
	put(p, "steps: []\n", 0644);
	free(p);
	p = tpath("shipped/one/other.yml");
	put(p, "steps: []\n", 0644);
	free(p);
	xasprintf(&dirs, "%s::%s", d1, d2);
	setenv("GITSTRAP_RECIPES_DIR", dirs, 1);

	assert_int_equal(recipe_find(&out, "static", "/nonexistent", &err), 0);
	want = tpath("shipped/two/static.yml");
	assert_string_equal(out, want);
	free(want);
	free(out);
	assert_int_equal(recipe_find(&out, "other", "/nonexistent", &err), 0);
	free(out);

	assert_int_equal(recipe_find(&out, "foo", "/nonexistent", &err), -1);
	assert_null(out);
	assert_int_equal(err.src, GS_E_CONFIG);
	assert_int_equal(gs_error_exit_code(&err), 2);
	{
		char	*msg;

		xasprintf(&msg, "unknown recipe \"foo\" (looked in %s)", dirs);
		assert_string_equal(err.msg, msg);
		free(msg);
	}
	assert_int_equal(recipe_find(&out, "..", "/nonexistent", &err), -1);
	assert_string_equal(err.msg, "invalid recipe name \"..\"");
	assert_int_equal(recipe_find(&out, "", "/nonexistent", &err), -1);
	/* a path needs a checkout to look in */
	assert_int_equal(recipe_find(&out, "deploy/x.yml", NULL, &err), -1);
	assert_int_equal(err.src, GS_E_CONFIG);

	if (old != NULL) {
		setenv("GITSTRAP_RECIPES_DIR", old, 1);
		free(old);
	} else
		unsetenv("GITSTRAP_RECIPES_DIR");
	free(dirs);
	free(d1);
	free(d2);
}

/* ------------------------------------------------------------------ */
/* running */

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
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
	log_init("test", LOG_LEVEL_INFO, LOG_FORMAT_TEXT);
}

static char *
capture_end(struct capture *c)
{
	char	*buf;

	fflush(stderr);
	log_init("test", LOG_LEVEL_WARN, LOG_FORMAT_TEXT);
	assert_int_equal(dup2(c->saved, STDERR_FILENO), STDERR_FILENO);
	close(c->saved);
	buf = slurp(c->path);
	unlink(c->path);
	return buf;
}

/* a recipe from text, run with these service vars */
static int
run_text(const char *yaml, const char *svc, struct gs_kv *vars, size_t nv,
    struct gs_error *err)
{
	struct recipe_ctx	 ctx;
	struct recipe		*r;
	struct gs_diag		 diag = { NULL, 0 };
	int			 rc;

	memset(&ctx, 0, sizeof(ctx));
	ctx.service_dir = svc;
	ctx.service_commit = "0123456789abcdef0123456789abcdef01234567";
	ctx.vars = vars;
	ctx.nvars = nv;
	ctx.default_timeout_ms = 20000;
	if (recipe_parse(&r, "demo.yml", yaml, strlen(yaml), &diag, err) == -1)
		fail_msg("parse: %s", err->msg);
	rc = step_run_recipe(r, &ctx, err);
	recipe_free(r);
	return rc;
}

/* a service checkout with a site, a script, a .git dir and a template */
static char *
make_service(const char *name)
{
	char	*svc, *p;

	svc = tpath("%s/service", name);
	p = tpath("%s/service/site/index.html", name);
	put(p, "<h1>hello</h1>\n", 0600);
	free(p);
	p = tpath("%s/service/site/bin/tool.sh", name);
	put(p, "#!/bin/sh\necho tool\n", 0700);
	free(p);
	p = tpath("%s/service/site/.git/config", name);
	put(p, "[core]\n", 0644);
	free(p);
	p = tpath("%s/service/site/sub/deeper/page.html", name);
	put(p, "deep\n", 0644);
	free(p);
	p = tpath("%s/service/conf/app.conf.in", name);
	put(p, "greeting={{ greeting }}\nport={{port}}\n", 0644);
	free(p);
	p = tpath("%s/service/site/sub/link", name);
	assert_int_equal(symlink("deeper/page.html", p), 0);
	free(p);
	return svc;
}

static void
test_run_end_to_end(void **state)
{
	struct gs_kv	 vars[] = { { "greeting", "hi there" },
			    { "out", NULL } };
	struct gs_error	 err;
	struct capture	 c;
	char		*svc, *out, *yaml, *p, *text, *log, *want;
	char		 real[PATH_MAX];
	int		 rc;

	(void)state;
	svc = make_service("e2e");
	out = tpath("e2e/out");
	vars[1].val = out;
	setenv("GITSTRAP_TEST_SECRET", "hunter2", 1);
	xasprintf(&yaml,
	    "name: demo\n"
	    "vars: { port: \"80\", greeting: default }\n"
	    "steps:\n"
	    "  - copy: { from: site, to: \"{{ out }}/www\" }\n"
	    "  - copy: { from: site/index.html, to: \"{{ out }}/one/\", "
	    "mode: \"0640\" }\n"
	    "  - copy: { from: site/index.html, to: \"{{ out }}/renamed.html\" }\n"
	    "  - template: { src: conf/app.conf.in, dest: "
	    "\"{{ out }}/etc/app.conf\", mode: \"0600\" }\n"
	    "  - template: { src: conf/app.conf.in, dest: "
	    "\"{{ out }}/etc/default-mode.conf\" }\n"
	    "  - run: |\n"
	    "      pwd -P > \"$GITSTRAP_VAR_OUT/pwd\"\n"
	    "      env | sort > \"$GITSTRAP_VAR_OUT/env\"\n"
	    "    env: { STEP_VAR: \"{{ port }}-x\" }\n"
	    "  - name: guarded by creates\n"
	    "    run: touch \"{{ out }}/creates-ran\"\n"
	    "    creates: \"{{ out }}/www\"\n"
	    "  - run: touch \"{{ out }}/unless-skipped\"\n"
	    "    unless: \"true\"\n"
	    "  - run: touch \"{{ out }}/unless-ran\"\n"
	    "    unless: \"false\"\n"
	    "  - run: echo done\n"
	    "    creates: site/index.html\n");
	capture_start(&c);
	rc = run_text(yaml, svc, vars, 2, &err);
	log = capture_end(&c);
	unsetenv("GITSTRAP_TEST_SECRET");
	if (rc == -1)
		fail_msg("%s", err.msg);

	/* copy of a tree: content, exec bits, no .git, links kept */
	p = tpath("e2e/out/www/index.html");
	text = slurp(p);
	assert_string_equal(text, "<h1>hello</h1>\n");
	assert_int_equal(mode_of(p), 0644);
	free(text);
	free(p);
	p = tpath("e2e/out/www/bin/tool.sh");
	assert_int_equal(mode_of(p), 0755);
	free(p);
	p = tpath("e2e/out/www/bin");
	assert_int_equal(mode_of(p), 0755);
	free(p);
	p = tpath("e2e/out/www/.git");
	assert_false(util_exists(p));
	free(p);
	p = tpath("e2e/out/www/sub/deeper/page.html");
	assert_true(util_exists(p));
	free(p);
	p = tpath("e2e/out/www/sub/link");
	{
		char	buf[64];
		ssize_t	n = readlink(p, buf, sizeof(buf) - 1);

		assert_true(n > 0);
		buf[n] = '\0';
		assert_string_equal(buf, "deeper/page.html");
	}
	free(p);

	/* copy of one file: into a dir, with a mode; or to a new name */
	p = tpath("e2e/out/one/index.html");
	assert_int_equal(mode_of(p), 0640);
	free(p);
	p = tpath("e2e/out/renamed.html");
	assert_int_equal(mode_of(p), 0644);
	free(p);

	/* template: vars expanded, service vars over recipe defaults */
	p = tpath("e2e/out/etc/app.conf");
	text = slurp(p);
	assert_string_equal(text, "greeting=hi there\nport=80\n");
	assert_int_equal(mode_of(p), 0600);
	free(text);
	free(p);
	p = tpath("e2e/out/etc/default-mode.conf");
	assert_int_equal(mode_of(p), 0644);
	free(p);

	/* run: cwd is the checkout; the environment is scrubbed */
	assert_non_null(realpath(svc, real));
	p = tpath("e2e/out/pwd");
	text = slurp(p);
	xasprintf(&want, "%s\n", real);
	assert_string_equal(text, want);
	free(want);
	free(text);
	free(p);
	p = tpath("e2e/out/env");
	text = slurp(p);
	assert_null(strstr(text, "GITSTRAP_TEST_SECRET"));
	assert_null(strstr(text, "hunter2"));
	assert_non_null(strstr(text, "LANG=C.UTF-8\n"));
	assert_non_null(strstr(text, "PATH=/usr/local/sbin:/usr/local/bin:"
	    "/usr/sbin:/usr/bin:/sbin:/bin\n"));
	assert_non_null(strstr(text, "\nHOME=/"));
	assert_non_null(strstr(text, "GITSTRAP_SERVICE_COMMIT="
	    "0123456789abcdef0123456789abcdef01234567\n"));
	xasprintf(&want, "GITSTRAP_SERVICE_DIR=%s\n", svc);
	assert_non_null(strstr(text, want));
	free(want);
	assert_non_null(strstr(text, "GITSTRAP_VAR_GREETING=hi there\n"));
	assert_non_null(strstr(text, "GITSTRAP_VAR_PORT=80\n"));
	assert_non_null(strstr(text, "STEP_VAR=80-x\n"));
	free(text);
	free(p);

	/* guards */
	p = tpath("e2e/out/creates-ran");
	assert_false(util_exists(p));
	free(p);
	p = tpath("e2e/out/unless-skipped");
	assert_false(util_exists(p));
	free(p);
	p = tpath("e2e/out/unless-ran");
	assert_true(util_exists(p));
	free(p);

	/* the log names each step, its start, end and skips */
	assert_non_null(strstr(log, "ev=recipe.step step=1 action=copy "
	    "name=\"copy \\\"site\\\"\""));
	assert_non_null(strstr(log, "ev=recipe.step.done step=1 action=copy"));
	assert_non_null(strstr(log, "ev=recipe.skip step=7 "
	    "name=\"guarded by creates\" reason=creates"));
	assert_non_null(strstr(log, "ev=recipe.skip step=8 "));
	assert_non_null(strstr(log, "reason=unless"));
	assert_non_null(strstr(log, "ev=recipe.skip step=10 "));
	assert_null(strstr(log, "ev=recipe.step step=7 "));
	assert_non_null(strstr(log, "ev=recipe.step step=9 action=run"));
	free(log);

	/* twice in a row: the same result, nothing fails */
	rc = run_text(yaml, svc, vars, 2, &err);
	if (rc == -1)
		fail_msg("second run: %s", err.msg);
	free(yaml);
	free(out);
	free(svc);
}

static void
test_run_failure_stops(void **state)
{
	struct gs_kv	 vars[] = { { "out", NULL } };
	struct gs_error	 err;
	char		*svc, *out, *yaml, *p;

	(void)state;
	svc = make_service("fail");
	out = tpath("fail/out");
	assert_int_equal(util_mkdir_p(out, 0755, &err), 0);
	vars[0].val = out;

	xasprintf(&yaml, "name: demo\nsteps:\n"
	    "  - run: touch \"{{ out }}/first\"\n"
	    "  - run: \"true\"\n"
	    "  - run: mkdir x/y/z\n"
	    "  - run: touch \"{{ out }}/never\"\n");
	assert_int_equal(run_text(yaml, svc, vars, 1, &err), -1);
	assert_int_equal(err.src, GS_E_CHILD);
	assert_int_equal(err.code, 1);
	assert_string_equal(err.msg,
	    "recipe demo: step 3 (run \"mkdir x/y/z\"): exit status 1");
	p = tpath("fail/out/first");
	assert_true(util_exists(p));
	free(p);
	p = tpath("fail/out/never");
	assert_false(util_exists(p));
	free(p);
	free(yaml);

	/* a named step is named by its name */
	assert_int_equal(run_text("name: demo\nsteps:\n  - name: make things\n"
	    "    run: exit 4\n", svc, NULL, 0, &err), -1);
	assert_string_equal(err.msg,
	    "recipe demo: step 1 (make things): exit status 4");

	/* a long command is cut short in the message */
	assert_int_equal(run_text("name: demo\nsteps:\n  - run: \"false && "
	    "echo this is a rather long command line\"\n", svc, NULL, 0,
	    &err), -1);
	assert_string_equal(err.msg, "recipe demo: step 1 (run \"false && "
	    "echo this is a rather long c...\"): exit status 1");

	/* a step timeout */
	assert_int_equal(run_text("name: demo\nsteps:\n  - run: sleep 10\n"
	    "    timeout: 300ms\n", svc, NULL, 0, &err), -1);
	assert_string_equal(err.msg,
	    "recipe demo: step 1 (run \"sleep 10\"): timed out after 300ms");

	/* an unknown var names the var and the step */
	assert_int_equal(run_text("name: demo\nsteps:\n  - run: \"true\"\n"
	    "  - run: echo {{ nope }}\n", svc, NULL, 0, &err), -1);
	assert_int_equal(err.src, GS_E_CONFIG);
	assert_string_equal(err.msg, "recipe demo: step 2 "
	    "(run \"echo {{ nope }}\"): unknown var \"nope\"");

	/* a var without a default must come from service.vars */
	assert_int_equal(run_text("name: demo\nvars: { email: }\nsteps:\n"
	    "  - run: \"true\"\n", svc, NULL, 0, &err), -1);
	assert_int_equal(err.src, GS_E_CONFIG);
	assert_string_equal(err.msg, "recipe demo: var \"email\" has no "
	    "value: set it in service.vars");

	/* a copy source outside the checkout, or missing */
	assert_int_equal(run_text("name: demo\nvars: { src: ../x }\nsteps:\n"
	    "  - copy: { from: \"{{ src }}\", to: /tmp/x }\n", svc, NULL, 0,
	    &err), -1);
	assert_string_equal(err.msg, "recipe demo: step 1 (copy \"{{ src }}\"): "
	    "copy from \"../x\": must be a path inside the service repo");
	assert_int_equal(run_text("name: demo\nsteps:\n"
	    "  - copy: { from: nothere, to: /tmp/x }\n", svc, NULL, 0,
	    &err), -1);
	assert_string_equal(err.msg, "recipe demo: step 1 (copy \"nothere\"): "
	    "copy from \"nothere\": No such file or directory");

	/* a template with an unknown var fails and writes nothing */
	p = tpath("fail/service/conf/bad.in");
	put(p, "x={{ missing }}\n", 0644);
	free(p);
	xasprintf(&yaml, "name: demo\nsteps:\n  - template: { src: "
	    "conf/bad.in, dest: %s/bad.conf }\n", out);
	assert_int_equal(run_text(yaml, svc, NULL, 0, &err), -1);
	assert_string_equal(err.msg, "recipe demo: step 1 (template "
	    "\"conf/bad.in\"): template src \"conf/bad.in\": unknown var "
	    "\"missing\"");
	p = tpath("fail/out/bad.conf");
	assert_false(util_exists(p));
	free(p);
	free(yaml);
	free(out);
	free(svc);
}

static void
test_run_copy_symlink_dest(void **state)
{
	struct gs_kv	 vars[] = { { "out", NULL } };
	struct gs_error	 err;
	char		*svc, *out, *p, *q;

	(void)state;
	svc = tpath("link/service");
	p = tpath("link/service/webcache/placeholder");
	put(p, "x\n", 0644);
	free(p);
	p = tpath("link/service/index.html");
	put(p, "index\n", 0644);
	free(p);
	/* docroot/webcache is the symlink gitstrap switches */
	out = tpath("link/docroot");
	p = tpath("link/release");
	assert_int_equal(util_mkdir_p(p, 0755, &err), 0);
	assert_int_equal(util_mkdir_p(out, 0755, &err), 0);
	q = tpath("link/docroot/webcache");
	assert_int_equal(symlink(p, q), 0);
	vars[0].val = out;

	assert_int_equal(run_text("name: demo\nsteps:\n"
	    "  - copy: { from: \".\", to: \"{{ out }}\" }\n", svc, vars, 1,
	    &err), 0);
	/* not written through, not replaced */
	{
		struct stat	st;

		assert_int_equal(lstat(q, &st), 0);
		assert_true(S_ISLNK(st.st_mode));
	}
	free(q);
	q = tpath("link/release/placeholder");
	assert_false(util_exists(q));
	free(q);
	q = tpath("link/docroot/index.html");
	assert_true(util_exists(q));
	free(q);
	free(p);

	/* copying a tree into itself is refused */
	p = util_path_join(svc, "inside");
	vars[0].val = p;
	assert_int_equal(run_text("name: demo\nsteps:\n"
	    "  - copy: { from: \".\", to: \"{{ out }}\" }\n", svc, vars, 1,
	    &err), -1);
	assert_non_null(strstr(err.msg, "inside the directory copied"));
	free(p);
	free(out);
	free(svc);
}

static void
test_run_packages_installed(void **state)
{
	struct gs_error	 err;
	struct capture	 c;
	char		*svc, *log;
	int		 rc;

	(void)state;
	/* only where dpkg answers: a package that is surely installed */
	if (!run_have("apt-get") || !run_have("dpkg-query")) {
		skip();
		return;
	}
	svc = tpath("pkgs");
	assert_int_equal(util_mkdir_p(svc, 0755, &err), 0);
	capture_start(&c);
	rc = run_text("name: demo\nsteps:\n"
	    "  - packages: { apt: [coreutils, dpkg], dnf: [nonesuch] }\n"
	    "  - packages: { apk: [nonesuch] }\n", svc, NULL, 0, &err);
	log = capture_end(&c);
	if (rc == -1)
		fail_msg("%s", err.msg);
	assert_non_null(strstr(log, "ev=recipe.skip step=1 name=packages "
	    "reason=installed"));
	assert_non_null(strstr(log, "ev=recipe.skip step=2 name=packages "
	    "reason=no-packages manager=apt-get"));
	free(log);
	free(svc);
}

/* ------------------------------------------------------------------ */
/* the shipped recipes */

static void
test_shipped_recipes_parse(void **state)
{
	struct gs_diag	 diag = { NULL, 0 };
	struct gs_error	 err;
	struct recipe	*r;
	const char	*top = getenv("TOP_SRCDIR");
	const char	*names[] = { "nginx-static", "apache-php", "open-qa" };
	char		*dir, *path;
	size_t		 i, j, found = 0;
	DIR		*d;
	struct dirent	*de;

	(void)state;
	dir = util_path_join(top != NULL && *top != '\0' ? top : ".",
	    "recipes");
	assert_non_null(d = opendir(dir));
	while ((de = readdir(d)) != NULL) {
		size_t	len = strlen(de->d_name);

		if (len < 5 || strcmp(de->d_name + len - 4, ".yml") != 0)
			continue;
		path = util_path_join(dir, de->d_name);
		if (recipe_load(&r, path, &diag, &err) == -1) {
			for (j = 0; j < diag.n; j++)
				print_message("# %s\n", diag.msgs[j]);
			fail_msg("%s: %s", path, err.msg);
		}
		assert_true(r->nsteps > 0);
		for (i = 0; i < 3; i++)
			if (strcmp(r->name, names[i]) == 0)
				found++;
		recipe_free(r);
		free(path);
	}
	closedir(d);
	assert_int_equal(found, 3);

	/* the vars they document, with their defaults */
	path = util_path_join(dir, "open-qa.yml");
	assert_int_equal(recipe_load(&r, path, NULL, &err), 0);
	for (i = 0, found = 0; i < r->nvars; i++) {
		if (strcmp(r->vars[i].key, "email") == 0) {
			assert_null(r->vars[i].val);
			found++;
		}
		if (strcmp(r->vars[i].key, "docroot") == 0) {
			assert_string_equal(r->vars[i].val, "/var/www/html");
			found++;
		}
		if (strcmp(r->vars[i].key, "source_dir") == 0) {
			assert_string_equal(r->vars[i].val, ".");
			found++;
		}
	}
	assert_int_equal(found, 3);
	recipe_free(r);
	free(path);

	path = util_path_join(dir, "nginx-static.yml");
	assert_int_equal(recipe_load(&r, path, NULL, &err), 0);
	for (i = 0, found = 0; i < r->nvars; i++) {
		if (strcmp(r->vars[i].key, "docroot") == 0 &&
		    strcmp(r->vars[i].val, "/var/www/html") == 0)
			found++;
		if (strcmp(r->vars[i].key, "listen") == 0 &&
		    strcmp(r->vars[i].val, "80") == 0)
			found++;
		if (strcmp(r->vars[i].key, "server_name") == 0 &&
		    strcmp(r->vars[i].val, "_") == 0)
			found++;
	}
	assert_int_equal(found, 3);
	recipe_free(r);
	free(path);

	/* recipe_load of a missing file */
	path = util_path_join(dir, "nonesuch.yml");
	assert_int_equal(recipe_load(&r, path, NULL, &err), -1);
	assert_null(r);
	assert_non_null(strstr(err.msg, "No such file or directory"));
	free(path);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_minimal),
		cmocka_unit_test(test_parse_full),
		cmocka_unit_test(test_parse_no_action),
		cmocka_unit_test(test_parse_two_actions),
		cmocka_unit_test(test_parse_unknown_step_key),
		cmocka_unit_test(test_parse_top_level),
		cmocka_unit_test(test_parse_step_shape),
		cmocka_unit_test(test_parse_copy),
		cmocka_unit_test(test_parse_template),
		cmocka_unit_test(test_parse_service),
		cmocka_unit_test(test_parse_packages),
		cmocka_unit_test(test_parse_timeout_env),
		cmocka_unit_test(test_parse_vars),
		cmocka_unit_test(test_parse_collects_all),
		cmocka_unit_test(test_parse_yaml_error),
		cmocka_unit_test(test_expand),
		cmocka_unit_test(test_vars_override),
		cmocka_unit_test(test_find_in_repo),
		cmocka_unit_test(test_find_shipped),
		cmocka_unit_test(test_run_end_to_end),
		cmocka_unit_test(test_run_failure_stops),
		cmocka_unit_test(test_run_copy_symlink_dest),
		cmocka_unit_test(test_run_packages_installed),
		cmocka_unit_test(test_shipped_recipes_parse),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, setup, teardown);
}
