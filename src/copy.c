/*
 * copy.c: the copy action's files, from the service checkout to where a
 * recipe says.
 *
 * The source is resolved to its real path and must stay inside the
 * checkout. The copy works on directory descriptors (openat and friends)
 * and never follows a symlink: each file is written to a temporary name
 * and renamed over the destination, symlinks are copied as links, and a
 * symlink found at the destination is left alone.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gitstrap.h"

#define COPY_MAX_DEPTH		128
#define COPY_TMP		".gitstrap-copy.tmp"

/* a copy in progress */
struct copy_state {
	const char		*droot;		/* for messages */
	struct copy_stats	 st;
};

static int
copy_file(int sfd, const char *sname, int dfd, const char *dname,
    mode_t mode, const char *what, struct copy_state *cp,
    struct gs_error *err)
{
	char	 buf[65536], tmp[NAME_MAX + 1];
	ssize_t	 n, w, off;
	int	 in = -1, out = -1, ret = -1;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s", COPY_TMP) >=
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
		cp->st.bytes += n;
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
	cp->st.files++;
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
copy_link(int sfd, const char *sname, int dfd, const char *dname,
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
	(void)unlinkat(dfd, COPY_TMP, 0);
	if (symlinkat(target, dfd, COPY_TMP) == -1)
		return gs_error_sys(err, "%s", what);
	if (renameat(dfd, COPY_TMP, dfd, dname) == -1) {
		gs_error_sys(err, "%s", what);
		(void)unlinkat(dfd, COPY_TMP, 0);
		return -1;
	}
	return 0;
}

static int
copy_tree(int sfd, int dfd, const char *rel, int depth,
    struct copy_state *cp, struct gs_error *err)
{
	struct dirent	*de;
	struct stat	 st, dt;
	DIR		*d = NULL;
	char		*sub = NULL, *what = NULL;
	int		 fd, sfd2 = -1, dfd2 = -1, dexists, ret = -1;

	if (depth > COPY_MAX_DEPTH)
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
			if (copy_tree(sfd2, dfd2, sub, depth + 1, cp,
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
				if (copy_link(sfd, de->d_name, dfd,
				    de->d_name, what, err) == -1)
					goto out;
			} else if (copy_file(sfd, de->d_name, dfd,
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
void
copy_split(const char *path, char **dir, char **base)
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
int
copy_resolve_src(char **out, const char *rel, const char *service_dir,
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

int
copy_path(struct copy_stats *out, const char *service_dir, const char *from,
    const char *to, const char *mode, struct gs_error *err)
{
	struct copy_state	 cp;
	struct stat		 st;
	char			*src = NULL, *dst = NULL, *dir = NULL;
	char			*base = NULL, *sbase = NULL, *sdir = NULL;
	char			*dreal = NULL;
	mode_t			 perm;
	int			 sfd = -1, dfd = -1, ret = -1;

	memset(out, 0, sizeof(*out));
	memset(&cp, 0, sizeof(cp));
	if (*to != '/')
		return gs_error_set(err, GS_E_CONFIG, 0, "copy to \"%s\": "
		    "must be an absolute path", to);
	if (copy_resolve_src(&src, from, service_dir, "copy from", err) == -1)
		return -1;
	if (stat(src, &st) == -1) {
		gs_error_sys(err, "copy from \"%s\"", from);
		goto out;
	}

	if (S_ISREG(st.st_mode)) {
		/* into a directory when "to" is one (or ends in a slash) */
		copy_split(src, &sdir, &sbase);
		if (to[strlen(to) - 1] == '/' || util_is_dir(to))
			dst = util_path_join(to, sbase);
		else
			dst = xstrdup(to);
		copy_split(dst, &dir, &base);
		perm = (st.st_mode & 0111) ? 0755 : 0644;
		if (mode != NULL && recipe_mode_parse(mode, &perm) == -1) {
			gs_error_set(err, GS_E_CONFIG, 0, "copy: invalid mode "
			    "\"%s\"", mode);
			goto out;
		}
		if (util_mkdir_p(dir, 0755, err) == -1)
			goto out;
		if ((sfd = open(sdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
			gs_error_sys(err, "copy from \"%s\"", from);
			goto out;
		}
		if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
			gs_error_sys(err, "copy to \"%s\"", dir);
			goto out;
		}
		cp.droot = dir;
		if (copy_file(sfd, sbase, dfd, base, perm, dst, &cp, err) == -1)
			goto out;
	} else if (S_ISDIR(st.st_mode)) {
		if (mode != NULL) {
			gs_error_set(err, GS_E_CONFIG, 0, "copy from \"%s\": "
			    "mode applies to a file, not a directory", from);
			goto out;
		}
		if (util_mkdir_p(to, 0755, err) == -1)
			goto out;
		if ((dreal = realpath(to, NULL)) == NULL) {
			gs_error_sys(err, "copy to \"%s\"", to);
			goto out;
		}
		if (recipe_path_inside(src, dreal)) {
			gs_error_set(err, GS_E_CONFIG, 0, "copy to \"%s\": "
			    "inside the directory copied", to);
			goto out;
		}
		if ((sfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
			gs_error_sys(err, "copy from \"%s\"", from);
			goto out;
		}
		if ((dfd = open(to, O_RDONLY | O_DIRECTORY | O_CLOEXEC))
		    == -1) {
			gs_error_sys(err, "copy to \"%s\"", to);
			goto out;
		}
		cp.droot = to;
		if (copy_tree(sfd, dfd, "", 0, &cp, err) == -1)
			goto out;
	} else {
		gs_error_set(err, GS_E_CONFIG, 0, "copy from \"%s\": not a "
		    "file or directory", from);
		goto out;
	}
	*out = cp.st;
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
