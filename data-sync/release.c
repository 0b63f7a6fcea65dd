/*
 * release.c: release dirs under state_dir/releases and the atomic switch.
 *
 * A release is releases/<id>, id = "<yyyymmddThhmmssZ>-<commit>" (the full id), so
 * that sorting ids by name sorts them by time. It is built as <id>.tmp,
 * renamed to <id>, and never modified once the web root points to it. The
 * web root (data.target) is a symlink to the release's absolute path; a
 * switch makes a new symlink beside it and renames it over the old one, so
 * a reader sees either the old tree or the new one, never a mix.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gitstrap.h"

#define RELEASE_TSLEN		16	/* "20261123T093000Z" */
#define RELEASE_COMMITLEN	40	/* the full id: kept after git gc */
#define RELEASE_IDLEN		(RELEASE_TSLEN + 1 + RELEASE_COMMITLEN)
#define RELEASE_KEEP_FAILED	2	/* .failed dirs kept for a post-mortem */

void
release_make_id(char out[GS_RELIDLEN], time_t t, const char *commit)
{
	char	ts[32];
	size_t	i;

	util_time_compact(t, ts);
	/* ts is always RELEASE_TSLEN long: the id fits */
	if (snprintf(out, GS_RELIDLEN, "%.*s-%.*s", RELEASE_TSLEN, ts,
	    RELEASE_COMMITLEN, commit) >= GS_RELIDLEN)
		fatalx("release.id", "msg=\"id too long\"");
	for (i = RELEASE_TSLEN + 1; out[i] != '\0'; i++)
		out[i] = (char)tolower((unsigned char)out[i]);
}

int
release_id_valid(const char *s)
{
	static const char	 shape[] = "dddddddd" "T" "dddddd" "Z" "-";
	size_t			 i;

	if (s == NULL || strlen(s) != RELEASE_IDLEN)
		return 0;
	for (i = 0; i < sizeof(shape) - 1; i++) {
		if (shape[i] == 'd') {
			if (!isdigit((unsigned char)s[i]))
				return 0;
		} else if (s[i] != shape[i])
			return 0;
	}
	for (; s[i] != '\0'; i++)
		if (!isdigit((unsigned char)s[i]) &&
		    (s[i] < 'a' || s[i] > 'f'))
			return 0;
	return 1;
}

/* the name with one suffix removed, if it has it and the rest is an id */
static int
release_id_with_suffix(const char *name, const char *suffix)
{
	char	id[GS_RELIDLEN];
	size_t	len = strlen(name), slen = strlen(suffix);

	if (len != RELEASE_IDLEN + slen || strcmp(name + RELEASE_IDLEN,
	    suffix) != 0)
		return 0;
	memcpy(id, name, RELEASE_IDLEN);
	id[RELEASE_IDLEN] = '\0';
	return release_id_valid(id);
}

/* target without trailing slashes (a trailing slash would follow a link) */
static char *
release_target_path(const char *target, struct gs_error *err)
{
	char	*t;
	size_t	 len;

	t = xstrdup(target);
	len = strlen(t);
	while (len > 1 && t[len - 1] == '/')
		t[--len] = '\0';
	if (len == 0 || strcmp(t, "/") == 0) {
		gs_error_set(err, GS_E_RUNTIME, EINVAL,
		    "data target \"%s\": not a usable path", target);
		free(t);
		return NULL;
	}
	return t;
}

int
release_current(const char *target, char out[GS_RELIDLEN],
    struct gs_error *err)
{
	char	 link[PATH_MAX], *t, *base;
	ssize_t	 n;
	size_t	 len;

	out[0] = '\0';
	if ((t = release_target_path(target, err)) == NULL)
		return -1;
	n = readlink(t, link, sizeof(link) - 1);
	if (n == -1) {
		/* nothing there yet, or a real dir not switched to yet */
		if (errno == ENOENT || errno == EINVAL) {
			free(t);
			return 0;
		}
		gs_error_sys(err, "readlink %s", t);
		free(t);
		return -1;
	}
	free(t);
	link[n] = '\0';
	len = (size_t)n;
	while (len > 1 && link[len - 1] == '/')
		link[--len] = '\0';
	base = strrchr(link, '/');
	base = base != NULL ? base + 1 : link;
	if (release_id_valid(base))
		memcpy(out, base, RELEASE_IDLEN + 1);
	return 0;
}

/* move a real directory at target aside, to a name not yet taken */
static int
release_backup(const char *target, struct gs_error *err)
{
	char	 ts[32], *backup = NULL;
	int	 i, ret = -1;

	util_time_compact(time(NULL), ts);
	xasprintf(&backup, "%s.gitstrap-backup-%s", target, ts);
	for (i = 1; util_exists(backup); i++) {
		free(backup);
		xasprintf(&backup, "%s.gitstrap-backup-%s.%d", target, ts, i);
	}
	if (rename(target, backup) == -1) {
		gs_error_sys(err, "move %s to %s", target, backup);
		goto out;
	}
	log_info("release.backup", "target=%s backup=%s", target, backup);
	ret = 0;
out:
	free(backup);
	return ret;
}

/*
 * Releases beside the target get a relative link ("<dir>/<id>"): it keeps
 * working where the target's directory is mounted at another path, as in
 * a volume shared with a web server container. Elsewhere, an absolute one.
 */
static char *
release_link_text(const char *parent, const char *releases_dir,
    const char *id, const char *abs)
{
	size_t	 plen = strlen(parent);
	char	*out;

	if (plen > 1 && strncmp(releases_dir, parent, plen) == 0 &&
	    releases_dir[plen] == '/' && releases_dir[plen + 1] != '\0' &&
	    strchr(releases_dir + plen + 1, '/') == NULL) {
		xasprintf(&out, "%s/%s", releases_dir + plen + 1, id);
		return out;
	}
	return xstrdup(abs);
}

int
release_switch(const char *target, const char *releases_dir, const char *id,
    struct gs_error *err)
{
	struct stat	 sb;
	char		*t = NULL, *parent = NULL, *tmp = NULL, *rel = NULL;
	char		*absdir = NULL, *slash, *link = NULL;
	int		 ret = -1;

	if (!release_id_valid(id))
		return gs_error_set(err, GS_E_RUNTIME, EINVAL,
		    "\"%s\" is not a release id", id);
	if ((t = release_target_path(target, err)) == NULL)
		goto out;

	/* the link must not depend on the cwd of whoever made it */
	if (releases_dir[0] != '/') {
		if ((absdir = realpath(releases_dir, NULL)) == NULL) {
			gs_error_sys(err, "%s", releases_dir);
			goto out;
		}
		releases_dir = absdir;
	}
	rel = util_path_join(releases_dir, id);
	if (lstat(rel, &sb) == -1) {
		gs_error_sys(err, "release %s", rel);
		goto out;
	}
	if (!S_ISDIR(sb.st_mode)) {
		gs_error_set(err, GS_E_RUNTIME, ENOTDIR,
		    "release %s: not a directory", rel);
		goto out;
	}

	parent = xstrdup(t);
	slash = strrchr(parent, '/');
	if (slash == NULL) {
		free(parent);
		parent = xstrdup(".");
	} else if (slash == parent)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (util_mkdir_p(parent, 0755, err) == -1)
		goto out;

	if (lstat(t, &sb) == 0) {
		if (S_ISDIR(sb.st_mode)) {
			if (release_backup(t, err) == -1)
				goto out;
		} else if (!S_ISLNK(sb.st_mode)) {
			gs_error_set(err, GS_E_RUNTIME, EEXIST,
			    "data target %s exists and is neither a directory "
			    "nor a symlink: refusing to replace it", t);
			goto out;
		}
	} else if (errno != ENOENT) {
		gs_error_sys(err, "data target %s", t);
		goto out;
	}

	xasprintf(&tmp, "%s.gitstrap-tmp", t);
	if (unlink(tmp) == -1 && errno != ENOENT) {
		gs_error_sys(err, "remove %s", tmp);
		goto out;
	}
	link = release_link_text(parent, releases_dir, id, rel);
	if (symlink(link, tmp) == -1) {
		gs_error_sys(err, "symlink %s", tmp);
		goto out;
	}
	if (rename(tmp, t) == -1) {
		gs_error_sys(err, "rename %s to %s", tmp, t);
		(void)unlink(tmp);
		goto out;
	}
	if (util_fsync_dir(parent, err) == -1)
		goto out;
	ret = 0;
out:
	free(link);
	free(absdir);
	free(rel);
	free(tmp);
	free(parent);
	free(t);
	return ret;
}

static int
release_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The names in releases_dir, sorted, in four lists: releases, leftover
 * builds (*.tmp), failed releases (<id>.failed) and the manifests of
 * releases (.<id>.manifest, hidden: not a release). A missing dir is empty.
 */
static int
release_scan(const char *releases_dir, struct gs_strlist *ids,
    struct gs_strlist *tmps, struct gs_strlist *failed,
    struct gs_strlist *manifests, struct gs_error *err)
{
	DIR		*d;
	struct dirent	*de;
	size_t		 len;

	if ((d = opendir(releases_dir)) == NULL) {
		if (errno == ENOENT)
			return 0;
		return gs_error_sys(err, "open %s", releases_dir);
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL)
			break;
		len = strlen(de->d_name);
		if (release_id_valid(de->d_name))
			strlist_add(ids, de->d_name);
		else if (tmps != NULL && len > 4 &&
		    strcmp(de->d_name + len - 4, ".tmp") == 0)
			strlist_add(tmps, de->d_name);
		else if (failed != NULL &&
		    release_id_with_suffix(de->d_name, ".failed"))
			strlist_add(failed, de->d_name);
		else if (manifests != NULL && de->d_name[0] == '.' &&
		    release_id_with_suffix(de->d_name + 1, ".manifest"))
			strlist_add(manifests, de->d_name);
	}
	if (errno != 0) {
		gs_error_sys(err, "read %s", releases_dir);
		closedir(d);
		return -1;
	}
	closedir(d);
	if (ids->n > 1)
		qsort(ids->v, ids->n, sizeof(*ids->v), release_cmp);
	if (failed != NULL && failed->n > 1)
		qsort(failed->v, failed->n, sizeof(*failed->v), release_cmp);
	return 0;
}

int
release_list(const char *releases_dir, struct gs_strlist *out,
    struct gs_error *err)
{
	memset(out, 0, sizeof(*out));
	if (release_scan(releases_dir, out, NULL, NULL, NULL, err) == -1) {
		strlist_free(out);
		return -1;
	}
	return 0;
}

/* remove releases_dir/name; the first failure is kept in err */
static void
release_remove(const char *releases_dir, const char *name, int *failed,
    struct gs_error *err)
{
	struct gs_error	 e;
	char		*path;

	path = util_path_join(releases_dir, name);
	if (util_rm_rf(path, &e) == -1) {
		if (!*failed && err != NULL)
			*err = e;
		*failed = 1;
	} else
		log_info("release.pruned", "release=%s", name);
	free(path);
}

/* is releases_dir/id still there (not pruned above)? */
static int
release_kept(const char *releases_dir, const char *id)
{
	char	*path;
	int	 kept;

	path = util_path_join(releases_dir, id);
	kept = util_is_dir(path);
	free(path);
	return kept;
}

int
release_prune(const char *releases_dir, int keep, const char *current,
    struct gs_error *err)
{
	struct gs_strlist	 ids, tmps, failed, manifests;
	size_t			 i, j, n, room;
	int			 has_current = 0, bad = 0;

	memset(&ids, 0, sizeof(ids));
	memset(&tmps, 0, sizeof(tmps));
	memset(&failed, 0, sizeof(failed));
	memset(&manifests, 0, sizeof(manifests));
	if (release_scan(releases_dir, &ids, &tmps, &failed, &manifests,
	    err) == -1) {
		bad = 1;
		goto out;
	}
	if (keep < 1)
		keep = 1;
	if (current != NULL && *current != '\0')
		for (i = 0; i < ids.n; i++)
			if (strcmp(ids.v[i], current) == 0)
				has_current = 1;

	for (i = 0; i < tmps.n; i++)
		release_remove(releases_dir, tmps.v[i], &bad, err);

	/* keep current, and the newest others to make up keep in all */
	room = (size_t)keep - (has_current ? 1 : 0);
	for (n = 0, i = ids.n; i-- > 0;) {
		if (has_current && strcmp(ids.v[i], current) == 0)
			continue;
		if (n < room) {
			n++;
			continue;
		}
		release_remove(releases_dir, ids.v[i], &bad, err);
	}

	for (i = 0; i + RELEASE_KEEP_FAILED < failed.n; i++)
		release_remove(releases_dir, failed.v[i], &bad, err);

	/* a manifest goes with its release */
	for (i = 0; i < manifests.n; i++) {
		for (j = 0; j < ids.n; j++)
			if (strncmp(manifests.v[i] + 1, ids.v[j],
			    RELEASE_IDLEN) == 0 && release_kept(releases_dir,
			    ids.v[j]))
				break;
		if (j == ids.n)
			release_remove(releases_dir, manifests.v[i], &bad,
			    err);
	}
out:
	strlist_free(&ids);
	strlist_free(&tmps);
	strlist_free(&failed);
	strlist_free(&manifests);
	return bad ? -1 : 0;
}

int
release_mark_failed(const char *releases_dir, const char *id,
    struct gs_error *err)
{
	char	*from = NULL, *to = NULL;
	int	 ret = -1;

	if (!release_id_valid(id))
		return gs_error_set(err, GS_E_RUNTIME, EINVAL,
		    "\"%s\" is not a release id", id);
	from = util_path_join(releases_dir, id);
	xasprintf(&to, "%s.failed", from);
	/* the same id failing twice: the newer attempt is the one to keep */
	if (util_rm_rf(to, err) == -1)
		goto out;
	if (rename(from, to) == -1) {
		gs_error_sys(err, "rename %s to %s", from, to);
		goto out;
	}
	ret = util_fsync_dir(releases_dir, err);
out:
	free(from);
	free(to);
	return ret;
}

/*
 * Walk the tree without following symlinks: dirs 0755, files 0644, or
 * 0755 when any execute bit is set; no setuid, setgid or sticky bits. A
 * chmod only where the mode differs. Then one syncfs() for the whole tree
 * instead of an fsync per file.
 */
int
release_seal(const char *dir, struct gs_error *err)
{
	FTS		*fts;
	FTSENT		*f;
	char		*argv[2];
	mode_t		 want;
	int		 fd, ret = -1;

	argv[0] = (char *)dir;
	argv[1] = NULL;
	if ((fts = fts_open(argv, FTS_PHYSICAL | FTS_NOCHDIR, NULL)) == NULL)
		return gs_error_sys(err, "seal %s", dir);
	while ((f = fts_read(fts)) != NULL) {
		switch (f->fts_info) {
		case FTS_D:
			want = 0755;
			break;
		case FTS_F:
			want = (f->fts_statp->st_mode & 0111) != 0 ?
			    0755 : 0644;
			break;
		case FTS_SL:
		case FTS_SLNONE:
		case FTS_DP:
			continue;
		case FTS_DNR:
		case FTS_ERR:
		case FTS_NS:
			errno = f->fts_errno;
			gs_error_sys(err, "seal %s", f->fts_path);
			goto out;
		default:
			gs_error_set(err, GS_E_RUNTIME, EINVAL,
			    "seal %s: not a file, directory or symlink",
			    f->fts_path);
			goto out;
		}
		if ((f->fts_statp->st_mode & 07777) != want &&
		    chmod(f->fts_accpath, want) == -1) {
			gs_error_sys(err, "chmod %s", f->fts_path);
			goto out;
		}
	}
	if (errno != 0) {
		gs_error_sys(err, "seal %s", dir);
		goto out;
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		gs_error_sys(err, "open %s", dir);
		goto out;
	}
	if (syncfs(fd) == -1) {
		gs_error_sys(err, "sync %s", dir);
		close(fd);
		goto out;
	}
	close(fd);
	ret = 0;
out:
	fts_close(fts);
	return ret;
}

/*
 * Like cp -al: every directory made again (with its times), everything
 * else hard-linked, symlinks included (a link to a symlink is that very
 * symlink). A release holds only dirs, files and symlinks; anything else
 * is refused. The times of a dir are set after its entries are linked.
 */
int
release_link_tree(const char *from, const char *to, struct gs_error *err)
{
	FTS		*fts;
	FTSENT		*f;
	struct timespec	 ts[2];
	char		*argv[2], *dst = NULL;
	size_t		 rootlen;
	int		 ret = -1;

	argv[0] = (char *)from;
	argv[1] = NULL;
	if ((fts = fts_open(argv, FTS_PHYSICAL | FTS_NOCHDIR, NULL)) == NULL)
		return gs_error_sys(err, "link %s", from);
	rootlen = strlen(from);
	while ((f = fts_read(fts)) != NULL) {
		free(dst);
		dst = NULL;
		if (f->fts_level == 0) {
			if (f->fts_info != FTS_D && f->fts_info != FTS_DP) {
				errno = f->fts_info == FTS_NS ||
				    f->fts_info == FTS_ERR ? f->fts_errno :
				    ENOTDIR;
				gs_error_sys(err, "link %s", from);
				goto out;
			}
			continue;
		}
		/* fts_path is from + "/" + the path below it */
		dst = util_path_join(to, f->fts_path + rootlen + 1);
		switch (f->fts_info) {
		case FTS_D:
			if (mkdir(dst, 0755) == -1) {
				gs_error_sys(err, "mkdir %s", dst);
				goto out;
			}
			break;
		case FTS_DP:
			ts[0] = f->fts_statp->st_atim;
			ts[1] = f->fts_statp->st_mtim;
			if (utimensat(AT_FDCWD, dst, ts,
			    AT_SYMLINK_NOFOLLOW) == -1) {
				gs_error_sys(err, "set the times of %s", dst);
				goto out;
			}
			break;
		case FTS_F:
		case FTS_SL:
		case FTS_SLNONE:
			if (linkat(AT_FDCWD, f->fts_accpath, AT_FDCWD, dst, 0)
			    == -1) {
				gs_error_sys(err, "link %s to %s", f->fts_path,
				    dst);
				goto out;
			}
			break;
		case FTS_DNR:
		case FTS_ERR:
		case FTS_NS:
			errno = f->fts_errno;
			gs_error_sys(err, "link %s", f->fts_path);
			goto out;
		default:
			gs_error_set(err, GS_E_RUNTIME, EINVAL,
			    "link %s: not a file, directory or symlink",
			    f->fts_path);
			goto out;
		}
	}
	if (errno != 0) {
		gs_error_sys(err, "link %s", from);
		goto out;
	}
	ret = 0;
out:
	free(dst);
	fts_close(fts);
	return ret;
}
