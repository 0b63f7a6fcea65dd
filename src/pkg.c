/*
 * pkg.c: the packages action.
 *
 * The first package manager found (apt-get, dnf, yum, apk) serves the
 * whole run. A step installs its manager's own list when it has one, else
 * the common list, and does nothing when all of them are installed
 * already. apt-get and apk refresh their package lists once per run, when
 * an install fails: fresh images often come without them.
 */
#include "config.h"

#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include "gitstrap.h"

/* wait for another dpkg (cloud-init, unattended-upgrades) to finish */
#define PKG_APT_LOCK_WAIT	"DPkg::Lock::Timeout=300"

static const char *
pkg_manager_find(void)
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
pkg_installed(const struct pkg_state *ps, const struct step_exec *ex,
    const struct gs_strlist *l)
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
	if (strcmp(ps->pm, "apt-get") == 0)
		argv[2] = dpkg;
	else if (strcmp(ps->pm, "apk") == 0)
		argv[2] = apk;
	else
		argv[2] = rpm;
	argv[3] = "sh";
	for (i = 0; i < l->n; i++)
		argv[4 + i] = l->v[i];
	rc = run_argv((char *const *)argv, &ex->ro, &e);
	free(argv);
	return rc == 0;
}

static int
pkg_run_install(const struct pkg_state *ps, const struct step_exec *ex,
    const struct gs_strlist *l, struct gs_error *err)
{
	const char	**argv;
	size_t		  i, n = 0;
	int		  rc;

	argv = xcalloc(l->n + 16, sizeof(*argv));
	argv[n++] = ps->pm;
	if (strcmp(ps->pm, "apt-get") == 0) {
		argv[n++] = "install";
		argv[n++] = "-y";
		argv[n++] = "--no-install-recommends";
		argv[n++] = "-o";
		argv[n++] = "Dpkg::Options::=--force-confdef";
		argv[n++] = "-o";
		argv[n++] = "Dpkg::Options::=--force-confold";
		argv[n++] = "-o";
		argv[n++] = PKG_APT_LOCK_WAIT;
	} else if (strcmp(ps->pm, "apk") == 0) {
		argv[n++] = "add";
		argv[n++] = "--no-progress";
	} else {
		argv[n++] = "install";
		argv[n++] = "-y";
	}
	for (i = 0; i < l->n; i++)
		argv[n++] = l->v[i];
	argv[n] = NULL;
	rc = run_argv((char *const *)argv, &ex->ro, err);
	free(argv);
	return rc;
}

/* apt-get and apk need package lists, which fresh images lack */
static int
pkg_update(struct pkg_state *ps, const struct step_exec *ex,
    struct gs_error *err)
{
	ps->updated = 1;
	if (strcmp(ps->pm, "apt-get") == 0)
		return step_argv(ex, err, "apt-get", "update", "-o",
		    PKG_APT_LOCK_WAIT, (char *)NULL);
	return step_argv(ex, err, "apk", "update", "--no-progress",
	    (char *)NULL);
}

int
pkg_install(struct pkg_state *ps, struct step_exec *ex,
    const struct recipe_step *x, struct gs_error *err)
{
	const struct gs_strlist	*l;
	struct gs_error		 first;
	size_t			 i;
	int			 can_update;

	if (ps->pm == NULL && (ps->pm = pkg_manager_find()) == NULL)
		return gs_error_set(err, GS_E_RUNTIME, 0, "no package manager "
		    "found (apt-get, dnf, yum, apk)");
	/* the manager's own list, else the common one; dnf and yum agree */
	if (strcmp(ps->pm, "apt-get") == 0)
		l = x->pkgs_apt.n > 0 ? &x->pkgs_apt : &x->pkgs;
	else if (strcmp(ps->pm, "dnf") == 0)
		l = x->pkgs_dnf.n > 0 ? &x->pkgs_dnf :
		    x->pkgs_yum.n > 0 ? &x->pkgs_yum : &x->pkgs;
	else if (strcmp(ps->pm, "yum") == 0)
		l = x->pkgs_yum.n > 0 ? &x->pkgs_yum :
		    x->pkgs_dnf.n > 0 ? &x->pkgs_dnf : &x->pkgs;
	else
		l = x->pkgs_apk.n > 0 ? &x->pkgs_apk : &x->pkgs;
	if (l->n == 0) {
		log_info("recipe.skip", "step=%zu name=\"%s\" "
		    "reason=no-packages manager=%s", ex->step, ex->label,
		    ps->pm);
		return 0;
	}
	for (i = 0; i < l->n; i++)
		if (!recipe_pkg_ok(l->v[i]))
			return gs_error_set(err, GS_E_CONFIG, 0,
			    "invalid package name \"%s\"", l->v[i]);
	if (pkg_installed(ps, ex, l)) {
		log_info("recipe.skip", "step=%zu name=\"%s\" reason=installed",
		    ex->step, ex->label);
		return 0;
	}

	if (strcmp(ps->pm, "apt-get") == 0)
		step_setenv(ex, "DEBIAN_FRONTEND", "noninteractive");
	can_update = !ps->updated && (strcmp(ps->pm, "apt-get") == 0 ||
	    strcmp(ps->pm, "apk") == 0);
	if (pkg_run_install(ps, ex, l, can_update ? &first : err) == 0)
		return 0;
	if (!can_update)
		return -1;
	log_info("recipe.packages", "step=%zu manager=%s retry=update "
	    "err=\"%s\"", ex->step, ps->pm, first.msg);
	if (pkg_update(ps, ex, err) == -1) {
		gs_error_prefix(err, "%s update", ps->pm);
		return -1;
	}
	return pkg_run_install(ps, ex, l, err);
}
