/*
 * priv.c: the resident loop drops root once the boot steps that need it
 * (the recipe, the first switch) are done. The state dir and the web
 * root's parent are handed to the user first, so that it can fetch,
 * build releases and switch the symlink on its own.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gitstrap.h"

static uid_t	priv_uid;
static gid_t	priv_gid;

static int
priv_chown_cb(const char *path, const struct stat *sb, int type,
    struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return lchown(path, priv_uid, priv_gid) == -1 ? -1 : 0;
}

/* the parent dir of path, newly allocated */
static char *
priv_parent(const char *path)
{
	char	*p = xstrdup(path), *slash;

	if ((slash = strrchr(p, '/')) != NULL && slash != p)
		*slash = '\0';
	else
		strcpy(p, "/");
	return p;
}

int
priv_drop(const char *user, const char *state_dir,
    const struct gs_data_conf *d, struct gs_error *err)
{
	struct passwd	*pw;
	char		*parent;

	if (getuid() != 0) {
		if ((pw = getpwnam(user)) != NULL && pw->pw_uid == getuid())
			return 0;	/* already that user */
		return gs_error_set(err, GS_E_RUNTIME, EPERM, "user %s: only "
		    "root can switch to another user", user);
	}
	errno = 0;
	if ((pw = getpwnam(user)) == NULL)
		return gs_error_set(err, GS_E_RUNTIME, errno, "user %s: %s",
		    user, errno != 0 ? strerror(errno) : "no such user");
	priv_uid = pw->pw_uid;
	priv_gid = pw->pw_gid;
	/* the state dir and the releases, all of them */
	if (nftw(state_dir, priv_chown_cb, 32, FTW_PHYS) == -1)
		return gs_error_sys(err, "chown %s to %s", state_dir, user);
	if (nftw(d->releases_dir, priv_chown_cb, 32, FTW_PHYS) == -1)
		return gs_error_sys(err, "chown %s to %s", d->releases_dir,
		    user);
	/* the web root's parent, alone: the symlink is renamed in there */
	parent = priv_parent(d->target);
	if (lchown(parent, priv_uid, priv_gid) == -1) {
		gs_error_sys(err, "chown %s to %s", parent, user);
		free(parent);
		return -1;
	}
	free(parent);
	if (initgroups(pw->pw_name, pw->pw_gid) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
		return gs_error_sys(err, "switch to user %s", user);
	/* children (hooks) and libraries look for files under HOME */
	if (setenv("HOME", pw->pw_dir, 1) == -1)
		return gs_error_sys(err, "setenv HOME");
	/* make sure there is no way back */
	if (setuid(0) != -1)
		return gs_error_set(err, GS_E_RUNTIME, 0, "user %s: root "
		    "could be regained after the switch", user);
	log_info("priv.drop", "user=%s uid=%lu gid=%lu", user,
	    (unsigned long)pw->pw_uid, (unsigned long)pw->pw_gid);
	return 0;
}
