/*
 * unpack.c: extract an archive held in memory into a release dir.
 *
 * libarchive reads the archive and archive_write_disk writes it. Every
 * entry is checked here before it is written, so that a refusal is one
 * message of ours naming the archive and the entry; libarchive's own
 * ARCHIVE_EXTRACT_SECURE_* checks stay on behind ours as a second line.
 *
 * The rules, for an archive that may come from anyone who can push to the
 * data repo:
 *  - no absolute path and no ".." component anywhere in a name;
 *  - nothing is written through a symlink, and no directory is replaced
 *    by a file or a file by a directory;
 *  - a symlink must resolve inside the release dir (see
 *    unpack_link_inside); a hard link must name a regular file extracted
 *    earlier from the same archive;
 *  - devices, fifos and sockets are refused;
 *  - modes are normalised (dirs 0755, files 0644 or 0755), ownership is
 *    not restored, times are;
 *  - bytes are counted as they are written, so a header that understates
 *    a size cannot get past limits.max_bytes.
 *
 * Given the previous release, a regular file whose data, mode and time are
 * all the same as the file at its path there is hard-linked to it instead
 * of written (see unpack_copy_or_link). Releases are never modified after
 * the switch, so two of them may share an inode.
 *
 * This is the hot path (thousands of entries per release): what is known
 * about each path below the release dir is kept in a small hash table, so
 * a parent is looked at on disk at most once, and not at all when the dir
 * was empty to begin with.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <isa-l/igzip_lib.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gitstrap.h"

/*
 * No owner, ACLs, xattrs or file flags; exact modes (we set them) and times.
 * The SECURE flags make archive_write_disk refuse what we already refuse.
 */
#define UNPACK_FLAGS	(ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | \
	    ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT | \
	    ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS)

/*
 * Names from the archive in messages: printable, on one line, and short
 * enough that the message still says what is wrong.
 */
#define UNPACK_QUOTE	160
/* blocks of the previous release's files copied at a time */
#define UNPACK_CHUNK	(64 * 1024)

/* what is known to be at a path below the release dir */
enum unpack_kind {
	UNPACK_NONE = 0,	/* nothing known (or nothing there) */
	UNPACK_DIR,		/* a real directory, made here or found */
	UNPACK_FILE,		/* a regular file extracted by this call */
	UNPACK_LINK,		/* a symlink extracted by this call */
	UNPACK_OTHER		/* found on disk: not a dir, not ours */
};

struct unpack_slot {
	char			*path;		/* NULL: free slot */
	size_t			 len;
	uint32_t		 hash;
	enum unpack_kind	 kind;
};

/* open addressing, linear probing; never more than half full */
struct unpack_paths {
	struct unpack_slot	*slots;
	size_t			 cap;		/* a power of two */
	size_t			 n;
};

struct unpack {
	const char		*name;		/* the archive, for messages */
	int			 strip;
	struct unpack_limits	*lim;
	struct archive		*in;
	struct archive		*out;
	struct unpack_paths	 paths;
	int			 fresh;		/* dir was empty: paths knows all */
	char			*entry;		/* entry name as in the archive */
	char			 qentry[UNPACK_QUOTE];	/* for messages */
	int			 prevfd;	/* the previous tree, or -1 */
	unsigned char		*cmp;		/* its bytes, to compare */
	size_t			 cmpsize;
};

static uint32_t
unpack_hash(const char *s, size_t len)
{
	uint32_t	h = 2166136261U;	/* FNV-1a */
	size_t		i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619U;
	}
	return h;
}

static struct unpack_slot *
unpack_paths_find(struct unpack_paths *t, const char *s, size_t len,
    uint32_t h)
{
	struct unpack_slot	*sl;
	size_t			 i;

	for (i = h & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
		sl = &t->slots[i];
		if (sl->path == NULL)
			return sl;
		if (sl->hash == h && sl->len == len &&
		    memcmp(sl->path, s, len) == 0)
			return sl;
	}
}

static enum unpack_kind
unpack_paths_get(struct unpack_paths *t, const char *s, size_t len)
{
	return unpack_paths_find(t, s, len, unpack_hash(s, len))->kind;
}

static void
unpack_paths_set(struct unpack_paths *t, const char *s, size_t len,
    enum unpack_kind kind)
{
	struct unpack_slot	*old, *sl;
	size_t			 oldcap, i;
	uint32_t		 h = unpack_hash(s, len);

	sl = unpack_paths_find(t, s, len, h);
	if (sl->path != NULL) {
		sl->kind = kind;
		return;
	}
	if ((t->n + 1) * 2 > t->cap) {
		old = t->slots;
		oldcap = t->cap;
		t->cap *= 2;
		t->slots = xcalloc(t->cap, sizeof(*t->slots));
		for (i = 0; i < oldcap; i++)
			if (old[i].path != NULL)
				*unpack_paths_find(t, old[i].path, old[i].len,
				    old[i].hash) = old[i];
		free(old);
		sl = unpack_paths_find(t, s, len, h);
	}
	sl->path = xstrndup(s, len);
	sl->len = len;
	sl->hash = h;
	sl->kind = kind;
	t->n++;
}

static void
unpack_paths_free(struct unpack_paths *t)
{
	size_t	i;

	for (i = 0; i < t->cap; i++)
		free(t->slots[i].path);
	free(t->slots);
	t->slots = NULL;
	t->cap = t->n = 0;
}

/* is the component s[0..len) "."? */
static int
unpack_is_dot(const char *s, size_t len)
{
	return len == 1 && s[0] == '.';
}

/* is the component s[0..len) ".."? */
static int
unpack_is_dotdot(const char *s, size_t len)
{
	return len == 2 && s[0] == '.' && s[1] == '.';
}

/*
 * Strip components the way GNU tar counts them: runs of '/' separate
 * components and every non-empty component counts, "." included, so
 * "./top/a" with strip 2 is "a". The rest is normalised: no empty or "."
 * components, no trailing slash.
 */
int
unpack_clean_path(const char *entry, int strip, char **out,
    const char **why)
{
	const char	*p, *c;
	char		*o;
	size_t		 len;
	int		 n;

	*out = NULL;
	if (entry == NULL || *entry == '\0') {
		*why = "empty path";
		return -1;
	}
	if (*entry == '/') {
		*why = "absolute path";
		return -1;
	}
	for (p = entry; *p != '\0'; p += len) {
		while (*p == '/')
			p++;
		len = strcspn(p, "/");
		if (unpack_is_dotdot(p, len)) {
			*why = "path escapes the release dir";
			return -1;
		}
		if (len > NAME_MAX) {
			*why = "name too long";
			return -1;
		}
	}
	if (p - entry >= PATH_MAX) {
		*why = "path too long";
		return -1;
	}

	p = entry;
	for (n = 0; n < strip; n++) {
		while (*p == '/')
			p++;
		if (*p == '\0')
			return 0;	/* stripped away entirely */
		p += strcspn(p, "/");
	}

	o = *out = xmalloc(strlen(p) + 1);
	while (*p != '\0') {
		while (*p == '/')
			p++;
		c = p;
		len = strcspn(p, "/");
		p += len;
		if (len == 0 || unpack_is_dot(c, len))
			continue;
		if (o != *out)
			*o++ = '/';
		memcpy(o, c, len);
		o += len;
	}
	*o = '\0';
	if (o == *out) {
		free(*out);
		*out = NULL;	/* the top dir itself */
	}
	return 0;
}

/*
 * Does a symlink at entry_path (a clean relative path) with this target
 * resolve inside the tree? Lexically, with one more rule: ".." may only
 * lead the target. After a name, ".." would step out of whatever that name
 * resolves to, and if the name is itself a symlink (to the top of the
 * tree, say) that goes where no lexical check can see. Leading ".." from
 * the link's own dir walk up real directories (nothing is extracted through
 * a symlink), and names below an inside point stay inside as long as every
 * symlink does: which is what this check makes true, one link at a time.
 */
/*
 * The next path component at *pp, skipping slashes and "." components:
 * its start in *c and length in *len; 0 at the end of the path.
 */
static int
unpack_next_component(const char **pp, const char **c, size_t *len)
{
	const char	*p = *pp;

	for (;;) {
		while (*p == '/')
			p++;
		if (*p == '\0') {
			*pp = p;
			return 0;
		}
		*c = p;
		*len = strcspn(p, "/");
		p += *len;
		if (!unpack_is_dot(*c, *len))
			break;
	}
	*pp = p;
	return 1;
}

int
unpack_link_inside(const char *entry_path, const char *target)
{
	const char	*p, *c;
	size_t		 len;
	long		 depth = -1;	/* the last component is the link */
	int		 named = 0;

	if (entry_path == NULL || target == NULL || *target == '\0' ||
	    *target == '/' || *entry_path == '/')
		return 0;

	/* depth of the link's dir: the components before the last one */
	for (p = entry_path; unpack_next_component(&p, &c, &len);) {
		if (unpack_is_dotdot(c, len))
			return 0;
		depth++;
	}
	if (depth < 0)
		return 0;

	for (p = target; unpack_next_component(&p, &c, &len);) {
		if (unpack_is_dotdot(c, len)) {
			if (named || --depth < 0)
				return 0;
		} else
			named = 1;
	}
	return 1;
}

/* refuse the current entry: NAME: entry "ENTRY": why */
static int
unpack_refuse(struct unpack *u, struct gs_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
unpack_refuse(struct unpack *u, struct gs_error *err, const char *fmt, ...)
{
	va_list	ap;
	char	why[sizeof(err->msg)];

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return gs_error_set(err, GS_E_ARCHIVE, ARCHIVE_FAILED,
	    "%s: entry \"%s\": %s", u->name, u->qentry, why);
}

/* a libarchive failure, with its own message */
static int
unpack_seterr(struct unpack *u, struct archive *a, int rc,
    struct gs_error *err)
{
	const char	*s = archive_error_string(a);

	if (s == NULL)
		s = rc == ARCHIVE_FATAL ? "fatal libarchive error" :
		    "libarchive error";
	if (u->entry != NULL)
		return gs_error_set(err, GS_E_ARCHIVE, archive_errno(a),
		    "%s: entry \"%s\": %s", u->name, u->qentry, s);
	return gs_error_set(err, GS_E_ARCHIVE, archive_errno(a), "%s: %s",
	    u->name, s);
}

static void
unpack_warn(struct unpack *u, struct archive *a)
{
	const char	*s = archive_error_string(a);

	log_warnx("unpack.warn", "archive=\"%s\" entry=\"%s\" msg=\"%s\"",
	    u->name, u->entry != NULL ? u->qentry : "",
	    s != NULL ? s : "warning");
}

static int
unpack_over_bytes(struct unpack *u, struct gs_error *err)
{
	return gs_error_set(err, GS_E_RUNTIME, EFBIG,
	    "%s: over the limit of %llu bytes (limits.max_bytes)", u->name,
	    (unsigned long long)u->lim->max_bytes);
}

/* what is on disk at s[0..len), relative to the release dir (our cwd) */
static int
unpack_stat(struct unpack *u, const char *s, size_t len,
    enum unpack_kind *kind, struct gs_error *err)
{
	char		path[PATH_MAX];
	struct stat	sb;

	memcpy(path, s, len);	/* len < PATH_MAX: unpack_clean_path */
	path[len] = '\0';
	if (lstat(path, &sb) == -1) {
		if (errno != ENOENT)
			return gs_error_sys(err, "%s: entry \"%s\"",
			    u->name, u->qentry);
		*kind = UNPACK_NONE;
	} else if (S_ISDIR(sb.st_mode))
		*kind = UNPACK_DIR;
	else if (S_ISLNK(sb.st_mode))
		*kind = UNPACK_LINK;
	else
		*kind = UNPACK_OTHER;
	return 0;
}

/*
 * Every parent of path must be a real directory, or not exist yet (then
 * archive_write_disk makes it, and we note it as one). The immediate parent
 * is nearly always known already.
 */
static int
unpack_check_parents(struct unpack *u, const char *path, struct gs_error *err)
{
	const char		*slash, *p;
	enum unpack_kind	 kind;
	size_t			 len;
	int			 missing = 0;

	if ((slash = strrchr(path, '/')) == NULL)
		return 0;
	if (unpack_paths_get(&u->paths, path, (size_t)(slash - path)) ==
	    UNPACK_DIR)
		return 0;
	for (p = path; (p = strchr(p, '/')) != NULL; p++) {
		len = (size_t)(p - path);
		kind = missing ? UNPACK_NONE :
		    unpack_paths_get(&u->paths, path, len);
		if (kind == UNPACK_NONE && !missing && !u->fresh &&
		    unpack_stat(u, path, len, &kind, err) == -1)
			return -1;
		switch (kind) {
		case UNPACK_NONE:
			missing = 1;	/* so is everything below it */
			unpack_paths_set(&u->paths, path, len, UNPACK_DIR);
			break;
		case UNPACK_DIR:
			unpack_paths_set(&u->paths, path, len, UNPACK_DIR);
			break;
		case UNPACK_LINK:
			return unpack_refuse(u, err,
			    "path goes through a symlink");
		default:
			return unpack_refuse(u, err,
			    "would replace a file with a directory");
		}
	}
	return 0;
}

/* a new entry of this kind may take this path */
static int
unpack_check_replace(struct unpack *u, const char *path, enum unpack_kind new,
    struct gs_error *err)
{
	enum unpack_kind	old;

	old = unpack_paths_get(&u->paths, path, strlen(path));
	if (old == UNPACK_NONE && !u->fresh &&
	    unpack_stat(u, path, strlen(path), &old, err) == -1)
		return -1;
	if (new == UNPACK_DIR) {
		if (old == UNPACK_LINK)
			return unpack_refuse(u, err,
			    "would replace a symlink with a directory");
		if (old != UNPACK_NONE && old != UNPACK_DIR)
			return unpack_refuse(u, err,
			    "would replace a file with a directory");
	} else if (old == UNPACK_DIR)
		return unpack_refuse(u, err,
		    "would replace a directory with a %s",
		    new == UNPACK_LINK ? "symlink" : "file");
	return 0;
}

/* the hard link's target: a regular file this archive has extracted */
static int
unpack_check_hardlink(struct unpack *u, struct archive_entry *e,
    const char *target, struct gs_error *err)
{
	const char	*why;
	char		*clean, q[UNPACK_QUOTE];
	int		 ok;

	util_quote(q, sizeof(q), target, strlen(target));
	if (unpack_clean_path(target, u->strip, &clean, &why) == -1)
		return unpack_refuse(u, err, "hard link target \"%s\": %s",
		    q, why);
	ok = clean != NULL &&
	    unpack_paths_get(&u->paths, clean, strlen(clean)) == UNPACK_FILE;
	if (ok)
		archive_entry_set_hardlink(e, clean);
	free(clean);
	if (!ok)
		return unpack_refuse(u, err, "hard link target \"%s\" is not "
		    "a file extracted earlier from this archive", q);
	return 0;
}

/* write one block of the entry's data */
static int
unpack_write_block(struct unpack *u, const void *buf, size_t len,
    la_int64_t off, struct gs_error *err)
{
	la_ssize_t	w;

	w = archive_write_data_block(u->out, buf, len, off);
	if (w == ARCHIVE_WARN)
		unpack_warn(u, u->out);
	else if (w < ARCHIVE_OK)
		return unpack_seterr(u, u->out, (int)w, err);
	u->lim->written += len;
	return 0;
}

/*
 * The next block of the entry's data, counted against limits.max_bytes
 * whether it is written or linked: the limit is on the size of the
 * release. 1: a block, 0: the end, -1: failure.
 */
static int
unpack_read_block(struct unpack *u, const void **buf, size_t *len,
    la_int64_t *off, struct gs_error *err)
{
	int	r;

	r = archive_read_data_block(u->in, buf, len, off);
	if (r == ARCHIVE_EOF)
		return 0;
	if (r == ARCHIVE_WARN)
		unpack_warn(u, u->in);
	else if (r != ARCHIVE_OK)
		return unpack_seterr(u, u->in, r, err);
	if (*len > u->lim->max_bytes - u->lim->bytes)
		return unpack_over_bytes(u, err);
	u->lim->bytes += *len;
	return 1;
}

/* copy the (rest of the) entry's data, counting what is actually written */
static int
unpack_copy(struct unpack *u, struct gs_error *err)
{
	const void	*buf;
	size_t		 len;
	la_int64_t	 off;
	int		 r;

	while ((r = unpack_read_block(u, &buf, &len, &off, err)) == 1)
		if (unpack_write_block(u, buf, len, off, err) == -1)
			return -1;
	return r;
}

static int
unpack_write_header(struct unpack *u, struct archive_entry *e,
    struct gs_error *err)
{
	int	r;

	r = archive_write_header(u->out, e);
	if (r == ARCHIVE_WARN)
		unpack_warn(u, u->out);
	else if (r != ARCHIVE_OK)
		return unpack_seterr(u, u->out, r, err);
	return 0;
}

/* len bytes of the previous file at off into u->cmp; 0 when it is shorter */
static int
unpack_prev_read(struct unpack *u, int fd, size_t len, la_int64_t off,
    struct gs_error *err)
{
	size_t	got = 0;
	ssize_t	n;

	if (len > u->cmpsize) {
		free(u->cmp);
		u->cmpsize = len;
		u->cmp = xmalloc(u->cmpsize);
	}
	while (got < len) {
		n = pread(fd, u->cmp + got, len - got, off + (off_t)got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return gs_error_sys(err, "%s: entry \"%s\": read the "
			    "previous release", u->name, u->entry);
		if (n == 0)
			return 0;
		got += (size_t)n;
	}
	return 1;
}

/*
 * The data turned out to differ from the previous file after done bytes
 * that were the same: write the entry after all, those bytes taken from
 * the previous file, then the block in hand (len may be 0), then the rest.
 */
static int
unpack_write_rest(struct unpack *u, struct archive_entry *e, int fd,
    la_int64_t done, const void *buf, size_t len, la_int64_t off,
    struct gs_error *err)
{
	la_int64_t	o;
	size_t		n;
	int		r;

	if (unpack_write_header(u, e, err) == -1)
		return -1;
	for (o = 0; o < done; o += (la_int64_t)n) {
		n = done - o < UNPACK_CHUNK ? (size_t)(done - o) : UNPACK_CHUNK;
		if ((r = unpack_prev_read(u, fd, n, o, err)) == -1)
			return -1;
		if (r == 0)
			return gs_error_set(err, GS_E_RUNTIME, EIO, "%s: entry "
			    "\"%s\": the previous release changed under us",
			    u->name, u->entry);
		if (unpack_write_block(u, u->cmp, n, o, err) == -1)
			return -1;
	}
	if (len > 0 && unpack_write_block(u, buf, len, off, err) == -1)
		return -1;
	return unpack_copy(u, err);
}

/* make the missing parents of path (checked by unpack_check_parents) */
static int
unpack_mkparents(struct unpack *u, const char *path, struct gs_error *err)
{
	char	 buf[PATH_MAX], *p;

	snprintf(buf, sizeof(buf), "%s", path);	/* < PATH_MAX: clean_path */
	for (p = buf; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(buf, 0755) == -1 && errno != EEXIST)
			return gs_error_sys(err, "%s: entry \"%s\": mkdir %s",
			    u->name, u->entry, buf);
		*p = '/';
	}
	return 0;
}

/*
 * Link path to the previous release's file open at fd. 1: linked, 0: could
 * not (another file system, too many links): the caller writes the data.
 * The link is made by name; that it is the file compared is checked after.
 */
static int
unpack_link_prev(struct unpack *u, const char *path, int fd,
    struct gs_error *err)
{
	struct stat	a, b;
	int		tries;

	for (tries = 0;; tries++) {
		if (linkat(u->prevfd, path, AT_FDCWD, path, 0) == 0)
			break;
		if (errno != ENOENT || tries > 0)
			return 0;
		if (unpack_mkparents(u, path, err) == -1)
			return -1;
	}
	if (fstat(fd, &a) == -1 || lstat(path, &b) == -1)
		return gs_error_sys(err, "%s: entry \"%s\": stat", u->name,
		    u->entry);
	if (a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
		if (unlink(path) == -1)
			return gs_error_sys(err, "%s: entry \"%s\": unlink",
			    u->name, u->entry);
		return 0;
	}
	return 1;
}

/*
 * The previous release's file at path, open, when it could be the same as
 * this entry: a regular file of ours with the mode and size the entry gets
 * and, when the entry has a time (it is set on the file), that time to the
 * nanosecond, so that the link is the very file extracting would make. -1
 * otherwise. No symlink is followed anywhere on the way, and the lookup
 * cannot leave the previous tree.
 */
static int
unpack_prev_open(struct unpack *u, struct archive_entry *e, const char *path)
{
	struct open_how	 how;
	struct stat	 sb;
	int		 fd;

	if (u->prevfd == -1)
		return -1;
	memset(&how, 0, sizeof(how));
	how.flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
	    RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
	if ((fd = (int)syscall(SYS_openat2, u->prevfd, path, &how,
	    sizeof(how))) == -1)
		return -1;
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    sb.st_uid != geteuid() ||
	    (sb.st_mode & 07777) != archive_entry_perm(e) ||
	    (archive_entry_size_is_set(e) &&
	    sb.st_size != archive_entry_size(e)) ||
	    (archive_entry_mtime_is_set(e) &&
	    (sb.st_mtim.tv_sec != archive_entry_mtime(e) ||
	    sb.st_mtim.tv_nsec != archive_entry_mtime_nsec(e)))) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Write the entry, or link the previous release's file open at fd when
 * the data is the same. Same size and time do not make the same file: a
 * data repo rebuilt with a fixed --mtime (as reproducible tarballs are)
 * gives every changed file of an unchanged size the old time too. So the
 * data is compared, block by block as it is inflated, and nothing is
 * written while it matches; at the first difference the matching prefix
 * is copied from the previous file and writing goes on from there. Memory
 * stays at one block whatever the file's size. *linked says which it was.
 */
static int
unpack_copy_or_link(struct unpack *u, struct archive_entry *e,
    const char *path, int fd, int *linked, struct gs_error *err)
{
	struct stat	 sb;
	const void	*buf;
	size_t		 len;
	la_int64_t	 off, done = 0;
	int		 r;

	*linked = 0;
	for (;;) {
		if ((r = unpack_read_block(u, &buf, &len, &off, err)) == -1)
			return -1;
		if (r == 0)
			break;
		/* a hole (sparse entry) counts as a difference */
		if (off != done)
			return unpack_write_rest(u, e, fd, done, buf, len, off,
			    err);
		if ((r = unpack_prev_read(u, fd, len, off, err)) == -1)
			return -1;
		if (r == 0 || memcmp(u->cmp, buf, len) != 0)
			return unpack_write_rest(u, e, fd, done, buf, len, off,
			    err);
		done += (la_int64_t)len;
	}
	if (fstat(fd, &sb) == -1)
		return gs_error_sys(err, "%s: entry \"%s\": stat", u->name,
		    u->entry);
	if (sb.st_size == done) {
		if ((r = unpack_link_prev(u, path, fd, err)) == -1)
			return -1;
		if (r == 1) {
			*linked = 1;
			u->lim->linked++;
			return 0;
		}
	}
	return unpack_write_rest(u, e, fd, done, NULL, 0, done, err);
}

static int
unpack_entry(struct unpack *u, struct archive_entry *e, struct gs_error *err)
{
	struct unpack_limits	*lim = u->lim;
	const char		*why, *hardlink, *target;
	char			*path = NULL, q[UNPACK_QUOTE];
	enum unpack_kind	 kind;
	mode_t			 type;
	int			 fd, linked, r, ret = -1;

	if (unpack_clean_path(u->entry, u->strip, &path, &why) == -1)
		return unpack_refuse(u, err, "%s", why);
	if (path == NULL)
		return 0;		/* stripped away: the top dir */

	type = archive_entry_filetype(e);
	hardlink = archive_entry_hardlink(e);
	if (hardlink != NULL)
		kind = UNPACK_FILE;
	else {
		switch (type) {
		case AE_IFREG:
			kind = UNPACK_FILE;
			break;
		case AE_IFDIR:
			kind = UNPACK_DIR;
			break;
		case AE_IFLNK:
			kind = UNPACK_LINK;
			break;
		case AE_IFCHR:
			unpack_refuse(u, err, "character device refused");
			goto out;
		case AE_IFBLK:
			unpack_refuse(u, err, "block device refused");
			goto out;
		case AE_IFIFO:
			unpack_refuse(u, err, "fifo refused");
			goto out;
		case AE_IFSOCK:
			unpack_refuse(u, err, "socket refused");
			goto out;
		default:
			unpack_refuse(u, err, "unknown entry type 0%o refused",
			    (unsigned)type);
			goto out;
		}
	}

	if (lim->entries >= lim->max_entries) {
		gs_error_set(err, GS_E_RUNTIME, EFBIG,
		    "%s: over the limit of %llu entries (limits.max_entries)",
		    u->name, (unsigned long long)lim->max_entries);
		goto out;
	}
	/* an honest header over the limit fails before anything is written */
	if (kind == UNPACK_FILE && archive_entry_size_is_set(e) &&
	    (uint64_t)archive_entry_size(e) > lim->max_bytes - lim->bytes) {
		unpack_over_bytes(u, err);
		goto out;
	}

	if (unpack_check_parents(u, path, err) == -1 ||
	    unpack_check_replace(u, path, kind, err) == -1)
		goto out;
	if (hardlink != NULL) {
		if (unpack_check_hardlink(u, e, hardlink, err) == -1)
			goto out;
	} else if (kind == UNPACK_LINK) {
		target = archive_entry_symlink(e);
		if (target == NULL || *target == '\0') {
			unpack_refuse(u, err, "symlink without a target");
			goto out;
		}
		util_quote(q, sizeof(q), target, strlen(target));
		if (*target == '/') {
			unpack_refuse(u, err, "symlink target \"%s\" is "
			    "absolute", q);
			goto out;
		}
		if (!unpack_link_inside(path, target)) {
			unpack_refuse(u, err, "symlink target \"%s\" leads "
			    "outside the release dir", q);
			goto out;
		}
	}

	if (kind == UNPACK_DIR)
		archive_entry_set_perm(e, 0755);
	else if (kind == UNPACK_FILE)
		archive_entry_set_perm(e,
		    (archive_entry_perm(e) & 0111) != 0 ? 0755 : 0644);
	archive_entry_set_pathname(e, path);

	lim->entries++;
	if (kind == UNPACK_FILE && hardlink == NULL &&
	    (fd = unpack_prev_open(u, e, path)) != -1) {
		r = unpack_copy_or_link(u, e, path, fd, &linked, err);
		close(fd);
		if (r == -1)
			goto out;
		unpack_paths_set(&u->paths, path, strlen(path), kind);
		if (linked) {
			ret = 0;
			goto out;
		}
	} else {
		if (unpack_write_header(u, e, err) == -1)
			goto out;
		unpack_paths_set(&u->paths, path, strlen(path), kind);
		if (kind == UNPACK_FILE && unpack_copy(u, err) == -1)
			goto out;
	}
	r = archive_write_finish_entry(u->out);
	if (r == ARCHIVE_WARN)
		unpack_warn(u, u->out);
	else if (r != ARCHIVE_OK) {
		unpack_seterr(u, u->out, r, err);
		goto out;
	}
	ret = 0;
out:
	free(path);
	return ret;
}

/* is the current directory empty? (then every path in it is ours) */
static int
unpack_dir_empty(void)
{
	DIR		*d;
	struct dirent	*de;
	int		 empty = 1;

	if ((d = opendir(".")) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0) {
			empty = 0;
			break;
		}
	}
	closedir(d);
	return empty;
}

/*
 * Every filter libarchive decodes in-process, and every archive format but
 * mtree: an mtree "archive" describes files and libarchive reads their data
 * from the local file system, which would copy any file we can read into a
 * world-readable release.
 */
static void
unpack_support(struct archive *a)
{
	archive_read_support_filter_bzip2(a);
	archive_read_support_filter_compress(a);
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_lz4(a);
	archive_read_support_filter_lzip(a);
	archive_read_support_filter_lzma(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_zstd(a);

	archive_read_support_format_7zip(a);
	archive_read_support_format_ar(a);
	archive_read_support_format_cab(a);
	archive_read_support_format_cpio(a);
	archive_read_support_format_empty(a);
	archive_read_support_format_iso9660(a);
	archive_read_support_format_lha(a);
	archive_read_support_format_rar(a);
	archive_read_support_format_rar5(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_warc(a);
	archive_read_support_format_xar(a);
	archive_read_support_format_zip(a);
}

/*
 * gzip, the common case, is inflated by a thread of its own with ISA-L's
 * igzip (two to three times zlib's speed), while this thread parses the
 * tar stream and writes the files: on two cores the two overlap, as GNU
 * tar's gzip child does. The inflater fills a small ring of buffers and
 * waits when all are full, so memory stays at UNPACK_NBUF * UNPACK_BUFSIZE
 * whatever the archive's size. libarchive reads the ring through
 * archive_read_open callbacks and still detects the format and any filter
 * inside. Other compressions go to libarchive's own filters.
 */
#define UNPACK_NBUF	4
#define UNPACK_BUFSIZE	(256 * 1024)
#define UNPACK_INCHUNK	(1024 * 1024)	/* avail_in is 32 bits */

struct unpack_feed {
	const unsigned char	*src;
	size_t			 srclen;
	struct inflate_state	 st;
	pthread_t		 thread;
	int			 started;
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	unsigned char		*buf[UNPACK_NBUF];
	size_t			 fill[UNPACK_NBUF];
	unsigned		 produced;	/* buffers filled */
	unsigned		 consumed;	/* handed to libarchive */
	unsigned		 released;	/* and given back */
	int			 eof;		/* the inflater is done */
	int			 stop;		/* the reader is done */
	const char		*why;		/* the inflater's error */
};

static int
unpack_is_gzip(const void *buf, size_t len)
{
	const unsigned char	*p = buf;

	return len >= 3 && p[0] == 0x1f && p[1] == 0x8b && p[2] == 8;
}

static const char *
unpack_isal_why(int rc)
{
	switch (rc) {
	case ISAL_INVALID_WRAPPER:
	case ISAL_UNSUPPORTED_METHOD:
		return "gzip decompression failed: bad gzip header";
	case ISAL_INCORRECT_CHECKSUM:
		return "gzip decompression failed: checksum mismatch";
	default:
		return "gzip decompression failed: invalid compressed data";
	}
}

/*
 * Inflate into out until it is full or the input ends: *lenp bytes. The
 * members of a multi-member file follow one another; bytes after the last
 * member that do not start another are ignored, as gzip(1) does.
 */
static const char *
unpack_feed_inflate(struct unpack_feed *f, unsigned char *out, size_t *lenp,
    int *end)
{
	struct inflate_state	*st = &f->st;
	size_t			 off;
	int			 rc;

	*end = 0;
	st->next_out = out;
	st->avail_out = UNPACK_BUFSIZE;
	while (st->avail_out > 0) {
		off = (size_t)(st->next_in - f->src);
		if (st->avail_in == 0 && off < f->srclen)
			st->avail_in = f->srclen - off < UNPACK_INCHUNK ?
			    (uint32_t)(f->srclen - off) : UNPACK_INCHUNK;
		if ((rc = isal_inflate(st)) < 0)
			return unpack_isal_why(rc);
		off = (size_t)(st->next_in - f->src);
		if (st->block_state == ISAL_BLOCK_FINISH) {
			if (!unpack_is_gzip(st->next_in, f->srclen - off)) {
				*end = 1;
				break;
			}
			isal_inflate_reset(st);
			st->crc_flag = ISAL_GZIP;
			st->next_in = (uint8_t *)(uintptr_t)(f->src + off);
			st->avail_in = 0;
		} else if (st->avail_in == 0 && off == f->srclen &&
		    st->avail_out > 0)
			return "truncated gzip input";
	}
	*lenp = UNPACK_BUFSIZE - st->avail_out;
	return NULL;
}

static void *
unpack_feed_main(void *arg)
{
	struct unpack_feed	*f = arg;
	const char		*why;
	size_t			 len = 0;
	unsigned		 slot;
	int			 end;

	for (;;) {
		pthread_mutex_lock(&f->lock);
		while (f->produced - f->released == UNPACK_NBUF && !f->stop)
			pthread_cond_wait(&f->cond, &f->lock);
		if (f->stop) {
			pthread_mutex_unlock(&f->lock);
			return NULL;
		}
		slot = f->produced % UNPACK_NBUF;
		pthread_mutex_unlock(&f->lock);

		why = unpack_feed_inflate(f, f->buf[slot], &len, &end);

		pthread_mutex_lock(&f->lock);
		if (why == NULL && len > 0) {
			f->fill[slot] = len;
			f->produced++;
		}
		f->why = why;
		f->eof = why != NULL || end;
		pthread_cond_broadcast(&f->cond);
		pthread_mutex_unlock(&f->lock);
		if (f->eof)
			return NULL;
	}
}

static la_ssize_t
unpack_feed_read_cb(struct archive *a, void *arg, const void **out)
{
	struct unpack_feed	*f = arg;
	la_ssize_t		 n;
	unsigned		 slot;

	pthread_mutex_lock(&f->lock);
	/* libarchive is done with the buffer it had last */
	if (f->released != f->consumed) {
		f->released = f->consumed;
		pthread_cond_broadcast(&f->cond);
	}
	while (f->produced == f->consumed && !f->eof)
		pthread_cond_wait(&f->cond, &f->lock);
	if (f->produced != f->consumed) {
		slot = f->consumed++ % UNPACK_NBUF;
		*out = f->buf[slot];
		n = (la_ssize_t)f->fill[slot];
	} else if (f->why != NULL) {
		archive_set_error(a, EINVAL, "%s", f->why);
		n = ARCHIVE_FATAL;
	} else
		n = 0;
	pthread_mutex_unlock(&f->lock);
	return n;
}

static void
unpack_feed_free(struct unpack_feed *f)
{
	size_t	i;

	if (f == NULL)
		return;
	if (f->started) {
		pthread_mutex_lock(&f->lock);
		f->stop = 1;
		pthread_cond_broadcast(&f->cond);
		pthread_mutex_unlock(&f->lock);
		pthread_join(f->thread, NULL);
	}
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->cond);
	for (i = 0; i < UNPACK_NBUF; i++)
		free(f->buf[i]);
	free(f);
}

static struct unpack_feed *
unpack_feed_new(const void *buf, size_t len)
{
	struct unpack_feed	*f;
	size_t			 i;
	int			 rc;

	f = xcalloc(1, sizeof(*f));
	f->src = buf;
	f->srclen = len;
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	for (i = 0; i < UNPACK_NBUF; i++)
		f->buf[i] = xmalloc(UNPACK_BUFSIZE);
	isal_inflate_init(&f->st);
	f->st.crc_flag = ISAL_GZIP;
	f->st.next_in = (uint8_t *)(uintptr_t)f->src;
	f->st.avail_in = 0;
	if ((rc = pthread_create(&f->thread, NULL, unpack_feed_main, f)) != 0)
		fatalx("unpack.thread", "msg=\"%s\"", strerror(rc));
	f->started = 1;
	return f;
}

/*
 * archive_write_disk resolves names against the working directory, and
 * its SECURE checks only make sense for names relative to the release dir:
 * so the extraction runs with the release dir as cwd, restored before
 * returning. (gitstrap extracts from one thread at a time.)
 */
int
unpack_memory(const char *name, const void *buf, size_t len, const char *dir,
    const char *prev, int strip_components, struct unpack_limits *lim,
    struct gs_error *err)
{
	struct unpack		 u;
	struct unpack_feed	*feed = NULL;
	struct archive_entry	*e;
	int			 cwd = -1, r, ret = -1;

	memset(&u, 0, sizeof(u));
	u.name = name;
	u.strip = strip_components;
	u.lim = lim;
	u.prevfd = -1;
	u.paths.cap = 1024;
	u.paths.slots = xcalloc(u.paths.cap, sizeof(*u.paths.slots));

	/* a previous tree that is not there is no error: nothing is linked */
	if (prev != NULL && (u.prevfd = open(prev, O_PATH | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1 && errno != ENOENT &&
	    errno != ENOTDIR) {
		gs_error_sys(err, "%s: %s", name, prev);
		goto out;
	}
	if ((cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1) {
		gs_error_sys(err, "%s: open the working directory", name);
		goto out;
	}
	if (chdir(dir) == -1) {
		gs_error_sys(err, "%s: %s", name, dir);
		goto out;
	}
	u.fresh = unpack_dir_empty();

	if ((u.in = archive_read_new()) == NULL ||
	    (u.out = archive_write_disk_new()) == NULL)
		fatalx("unpack.nomem", "archive=\"%s\"", name);
	unpack_support(u.in);
	archive_write_disk_set_options(u.out, UNPACK_FLAGS);
	if (unpack_is_gzip(buf, len)) {
		feed = unpack_feed_new(buf, len);
		r = archive_read_open(u.in, feed, NULL, unpack_feed_read_cb,
		    NULL);
	} else
		r = archive_read_open_memory(u.in, buf, len);
	if (r != ARCHIVE_OK) {
		unpack_seterr(&u, u.in, r, err);
		goto out;
	}
	for (;;) {
		free(u.entry);
		u.entry = NULL;
		r = archive_read_next_header(u.in, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r == ARCHIVE_WARN)
			unpack_warn(&u, u.in);
		else if (r != ARCHIVE_OK) {
			unpack_seterr(&u, u.in, r, err);
			goto out;
		}
		if (archive_entry_pathname(e) != NULL)
			u.entry = xstrdup(archive_entry_pathname(e));
		else if (archive_entry_pathname_utf8(e) != NULL)
			u.entry = xstrdup(archive_entry_pathname_utf8(e));
		else
			u.entry = xstrdup("");
		util_quote(u.qentry, sizeof(u.qentry), u.entry,
		    strlen(u.entry));
		if (unpack_entry(&u, e, err) == -1)
			goto out;
	}
	free(u.entry);
	u.entry = NULL;
	/* sets the deferred directory times: still relative to dir */
	if ((r = archive_write_close(u.out)) != ARCHIVE_OK) {
		unpack_seterr(&u, u.out, r, err);
		goto out;
	}
	ret = 0;
out:
	/* closes too, on failure: still in dir, where its fixups belong */
	if (u.out != NULL)
		archive_write_free(u.out);
	if (u.in != NULL)
		archive_read_free(u.in);
	unpack_feed_free(feed);
	if (cwd != -1) {
		if (fchdir(cwd) == -1)
			fatal("unpack.chdir", "archive=\"%s\"", name);
		close(cwd);
	}
	if (u.prevfd != -1)
		close(u.prevfd);
	free(u.entry);
	free(u.cmp);
	unpack_paths_free(&u.paths);
	return ret;
}
