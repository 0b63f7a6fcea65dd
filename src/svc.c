/*
 * svc.c: the service action.
 *
 * Under systemd (when /run/systemd/system exists) everything goes through
 * systemctl. Otherwise a service is enabled with the first boot-time tool
 * found (update-rc.d, chkconfig, rc-update) and started, stopped or
 * reloaded with service or rc-service.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <string.h>

#include "gitstrap.h"

#define SVC_SYSTEMD_DIR		"/run/systemd/system"

/* the command for a state; NULL for "reloaded": each manager has its way */
static const char *
svc_verb(const char *state)
{
	if (strcmp(state, "started") == 0)
		return "start";
	if (strcmp(state, "stopped") == 0)
		return "stop";
	if (strcmp(state, "restarted") == 0)
		return "restart";
	return NULL;
}

static int
svc_systemd(void)
{
	struct stat	st;

	return lstat(SVC_SYSTEMD_DIR, &st) == 0 && S_ISDIR(st.st_mode);
}

static int
svc_systemctl(const struct step_exec *ex, const struct recipe_step *x,
    struct gs_error *err)
{
	const char	*verb = NULL;

	if (x->svc_enabled != -1 && step_argv(ex, err, "systemctl",
	    x->svc_enabled ? "enable" : "disable", "--quiet", x->svc_name,
	    (char *)NULL) == -1) {
		gs_error_prefix(err, "systemctl %s %s",
		    x->svc_enabled ? "enable" : "disable", x->svc_name);
		return -1;
	}
	if (x->svc_state == NULL)
		return 0;
	if ((verb = svc_verb(x->svc_state)) == NULL)
		verb = "reload-or-restart";	/* starts it when stopped */
	if (step_argv(ex, err, "systemctl", verb, x->svc_name,
	    (char *)NULL) == -1) {
		gs_error_prefix(err, "systemctl %s %s", verb, x->svc_name);
		return -1;
	}
	return 0;
}

static int
svc_enable(const struct step_exec *ex, const struct recipe_step *x,
    struct gs_error *err)
{
	int	on = x->svc_enabled, rc;

	if (run_have("update-rc.d")) {
		if (on && step_argv(ex, err, "update-rc.d", x->svc_name,
		    "defaults", (char *)NULL) == -1)
			rc = -1;
		else
			rc = step_argv(ex, err, "update-rc.d", x->svc_name,
			    on ? "enable" : "disable", (char *)NULL);
		if (rc == -1)
			gs_error_prefix(err, "update-rc.d %s", x->svc_name);
		return rc;
	}
	if (run_have("chkconfig")) {
		if ((rc = step_argv(ex, err, "chkconfig", x->svc_name,
		    on ? "on" : "off", (char *)NULL)) == -1)
			gs_error_prefix(err, "chkconfig %s", x->svc_name);
		return rc;
	}
	if (run_have("rc-update")) {
		/* "del" fails when it is not in the runlevel: that is fine */
		if (on)
			rc = step_argv(ex, err, "rc-update", "add",
			    x->svc_name, "default", (char *)NULL);
		else
			rc = step_argv(ex, err, "/bin/sh", "-c",
			    "rc-update show default | grep -qw \"$1\" || "
			    "exit 0; rc-update del \"$1\" default", "sh",
			    x->svc_name, (char *)NULL);
		if (rc == -1)
			gs_error_prefix(err, "rc-update %s", x->svc_name);
		return rc;
	}
	log_warnx("recipe.service", "step=%zu service=%s enabled=%d "
	    "reason=\"no boot-time service tool (update-rc.d, chkconfig, "
	    "rc-update)\"", ex->step, x->svc_name, on);
	return 0;
}

static int
svc_sysv(const struct step_exec *ex, const struct recipe_step *x,
    struct gs_error *err)
{
	struct gs_error	 e;
	const char	*tool, *verb;

	if (x->svc_enabled != -1 && svc_enable(ex, x, err) == -1)
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
	if ((verb = svc_verb(x->svc_state)) == NULL)
		/* reload a running service, start a stopped one */
		verb = step_argv(ex, &e, tool, x->svc_name, "status",
		    (char *)NULL) == 0 ? "reload" : "start";
	if (step_argv(ex, err, tool, x->svc_name, verb, (char *)NULL) == -1) {
		gs_error_prefix(err, "%s %s %s", tool, x->svc_name, verb);
		return -1;
	}
	return 0;
}

int
svc_apply(const struct step_exec *ex, const struct recipe_step *x,
    struct gs_error *err)
{
	if (!recipe_svc_ok(x->svc_name))
		return gs_error_set(err, GS_E_CONFIG, 0,
		    "invalid service name \"%s\"", x->svc_name);
	if (svc_systemd())
		return svc_systemctl(ex, x, err);
	return svc_sysv(ex, x, err);
}
