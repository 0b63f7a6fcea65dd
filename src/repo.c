/*
 * repo.c: everything libgit2.
 *
 * Each configured repository is mirrored into a bare repository in the
 * state dir. An update connects once, lists the remote's refs, and only
 * downloads when the wanted commit is not already here, so an unchanged
 * poll moves no objects. Credentials never live in a URL that libgit2 or
 * the on-disk config sees: they are handed over by the credential callback.
 */
#include "config.h"

#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <git2.h>
#include <libssh2.h>

#include "gitstrap.h"

#define REPO_FETCHED_REF	"refs/gitstrap/fetched"
#define REPO_MWINDOW_SIZE	(1024 * 1024)
#define REPO_MWINDOW_LIMIT	(2 * 1024 * 1024)
#define REPO_CONNECT_TIMEOUT_MS	30000
#define REPO_IO_TIMEOUT_MS	120000	/* no byte for 2 minutes: give up */

struct gs_repo {
	git_repository		*repo;
	const struct gs_repo_conf *conf;
	char			*what;		/* "data" or "service" */
	char			*url;		/* rewritten, without userinfo */
	char			*user;		/* from auth or the URL */
	char			*password;	/* resolved secret, or NULL */
	int			 depth;		/* effective depth */
	int			 cred_tries;
	char			 cred_err[256];	/* why the callback gave up */
	int			 progress;	/* stderr is a terminal */
	int64_t			 progress_at;
	char			 refname[256];	/* what the ref resolved to */
	char			 target[GS_HEXLEN + 1];	/* the object it names */
	char			 fresh[GS_HEXLEN + 1];	/* a self-contained pack
							   the last fetch wrote */
};

struct repo_blob {
	git_blob	*blob;
	char		 id[GS_HEXLEN + 1];
};

static int
repo_seterr(struct gs_error *err, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* turn libgit2's last error into ours, with context */
static int
repo_seterr(struct gs_error *err, int rc, const char *fmt, ...)
{
	const git_error	*e = git_error_last();
	char		 what[256];
	va_list		 ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return gs_error_set(err, GS_E_GIT, rc, "%s: %s", what,
	    e != NULL && e->message != NULL ? e->message :
	    "unknown libgit2 error");
}

int
repo_lib_init(void)
{
	if (git_libgit2_init() < 0)
		return -1;
	/*
	 * The deployment is what the config says, whoever runs it: no
	 * ~/.gitconfig or /etc/gitconfig (an insteadOf there could send a
	 * fetch elsewhere), and nothing to read in a home a dropped user
	 * cannot enter.
	 */
	if (git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_SYSTEM,
	    "") < 0 ||
	    git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_XDG,
	    "") < 0 ||
	    git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, GIT_CONFIG_LEVEL_GLOBAL,
	    "") < 0 ||
	    git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH,
	    GIT_CONFIG_LEVEL_PROGRAMDATA, "") < 0)
		return -1;
	/* a server that stops answering must not stall the loop forever */
	if (git_libgit2_opts(GIT_OPT_SET_SERVER_CONNECT_TIMEOUT,
	    REPO_CONNECT_TIMEOUT_MS) < 0 ||
	    git_libgit2_opts(GIT_OPT_SET_SERVER_TIMEOUT, REPO_IO_TIMEOUT_MS) < 0)
		return -1;
	/*
	 * Packs are read through small mapped windows, a few at a time: by
	 * default libgit2 maps a whole pack (1 GiB windows), so reading a
	 * 40 MB archive out of it kept the pack's pages in memory beside the
	 * archive itself, doubling the peak.
	 */
	if (git_libgit2_opts(GIT_OPT_SET_MWINDOW_SIZE,
	    (size_t)REPO_MWINDOW_SIZE) < 0 ||
	    git_libgit2_opts(GIT_OPT_SET_MWINDOW_MAPPED_LIMIT,
	    (size_t)REPO_MWINDOW_LIMIT) < 0)
		return -1;
	/*
	 * An object is hashed once, when its pack arrives (the indexer
	 * names every object by its hash), not again each time it is read
	 * from the mirror, as git itself does: re-hashing the archive cost
	 * a second SHA-1 over tens of MB between fetch and unpack.
	 */
	if (git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 0) < 0)
		return -1;
	return 0;
}

/* transport.ca_file, NULL for the environment's or the library's CAs */
static char	*repo_ca_file;
/* "file\ndir" as last handed to libgit2 */
static char	*repo_ca_applied;
/*
 * The service and the data are fetched at once at boot: the CAs are
 * handed over by whichever connects first, before either connects.
 */
static pthread_mutex_t	repo_ca_lock = PTHREAD_MUTEX_INITIALIZER;

int
repo_set_ca_file(const char *file, struct gs_error *err)
{
	if (file != NULL && access(file, R_OK) == -1)
		return gs_error_sys(err, "transport.ca_file %s", file);
	free(repo_ca_file);
	repo_ca_file = file != NULL ? xstrdup(file) : NULL;
	return 0;
}

/*
 * Hand the CAs to libgit2 before the first https:// connection, not at
 * start: its TLS library parses every certificate when told where they
 * are, about 1.5 MiB of heap for a system bundle and directory, which a
 * loop polling over ssh://, git:// or http:// never needs. The config's
 * ca_file has the last word; else SSL_CERT_FILE and SSL_CERT_DIR, which
 * libcurl (through OpenSSL) honours and libgit2 may be built on a TLS
 * library that does not, so that both trust the same CAs.
 */
static int
repo_tls_trust(struct gs_repo *r, struct gs_error *err)
{
	const char	*file = repo_ca_file, *dir = NULL;
	char		*want;
	int		 rc;

	if (strncasecmp(r->url, "https://", 8) != 0)
		return 0;
	if (file == NULL) {
		file = getenv("SSL_CERT_FILE");
		dir = getenv("SSL_CERT_DIR");
		if (file != NULL && *file == '\0')
			file = NULL;
		if (dir != NULL && *dir == '\0')
			dir = NULL;
	}
	if (file == NULL && dir == NULL)
		return 0;
	xasprintf(&want, "%s\n%s", file != NULL ? file : "",
	    dir != NULL ? dir : "");
	pthread_mutex_lock(&repo_ca_lock);
	if (repo_ca_applied != NULL && strcmp(repo_ca_applied, want) == 0)
		rc = 0;
	else if ((rc = git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, file,
	    dir)) < 0)
		repo_seterr(err, rc, "%s: CA certificates %s%s%s", r->what,
		    file != NULL ? file : "", file != NULL && dir != NULL ?
		    ", " : "", dir != NULL ? dir : "");
	else {
		free(repo_ca_applied);
		repo_ca_applied = want;
		want = NULL;
	}
	pthread_mutex_unlock(&repo_ca_lock);
	free(want);
	return rc < 0 ? -1 : 0;
}

void
repo_lib_shutdown(void)
{
	free(repo_ca_file);
	free(repo_ca_applied);
	repo_ca_file = repo_ca_applied = NULL;
	git_libgit2_shutdown();
}

const char *
repo_lib_version(void)
{
	static char	buf[32];
	int		major, minor, rev;

	git_libgit2_version(&major, &minor, &rev);
	snprintf(buf, sizeof(buf), "%d.%d.%d", major, minor, rev);
	return buf;
}

char *
repo_rewrite_url(const char *url)
{
	static const char	from[] = "git://github.com/";
	char			*out;

	if (strncmp(url, from, sizeof(from) - 1) != 0)
		return NULL;
	xasprintf(&out, "https://github.com/%s", url + sizeof(from) - 1);
	return out;
}

int
repo_ref_is_commit(const char *ref)
{
	return util_is_hex_id(ref);
}

int
repo_shallow_ok(const char *url, const char **why)
{
	int	major, minor, rev;

	if (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0)
		return 1;
	if (strstr(url, "://") == NULL && strchr(url, ':') == NULL) {
		*why = "local repositories have no shallow support in libgit2";
		return 0;
	}
	if (strncmp(url, "file://", 7) == 0) {
		*why = "local repositories have no shallow support in libgit2";
		return 0;
	}
	/* git:// and ssh:// (including scp-like user@host:path) */
	git_libgit2_version(&major, &minor, &rev);
	if (major > 1 || (major == 1 && minor >= 9))
		return 1;
	*why = "libgit2 before 1.9 breaks shallow fetch over git:// and ssh://";
	return 0;
}

static void
repo_progress_line(struct gs_repo *r, const git_indexer_progress *p, int last)
{
	fprintf(stderr, "\r%s: objects %u/%u (%.1f MiB), deltas %u/%u%s",
	    r->what, p->received_objects, p->total_objects,
	    (double)p->received_bytes / (1024.0 * 1024.0),
	    p->indexed_deltas, p->total_deltas, last ? "\n" : "");
}

static int
repo_progress_cb(const git_indexer_progress *p, void *arg)
{
	struct gs_repo	*r = arg;
	int64_t		 now;

	if (!r->progress)
		return 0;
	now = util_now_ms();
	if (now - r->progress_at < 100 && p->received_objects != p->total_objects)
		return 0;
	r->progress_at = now;
	repo_progress_line(r, p, p->total_objects != 0 &&
	    p->indexed_objects == p->total_objects &&
	    p->indexed_deltas == p->total_deltas);
	return 0;
}

static int
repo_cred_cb(git_credential **out, const char *url, const char *url_user,
    unsigned int allowed, void *arg)
{
	struct gs_repo		*r = arg;
	const struct gs_auth	*a = &r->conf->auth;
	const char		*user;

	(void)url;
	log_debug("repo.credentials", "repo=%s allowed=0x%x try=%d", r->what,
	    allowed, r->cred_tries + 1);
	/* over SSH the user name comes first, on its own: not a try */
	if (allowed == GIT_CREDENTIAL_USERNAME) {
		user = r->user != NULL ? r->user :
		    url_user != NULL ? url_user : "git";
		return git_credential_username_new(out, user);
	}
	/* libgit2 asks again after a rejection: once is enough */
	if (++r->cred_tries > 1) {
		snprintf(r->cred_err, sizeof(r->cred_err),
		    "authentication failed (credentials rejected)");
		return GIT_EUSER;
	}
	if ((allowed & GIT_CREDENTIAL_SSH_KEY) && a->ssh_key != NULL) {
		char	*pub;
		int	 rc;

		user = r->user != NULL ? r->user :
		    url_user != NULL ? url_user : "git";
		/* libssh2 cannot always derive the public key: give it */
		xasprintf(&pub, "%s.pub", a->ssh_key);
		rc = git_credential_ssh_key_new(out, user,
		    util_exists(pub) ? pub : NULL, a->ssh_key, NULL);
		free(pub);
		return rc;
	}
	if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) &&
	    r->password != NULL) {
		/* a bare token works with any user name on common hosts */
		user = r->user != NULL ? r->user : "git";
		return git_credential_userpass_plaintext_new(out, user,
		    r->password);
	}
	if (allowed & GIT_CREDENTIAL_USERNAME) {
		user = r->user != NULL ? r->user :
		    url_user != NULL ? url_user : "git";
		return git_credential_username_new(out, user);
	}
	snprintf(r->cred_err, sizeof(r->cred_err), "authentication required, "
	    "but no credentials are configured (%s.auth)", r->what);
	return GIT_EUSER;
}

/* the port of ssh://[user@]host:port/path, or -1 (default) */
static int
repo_url_port(const char *url)
{
	const char	*p, *at, *end;
	long		 port;
	char		*e;

	if ((p = strstr(url, "://")) == NULL)
		return -1;
	p += 3;
	end = p + strcspn(p, "/");
	if ((at = memchr(p, '@', (size_t)(end - p))) != NULL)
		p = at + 1;
	if (*p == '[' && (p = memchr(p, ']', (size_t)(end - p))) == NULL)
		return -1;
	if ((p = memchr(p, ':', (size_t)(end - p))) == NULL)
		return -1;
	port = strtol(p + 1, &e, 10);
	return e == end && port > 0 && port < 65536 ? (int)port : -1;
}

static int
repo_knownhost_type(git_cert_ssh_raw_type_t t)
{
	switch (t) {
	case GIT_CERT_SSH_RAW_TYPE_RSA:
		return LIBSSH2_KNOWNHOST_KEY_SSHRSA;
	case GIT_CERT_SSH_RAW_TYPE_DSS:
		return LIBSSH2_KNOWNHOST_KEY_SSHDSS;
	case GIT_CERT_SSH_RAW_TYPE_KEY_ECDSA_256:
		return LIBSSH2_KNOWNHOST_KEY_ECDSA_256;
	case GIT_CERT_SSH_RAW_TYPE_KEY_ECDSA_384:
		return LIBSSH2_KNOWNHOST_KEY_ECDSA_384;
	case GIT_CERT_SSH_RAW_TYPE_KEY_ECDSA_521:
		return LIBSSH2_KNOWNHOST_KEY_ECDSA_521;
	case GIT_CERT_SSH_RAW_TYPE_KEY_ED25519:
		return LIBSSH2_KNOWNHOST_KEY_ED25519;
	default:
		return LIBSSH2_KNOWNHOST_KEY_UNKNOWN;
	}
}

/* strict host key checking against the configured known_hosts file */
static int
repo_check_hostkey(struct gs_repo *r, const git_cert_hostkey *hk,
    const char *host)
{
	LIBSSH2_SESSION		*s = NULL;
	LIBSSH2_KNOWNHOSTS	*kh = NULL;
	struct libssh2_knownhost *found;
	const char		*file = r->conf->auth.ssh_known_hosts;
	int			 rc, ret = GIT_ECERTIFICATE;

	if (!(hk->type & GIT_CERT_SSH_RAW)) {
		snprintf(r->cred_err, sizeof(r->cred_err),
		    "host key of %s: not available for checking", host);
		return GIT_ECERTIFICATE;
	}
	if ((s = libssh2_session_init()) == NULL ||
	    (kh = libssh2_knownhost_init(s)) == NULL) {
		snprintf(r->cred_err, sizeof(r->cred_err),
		    "host key of %s: cannot initialise libssh2", host);
		goto out;
	}
	if (libssh2_knownhost_readfile(kh, file,
	    LIBSSH2_KNOWNHOST_FILE_OPENSSH) < 0) {
		snprintf(r->cred_err, sizeof(r->cred_err),
		    "cannot read known_hosts file %s", file);
		goto out;
	}
	rc = libssh2_knownhost_checkp(kh, host, repo_url_port(r->url),
	    hk->hostkey, hk->hostkey_len, LIBSSH2_KNOWNHOST_TYPE_PLAIN |
	    LIBSSH2_KNOWNHOST_KEYENC_RAW | repo_knownhost_type(hk->raw_type),
	    &found);
	switch (rc) {
	case LIBSSH2_KNOWNHOST_CHECK_MATCH:
		ret = 0;
		break;
	case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
		snprintf(r->cred_err, sizeof(r->cred_err), "host key of %s "
		    "does not match %s: possible man-in-the-middle", host, file);
		break;
	case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
		snprintf(r->cred_err, sizeof(r->cred_err),
		    "host %s is not in %s (strict host key checking)", host,
		    file);
		break;
	default:
		snprintf(r->cred_err, sizeof(r->cred_err),
		    "host key of %s: check failed", host);
	}
out:
	if (kh != NULL)
		libssh2_knownhost_free(kh);
	if (s != NULL)
		libssh2_session_free(s);
	return ret;
}

static int
repo_cert_cb(git_cert *cert, int valid, const char *host, void *arg)
{
	struct gs_repo	*r = arg;

	if (cert->cert_type == GIT_CERT_HOSTKEY_LIBSSH2 &&
	    r->conf->auth.ssh_known_hosts != NULL)
		return repo_check_hostkey(r, (const git_cert_hostkey *)cert,
		    host);
	/*
	 * Everything else gets libgit2's own verification: TLS against the
	 * system CA store, SSH against ~/.ssh/known_hosts. Never skipped.
	 */
	(void)valid;
	return GIT_PASSTHROUGH;
}

static void
repo_callbacks(struct gs_repo *r, git_remote_callbacks *cb)
{
	git_remote_init_callbacks(cb, GIT_REMOTE_CALLBACKS_VERSION);
	cb->credentials = repo_cred_cb;
	cb->certificate_check = repo_cert_cb;
	cb->transfer_progress = repo_progress_cb;
	cb->payload = r;
}

/* an error from a network operation: prefer what our callbacks said */
static int
repo_neterr(struct gs_repo *r, struct gs_error *err, int rc, const char *op)
{
	if (r->cred_err[0] != '\0')
		return gs_error_set(err, GS_E_GIT, rc, "%s: %s %s: %s", r->what,
		    op, r->url, r->cred_err);
	return repo_seterr(err, rc, "%s: %s %s", r->what, op, r->url);
}

static int
repo_resolve_secrets(struct gs_repo *r, struct gs_error *err)
{
	const struct gs_auth	*a = &r->conf->auth;
	char			*uuser = NULL, *upass = NULL;
	const char		*env;

	util_url_userinfo(r->conf->url, &uuser, &upass);
	if (a->username != NULL)
		r->user = xstrdup(a->username);
	else if (uuser != NULL)
		r->user = xstrdup(uuser);
	if (a->password_file != NULL) {
		if (util_read_secret(a->password_file, &r->password, err)
		    == -1) {
			gs_error_prefix(err, "%s.auth.password_file", r->what);
			free(uuser);
			free(upass);
			return -1;
		}
	} else if (a->password_env != NULL) {
		if ((env = getenv(a->password_env)) == NULL) {
			free(uuser);
			free(upass);
			return gs_error_set(err, GS_E_RUNTIME, 0,
			    "%s.auth.password_env: %s is not set", r->what,
			    a->password_env);
		}
		r->password = xstrdup(env);
	} else if (a->password != NULL)
		r->password = xstrdup(a->password);
	else if (upass != NULL)
		r->password = xstrdup(upass);
	if (r->password != NULL)
		log_add_secret(r->password);
	if (upass != NULL)
		log_add_secret(upass);
	free(uuser);
	free(upass);
	return 0;
}

int
repo_open(struct gs_repo **out, const char *gitdir,
    const struct gs_repo_conf *conf, const char *what, struct gs_error *err)
{
	struct gs_repo	*r;
	char		*rewritten, *safe;
	const char	*why;
	int		 rc;

	*out = NULL;
	r = xcalloc(1, sizeof(*r));
	r->conf = conf;
	r->what = xstrdup(what);
	r->progress = isatty(STDERR_FILENO);
	safe = util_redact_url(conf->url);
	if ((rewritten = repo_rewrite_url(safe)) != NULL) {
		log_info("repo.rewrite", "repo=%s from=%s to=%s "
		    "reason=\"GitHub no longer serves git://\"", what, safe,
		    rewritten);
		free(safe);
		safe = rewritten;
	}
	r->url = safe;
	r->depth = conf->depth;
	if (r->depth > 0 && !repo_shallow_ok(r->url, &why)) {
		log_info("repo.full_history", "repo=%s url=%s depth=%d "
		    "reason=\"%s\"", what, r->url, conf->depth, why);
		r->depth = 0;
	}
	if (repo_resolve_secrets(r, err) == -1)
		goto fail;

	if (util_mkdir_p(gitdir, 0700, err) == -1)
		goto fail;
	rc = git_repository_open_bare(&r->repo, gitdir);
	if (rc == GIT_ENOTFOUND)
		rc = git_repository_init(&r->repo, gitdir, 1);
	if (rc < 0) {
		repo_seterr(err, rc, "%s: open %s", what, gitdir);
		goto fail;
	}
	*out = r;
	return 0;
fail:
	repo_free(r);
	return -1;
}

void
repo_free(struct gs_repo *r)
{
	if (r == NULL)
		return;
	git_repository_free(r->repo);
	if (r->password != NULL) {
		explicit_bzero(r->password, strlen(r->password));
		free(r->password);
	}
	free(r->user);
	free(r->url);
	free(r->what);
	free(r);
}

/* which advertised ref the configured name means (git's DWIM order) */
static const git_remote_head *
repo_match_head(const git_remote_head **heads, size_t n, const char *ref,
    const git_remote_head **peeled)
{
	static const char	*rules[] = { "", "refs/", "refs/tags/",
	    "refs/heads/" };
	const git_remote_head	*h = NULL;
	char			 name[512], pname[520];
	size_t			 i, j;

	*peeled = NULL;
	for (j = 0; j < sizeof(rules) / sizeof(*rules) && h == NULL; j++) {
		if (j == 0 && strcmp(ref, "HEAD") != 0 &&
		    strncmp(ref, "refs/", 5) != 0)
			continue;
		snprintf(name, sizeof(name), "%s%s", rules[j], ref);
		for (i = 0; i < n; i++)
			if (strcmp(heads[i]->name, name) == 0) {
				h = heads[i];
				break;
			}
	}
	if (h == NULL)
		return NULL;
	snprintf(pname, sizeof(pname), "%s^{}", h->name);
	for (i = 0; i < n; i++)
		if (strcmp(heads[i]->name, pname) == 0)
			*peeled = heads[i];
	return h;
}

static int
repo_connect(struct gs_repo *r, git_remote **out, struct gs_error *err)
{
	git_remote_callbacks	cb;
	int			rc;

	*out = NULL;
	r->cred_tries = 0;
	r->cred_err[0] = '\0';
	repo_callbacks(r, &cb);
	if (repo_tls_trust(r, err) == -1)
		return -1;
	if ((rc = git_remote_create_anonymous(out, r->repo, r->url)) < 0)
		return repo_seterr(err, rc, "%s: remote %s", r->what, r->url);
	if ((rc = git_remote_connect(*out, GIT_DIRECTION_FETCH, &cb, NULL,
	    NULL)) < 0) {
		repo_neterr(r, err, rc, "connect to");
		git_remote_free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

static int
repo_ls(struct gs_repo *r, git_remote *remote, struct repo_remote_ref *out,
    struct gs_error *err)
{
	const git_remote_head	**heads, *h, *peeled;
	size_t			  n;
	int			  rc;

	memset(out, 0, sizeof(*out));
	if ((rc = git_remote_ls(&heads, &n, remote)) < 0)
		return repo_neterr(r, err, rc, "list refs of");
	if ((h = repo_match_head(heads, n, r->conf->ref, &peeled)) == NULL)
		return gs_error_set(err, GS_E_GIT, GIT_ENOTFOUND,
		    "%s: %s: ref \"%s\" not found", r->what, r->url,
		    r->conf->ref);
	if (strcmp(h->name, "HEAD") == 0 && h->symref_target != NULL)
		snprintf(out->name, sizeof(out->name), "%s", h->symref_target);
	else
		snprintf(out->name, sizeof(out->name), "%s", h->name);
	git_oid_tostr(out->oid, sizeof(out->oid), &h->oid);
	if (peeled != NULL)
		git_oid_tostr(out->commit, sizeof(out->commit), &peeled->oid);
	else if (strncmp(h->name, "refs/tags/", 10) != 0)
		git_oid_tostr(out->commit, sizeof(out->commit), &h->oid);
	return 0;
}

int
repo_ls_remote(struct gs_repo *r, struct repo_remote_ref *out,
    struct gs_error *err)
{
	git_remote	*remote = NULL;
	int		 ret;

	if (repo_connect(r, &remote, err) == -1)
		return -1;
	ret = repo_ls(r, remote, out, err);
	git_remote_disconnect(remote);
	git_remote_free(remote);
	return ret;
}

/* the commit an object id names (peeling tags), if present locally */
static int
repo_peel_commit(struct gs_repo *r, const char *hex, char out[GS_HEXLEN + 1])
{
	git_oid		 oid;
	git_object	*obj = NULL, *commit = NULL;
	int		 rc;

	if (git_oid_fromstr(&oid, hex) < 0)
		return -1;
	if ((rc = git_object_lookup(&obj, r->repo, &oid, GIT_OBJECT_ANY)) < 0)
		return -1;
	rc = git_object_peel(&commit, obj, GIT_OBJECT_COMMIT);
	git_object_free(obj);
	if (rc < 0)
		return -1;
	git_oid_tostr(out, GS_HEXLEN + 1, git_object_id(commit));
	git_object_free(commit);
	return 0;
}

static int
repo_download(struct gs_repo *r, git_remote *remote, char **specs,
    size_t nspecs, int depth, struct gs_error *err)
{
	git_fetch_options	 fo;
	git_strarray		 arr = { specs, nspecs };
	int			 rc;

	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	repo_callbacks(r, &fo.callbacks);
	fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	fo.update_fetchhead = 0;
	fo.depth = depth;
	if ((rc = git_remote_download(remote, &arr, &fo)) < 0)
		return repo_neterr(r, err, rc, "fetch from");
	if ((rc = git_remote_update_tips(remote, &fo.callbacks, 0,
	    GIT_REMOTE_DOWNLOAD_TAGS_NONE, "gitstrap fetch")) < 0)
		return repo_seterr(err, rc, "%s: update refs", r->what);
	return 0;
}

/* a pinned commit id: use it when present, else fetch everything */
static int
repo_update_pinned(struct gs_repo *r, char out[GS_HEXLEN + 1], int *fetched,
    struct gs_error *err)
{
	git_remote	*remote = NULL;
	char		*specs[] = { "+refs/heads/*:refs/gitstrap/heads/*",
	    "+refs/tags/*:refs/gitstrap/tags/*" };
	int		 ret = -1;

	snprintf(r->refname, sizeof(r->refname), "%s", r->conf->ref);
	snprintf(r->target, sizeof(r->target), "%s", r->conf->ref);
	if (repo_peel_commit(r, r->conf->ref, out) == 0)
		return 0;
	if (repo_connect(r, &remote, err) == -1)
		return -1;
	/* servers do not hand out unadvertised commits: fetch full history */
	if (repo_download(r, remote, specs, 2, 0, err) == -1)
		goto out;
	*fetched = 1;
	if (repo_peel_commit(r, r->conf->ref, out) == -1) {
		gs_error_set(err, GS_E_GIT, GIT_ENOTFOUND, "%s: %s: commit %s "
		    "not found on any branch or tag", r->what, r->url,
		    r->conf->ref);
		goto out;
	}
	ret = 0;
out:
	git_remote_disconnect(remote);
	git_remote_free(remote);
	return ret;
}

/* the names of the packs in the mirror ("pack-<hash>.pack") */
static int
repo_packs(struct gs_repo *r, struct gs_strlist *out, struct gs_error *err)
{
	DIR		*d;
	struct dirent	*de;
	char		*packdir;
	size_t		 len;

	xasprintf(&packdir, "%s/objects/pack", git_repository_path(r->repo));
	if ((d = opendir(packdir)) == NULL) {
		gs_error_sys(err, "%s", packdir);
		free(packdir);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (strncmp(de->d_name, "pack-", 5) == 0 && len > 10 &&
		    strcmp(de->d_name + len - 5, ".pack") == 0)
			strlist_add(out, de->d_name);
	}
	closedir(d);
	free(packdir);
	return 0;
}

/*
 * A shallow fetch asks as a new clone would: with no ref in the mirror
 * there is nothing to offer as "have", so the server sends the commit
 * whole instead of a thin pack of deltas against the previous archive.
 * Deltas between two compressed archives save next to nothing and cost
 * the server a delta search and the client a resolve over both archives;
 * and the new pack holds all the mirror needs, so the old ones can just be
 * deleted (repo_gc). A crash in between is safe: the mirror is marked busy
 * around updates and dropped at start when the mark is left.
 */
static int
repo_drop_refs(struct gs_repo *r, struct gs_error *err)
{
	git_reference_iterator	*it = NULL;
	git_reference		*ref;
	int			 rc;

	if ((rc = git_reference_iterator_glob_new(&it, r->repo,
	    "refs/*")) < 0)
		return repo_seterr(err, rc, "%s: refs", r->what);
	while ((rc = git_reference_next(&ref, it)) == 0) {
		rc = git_reference_delete(ref);
		git_reference_free(ref);
		if (rc < 0)
			break;
	}
	git_reference_iterator_free(it);
	if (rc < 0 && rc != GIT_ITEROVER)
		return repo_seterr(err, rc, "%s: drop refs", r->what);
	return 0;
}

/* the one pack in after that is not in before, else "" */
static void
repo_new_pack(const struct gs_strlist *before, const struct gs_strlist *after,
    char out[GS_HEXLEN + 1])
{
	size_t	i, j, found = 0;

	out[0] = '\0';
	for (i = 0; i < after->n; i++) {
		for (j = 0; j < before->n; j++)
			if (strcmp(after->v[i], before->v[j]) == 0)
				break;
		if (j < before->n)
			continue;
		if (found++ == 0 && strlen(after->v[i]) == 5 + GS_HEXLEN + 5)
			snprintf(out, GS_HEXLEN + 1, "%s", after->v[i] + 5);
	}
	if (found != 1)
		out[0] = '\0';
}

int
repo_update(struct gs_repo *r, char out[GS_HEXLEN + 1], int *fetched,
    struct gs_error *err)
{
	struct gs_strlist	 before = { NULL, 0 }, after = { NULL, 0 };
	git_remote		*remote = NULL;
	struct repo_remote_ref	 rr;
	git_reference		*ref = NULL;
	char			*spec = NULL, fetched_oid[GS_HEXLEN + 1];
	int			 rc, ret = -1;

	*fetched = 0;
	if (repo_ref_is_commit(r->conf->ref))
		return repo_update_pinned(r, out, fetched, err);
	if (repo_connect(r, &remote, err) == -1)
		return -1;
	if (repo_ls(r, remote, &rr, err) == -1)
		goto out;
	snprintf(r->refname, sizeof(r->refname), "%s", rr.name);
	snprintf(r->target, sizeof(r->target), "%s", rr.oid);
	/* already here (an unchanged poll, or a reboot): no transfer */
	if (repo_peel_commit(r, rr.oid, out) == 0) {
		ret = 0;
		goto out;
	}
	xasprintf(&spec, "+%s:%s", rr.name, REPO_FETCHED_REF);
	r->fresh[0] = '\0';
	if (r->depth > 0 && (repo_packs(r, &before, err) == -1 ||
	    repo_drop_refs(r, err) == -1))
		goto out;
	if (repo_download(r, remote, &spec, 1, r->depth, err) == -1)
		goto out;
	*fetched = 1;
	if (r->depth > 0 && repo_packs(r, &after, err) == 0)
		repo_new_pack(&before, &after, r->fresh);
	if ((rc = git_reference_lookup(&ref, r->repo, REPO_FETCHED_REF)) < 0) {
		repo_seterr(err, rc, "%s: %s: ref %s", r->what, r->url,
		    rr.name);
		goto out;
	}
	git_oid_tostr(fetched_oid, sizeof(fetched_oid),
	    git_reference_target(ref));
	snprintf(r->target, sizeof(r->target), "%s", fetched_oid);
	if (repo_peel_commit(r, fetched_oid, out) == -1) {
		repo_seterr(err, -1, "%s: %s: ref %s does not name a commit",
		    r->what, r->url, rr.name);
		goto out;
	}
	ret = 0;
out:
	strlist_free(&before);
	strlist_free(&after);
	git_reference_free(ref);
	free(spec);
	if (remote != NULL) {
		git_remote_disconnect(remote);
		git_remote_free(remote);
	}
	return ret;
}

/* ---- signatures: what was signed, for verify.c to check ---- */

static int
repo_sig_start(const char *line, size_t len)
{
	static const char *const begin[] = {
		"-----BEGIN PGP SIGNATURE-----",
		"-----BEGIN PGP MESSAGE-----",
		"-----BEGIN SSH SIGNATURE-----",
		"-----BEGIN SIGNED MESSAGE-----",
		NULL
	};
	const char *const	*b;

	for (b = begin; *b != NULL; b++)
		if (len >= strlen(*b) && memcmp(line, *b, strlen(*b)) == 0)
			return 1;
	return 0;
}

/*
 * Where the signature block of a tag starts: at the last line that opens
 * one, as git reads it. Everything before it is what was signed. len when
 * there is none.
 */
size_t
repo_sig_offset(const char *buf, size_t len)
{
	const char	*eol;
	size_t		 off = 0, match = len;

	while (off < len) {
		if (repo_sig_start(buf + off, len - off))
			match = off;
		if ((eol = memchr(buf + off, '\n', len - off)) == NULL)
			break;
		off = (size_t)(eol - buf) + 1;
	}
	return match;
}

static void
repo_signed_take(struct repo_signed *out, const char *sig, size_t siglen,
    const char *payload, size_t len)
{
	out->sig = xmalloc(siglen + 1);
	memcpy(out->sig, sig, siglen);
	out->sig[siglen] = '\0';
	out->siglen = siglen;
	out->payload = xmalloc(len + 1);
	memcpy(out->payload, payload, len);
	out->payload[len] = '\0';
	out->len = len;
}

int
repo_commit_signed(struct repo_signed *out, struct gs_repo *r,
    const char *commit, struct gs_error *err)
{
	git_buf	 sig = GIT_BUF_INIT, data = GIT_BUF_INIT;
	git_oid	 oid;
	int	 rc;

	memset(out, 0, sizeof(*out));
	snprintf(out->object, sizeof(out->object), "%s", commit);
	if ((rc = git_oid_fromstr(&oid, commit)) < 0)
		return repo_seterr(err, rc, "commit %s", commit);
	rc = git_commit_extract_signature(&sig, &data, r->repo, &oid, NULL);
	if (rc == GIT_ENOTFOUND)
		return 0;		/* present (just fetched): unsigned */
	if (rc < 0)
		return repo_seterr(err, rc, "commit %s", commit);
	repo_signed_take(out, sig.ptr, sig.size, data.ptr, data.size);
	git_buf_dispose(&sig);
	git_buf_dispose(&data);
	return 0;
}

int
repo_tag_signed(struct repo_signed *out, struct gs_repo *r,
    const char *commit, struct gs_error *err)
{
	git_odb		*odb = NULL;
	git_odb_object	*obj = NULL;
	git_tag		*tag = NULL;
	git_oid		 oid;
	const char	*buf;
	char		 target[GS_HEXLEN + 1];
	size_t		 len, off;
	int		 rc, ret = -1;

	memset(out, 0, sizeof(*out));
	snprintf(out->object, sizeof(out->object), "%s", r->target);
	snprintf(out->refname, sizeof(out->refname), "%s", r->refname);
	if ((rc = git_oid_fromstr(&oid, r->target)) < 0 ||
	    (rc = git_repository_odb(&odb, r->repo)) < 0 ||
	    (rc = git_odb_read(&obj, odb, &oid)) < 0) {
		repo_seterr(err, rc, "ref %s", r->refname);
		goto out;
	}
	if (git_odb_object_type(obj) != GIT_OBJECT_TAG) {
		gs_error_set(err, GS_E_RUNTIME, 0, "ref \"%s\" (%s) is not an "
		    "annotated tag, as verify.mode tag needs", r->conf->ref,
		    r->refname);
		goto out;
	}
	if ((rc = git_tag_lookup(&tag, r->repo, &oid)) < 0) {
		repo_seterr(err, rc, "tag %s", r->refname);
		goto out;
	}
	git_oid_tostr(target, sizeof(target), git_tag_target_id(tag));
	if (strcmp(target, commit) != 0) {
		gs_error_set(err, GS_E_RUNTIME, 0, "tag %s points at %s, not "
		    "at the deployed commit %s", r->refname, target, commit);
		goto out;
	}
	buf = git_odb_object_data(obj);
	len = git_odb_object_size(obj);
	off = repo_sig_offset(buf, len);
	if (off < len)
		repo_signed_take(out, buf + off, len - off, buf, off);
	ret = 0;
out:
	git_tag_free(tag);
	git_odb_object_free(obj);
	git_odb_free(odb);
	return ret;
}

void
repo_signed_free(struct repo_signed *s)
{
	free(s->sig);
	free(s->payload);
	s->sig = s->payload = NULL;
}

/* ---- tree export ---- */

struct repo_export {
	struct gs_repo	*r;
	const char	*dir;
	uint64_t	 max_bytes, max_entries, bytes, entries;
	struct gs_error	*err;
	int		 failed;
};

static int
repo_write_blob(struct repo_export *x, const char *path, const git_oid *id,
    git_filemode_t mode)
{
	git_blob	*blob = NULL;
	const char	*p;
	size_t		 len;
	ssize_t		 n;
	int		 fd = -1, rc, ret = -1;

	if ((rc = git_blob_lookup(&blob, x->r->repo, id)) < 0) {
		repo_seterr(x->err, rc, "%s: blob %s", x->r->what, path);
		goto out;
	}
	p = git_blob_rawcontent(blob);
	len = (size_t)git_blob_rawsize(blob);
	if ((x->bytes += len) > x->max_bytes) {
		gs_error_set(x->err, GS_E_RUNTIME, 0, "%s: tree is over the "
		    "limit of %llu bytes (limits.max_bytes)", x->r->what,
		    (unsigned long long)x->max_bytes);
		goto out;
	}
	if (mode == GIT_FILEMODE_LINK) {
		char *target = xstrndup(p, len);

		if (!unpack_link_inside(path + strlen(x->dir) + 1, target)) {
			gs_error_set(x->err, GS_E_RUNTIME, 0, "%s: symlink "
			    "\"%s\" -> \"%s\" points outside the tree",
			    x->r->what, path + strlen(x->dir) + 1, target);
			free(target);
			goto out;
		}
		rc = symlink(target, path);
		free(target);
		if (rc == -1) {
			gs_error_sys(x->err, "symlink %s", path);
			goto out;
		}
		ret = 0;
		goto out;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    mode == GIT_FILEMODE_BLOB_EXECUTABLE ? 0755 : 0644);
	if (fd == -1) {
		gs_error_sys(x->err, "create %s", path);
		goto out;
	}
	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			gs_error_sys(x->err, "write %s", path);
			goto out;
		}
		p += n;
		len -= (size_t)n;
	}
	ret = 0;
out:
	if (fd != -1 && close(fd) == -1 && ret == 0)
		ret = gs_error_sys(x->err, "close %s", path);
	git_blob_free(blob);
	return ret;
}

static int
repo_export_cb(const char *root, const git_tree_entry *e, void *arg)
{
	struct repo_export	*x = arg;
	char			*path;
	int			 ret = 0;

	if (++x->entries > x->max_entries) {
		gs_error_set(x->err, GS_E_RUNTIME, 0, "%s: tree has more than "
		    "%llu entries (limits.max_entries)", x->r->what,
		    (unsigned long long)x->max_entries);
		x->failed = 1;
		return -1;
	}
	xasprintf(&path, "%s/%s%s", x->dir, root, git_tree_entry_name(e));
	switch (git_tree_entry_type(e)) {
	case GIT_OBJECT_TREE:
		if (mkdir(path, 0755) == -1) {
			gs_error_sys(x->err, "mkdir %s", path);
			ret = -1;
		}
		break;
	case GIT_OBJECT_BLOB:
		ret = repo_write_blob(x, path, git_tree_entry_id(e),
		    git_tree_entry_filemode(e));
		break;
	default:
		log_warnx("repo.skip", "repo=%s path=%s%s reason=\"submodules "
		    "are not deployed\"", x->r->what, root,
		    git_tree_entry_name(e));
		break;
	}
	free(path);
	if (ret == -1)
		x->failed = 1;
	return ret;
}

static int
repo_commit_tree(struct gs_repo *r, const char *commit, git_tree **out,
    struct gs_error *err)
{
	git_oid		 oid;
	git_commit	*c = NULL;
	int		 rc;

	if ((rc = git_oid_fromstr(&oid, commit)) < 0 ||
	    (rc = git_commit_lookup(&c, r->repo, &oid)) < 0 ||
	    (rc = git_commit_tree(out, c)) < 0) {
		git_commit_free(c);
		return repo_seterr(err, rc, "%s: commit %.12s", r->what,
		    commit);
	}
	git_commit_free(c);
	return 0;
}

int
repo_export_tree(struct gs_repo *r, const char *commit, const char *dir,
    uint64_t max_bytes, uint64_t max_entries, struct gs_error *err)
{
	git_tree		*tree = NULL;
	struct repo_export	 x;
	int			 rc, ret = -1;

	if (repo_commit_tree(r, commit, &tree, err) == -1)
		return -1;
	if (mkdir(dir, 0755) == -1) {
		gs_error_sys(err, "mkdir %s", dir);
		goto out;
	}
	memset(&x, 0, sizeof(x));
	x.r = r;
	x.dir = dir;
	x.max_bytes = max_bytes;
	x.max_entries = max_entries;
	x.err = err;
	rc = git_tree_walk(tree, GIT_TREEWALK_PRE, repo_export_cb, &x);
	if (rc < 0) {
		if (!x.failed)
			repo_seterr(err, rc, "%s: walk tree of %.12s", r->what,
			    commit);
		goto out;
	}
	ret = 0;
out:
	git_tree_free(tree);
	return ret;
}

/* the tree entry of the regular file at path in commit */
static int
repo_blob_entry(struct gs_repo *r, const char *commit, const char *path,
    git_tree_entry **out, struct gs_error *err)
{
	git_tree	*tree = NULL;
	git_tree_entry	*e = NULL;
	int		 rc, ret = -1;

	*out = NULL;
	if (repo_commit_tree(r, commit, &tree, err) == -1)
		return -1;
	if ((rc = git_tree_entry_bypath(&e, tree, path)) < 0) {
		if (rc == GIT_ENOTFOUND)
			gs_error_set(err, GS_E_RUNTIME, rc, "%s: %s: no such "
			    "file in commit %.12s", r->what, path, commit);
		else
			repo_seterr(err, rc, "%s: %s", r->what, path);
		goto out;
	}
	if (git_tree_entry_type(e) != GIT_OBJECT_BLOB ||
	    git_tree_entry_filemode(e) == GIT_FILEMODE_LINK) {
		gs_error_set(err, GS_E_RUNTIME, 0, "%s: %s: not a regular file "
		    "in commit %.12s", r->what, path, commit);
		goto out;
	}
	*out = e;
	e = NULL;
	ret = 0;
out:
	git_tree_entry_free(e);
	git_tree_free(tree);
	return ret;
}

int
repo_blob_open(struct repo_blob **out, struct gs_repo *r, const char *commit,
    const char *path, struct gs_error *err)
{
	git_tree_entry	*e = NULL;
	struct repo_blob *b;
	int		 rc;

	*out = NULL;
	if (repo_blob_entry(r, commit, path, &e, err) == -1)
		return -1;
	b = xcalloc(1, sizeof(*b));
	if ((rc = git_blob_lookup(&b->blob, r->repo, git_tree_entry_id(e)))
	    < 0) {
		free(b);
		repo_seterr(err, rc, "%s: %s", r->what, path);
		git_tree_entry_free(e);
		return -1;
	}
	git_oid_tostr(b->id, sizeof(b->id), git_tree_entry_id(e));
	git_tree_entry_free(e);
	*out = b;
	return 0;
}

int
repo_blob_id_at(struct gs_repo *r, const char *commit, const char *path,
    char out[GS_HEXLEN + 1], struct gs_error *err)
{
	git_tree_entry	*e;

	if (repo_blob_entry(r, commit, path, &e, err) == -1)
		return -1;
	git_oid_tostr(out, GS_HEXLEN + 1, git_tree_entry_id(e));
	git_tree_entry_free(e);
	return 0;
}

const void *
repo_blob_data(const struct repo_blob *b, size_t *lenp)
{
	*lenp = (size_t)git_blob_rawsize(b->blob);
	return git_blob_rawcontent(b->blob);
}

const char *
repo_blob_id(const struct repo_blob *b)
{
	return b->id;
}

void
repo_blob_free(struct repo_blob *b)
{
	if (b == NULL)
		return;
	git_blob_free(b->blob);
	free(b);
}

int
repo_expand_commit(const char *gitdir, const char *prefix,
    char out[GS_HEXLEN + 1], struct gs_error *err)
{
	git_repository	*repo = NULL;
	git_object	*obj = NULL;
	git_oid		 oid;
	size_t		 len = strlen(prefix);
	int		 rc;

	if (len < 4 || len > GS_HEXLEN)
		return gs_error_set(err, GS_E_RUNTIME, 0, "bad commit id %s",
		    prefix);
	if ((rc = git_repository_open_bare(&repo, gitdir)) < 0)
		return repo_seterr(err, rc, "open %s", gitdir);
	if ((rc = git_oid_fromstrn(&oid, prefix, len)) < 0 ||
	    (rc = git_object_lookup_prefix(&obj, repo, &oid, len,
	    GIT_OBJECT_COMMIT)) < 0) {
		repo_seterr(err, rc, "%s: commit %s", gitdir, prefix);
		git_repository_free(repo);
		return -1;
	}
	git_oid_tostr(out, GS_HEXLEN + 1, git_object_id(obj));
	git_object_free(obj);
	git_repository_free(repo);
	return 0;
}

void
repo_hash_buf(const void *buf, size_t len, char out[GS_HEXLEN + 1])
{
	git_oid	oid;

	if (git_odb_hash(&oid, buf, len, GIT_OBJECT_BLOB) < 0)
		fatalx("repo.hash", "msg=\"cannot hash %zu bytes\"", len);
	git_oid_tostr(out, GS_HEXLEN + 1, &oid);
}

/* does a pack dir entry belong to the pack named keep? */
static int
repo_gc_keep(const char *entry, const char *keep)
{
	char	prefix[GS_HEXLEN + 8];

	snprintf(prefix, sizeof(prefix), "pack-%s.", keep);
	return strncmp(entry, prefix, strlen(prefix)) == 0;
}

struct repo_gc_ctx {
	git_repository	*repo;
	git_packbuilder	*pb;
};

/* a walk packs commits and trees: annotated tags the refs name go too */
static int
repo_gc_tag_cb(const char *name, void *arg)
{
	struct repo_gc_ctx	*gc = arg;
	git_reference		*ref = NULL;
	git_odb			*odb = NULL;
	git_object_t		 type;
	size_t			 len;
	int			 rc;

	if ((rc = git_reference_lookup(&ref, gc->repo, name)) < 0)
		return rc;
	if (git_reference_target(ref) != NULL &&
	    (rc = git_repository_odb(&odb, gc->repo)) == 0 &&
	    (rc = git_odb_read_header(&len, &type, odb,
	    git_reference_target(ref))) == 0 && type == GIT_OBJECT_TAG)
		rc = git_packbuilder_insert_recur(gc->pb,
		    git_reference_target(ref), NULL);
	git_odb_free(odb);
	git_reference_free(ref);
	return rc == GIT_ENOTFOUND ? 0 : rc;
}

/*
 * Keep the mirror small, the libgit2 way to `git gc --prune=now`: once
 * fetches have left REPO_GC_PACKS packs, write one pack of what the refs
 * reach (a shallow mirror: the deployed commit and its tree) and delete
 * every other pack and loose object.
 */
#define REPO_GC_PACKS	2
#define REPO_GC_BIGFILE	(4 * 1024 * 1024)

int
repo_gc(struct gs_repo *r, struct gs_error *err)
{
	struct repo_gc_ctx gc;
	git_packbuilder	*pb = NULL;
	git_config	*cfg = NULL;
	git_revwalk	*walk = NULL;
	git_odb		*odb = NULL;
	DIR		*d = NULL;
	struct dirent	*de;
	char		*objdir = NULL, *packdir = NULL, *path, keep[GS_HEXLEN + 1];
	size_t		 npacks = 0, removed = 0;
	int		 rc, ret = -1;

	xasprintf(&objdir, "%s/objects", git_repository_path(r->repo));
	xasprintf(&packdir, "%s/pack", objdir);
	if ((d = opendir(packdir)) == NULL) {
		gs_error_sys(err, "%s", packdir);
		goto out;
	}
	while ((de = readdir(d)) != NULL)
		if (strlen(de->d_name) > 5 && strcmp(de->d_name +
		    strlen(de->d_name) - 5, ".pack") == 0)
			npacks++;
	closedir(d);
	d = NULL;
	if (npacks < REPO_GC_PACKS) {
		ret = 0;
		goto out;
	}
	/* a shallow fetch without haves wrote a pack complete on its own */
	if (r->fresh[0] != '\0') {
		snprintf(keep, sizeof(keep), "%s", r->fresh);
		goto prune;
	}
	/*
	 * No delta search for big blobs: two versions of a compressed
	 * archive share next to nothing, and libgit2 would hold both whole
	 * and compare them for a minute for no gain.
	 */
	if ((rc = git_repository_config(&cfg, r->repo)) < 0 ||
	    (rc = git_config_set_int64(cfg, "pack.bigFileThreshold",
	    REPO_GC_BIGFILE)) < 0) {
		repo_seterr(err, rc, "%s: config", r->what);
		goto out;
	}
	if ((rc = git_packbuilder_new(&pb, r->repo)) < 0) {
		repo_seterr(err, rc, "%s: repack", r->what);
		goto out;
	}
	gc.repo = r->repo;
	gc.pb = pb;
	if ((rc = git_revwalk_new(&walk, r->repo)) < 0 ||
	    (rc = git_revwalk_push_glob(walk, "refs/gitstrap/*")) < 0 ||
	    (rc = git_packbuilder_insert_walk(pb, walk)) < 0 ||
	    (rc = git_reference_foreach_glob(r->repo, "refs/gitstrap/*",
	    repo_gc_tag_cb, &gc)) < 0 ||
	    (rc = git_packbuilder_write(pb, packdir, 0, NULL, NULL)) < 0) {
		repo_seterr(err, rc, "%s: repack %s", r->what,
		    git_repository_path(r->repo));
		goto out;
	}
	snprintf(keep, sizeof(keep), "%s", git_packbuilder_name(pb));
prune:
	/* everything else: older packs, and loose objects */
	if ((d = opendir(packdir)) == NULL) {
		gs_error_sys(err, "%s", packdir);
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "pack-", 5) != 0 ||
		    repo_gc_keep(de->d_name, keep))
			continue;
		path = util_path_join(packdir, de->d_name);
		if (unlink(path) == 0)
			removed++;
		free(path);
	}
	closedir(d);
	if ((d = opendir(objdir)) == NULL) {
		gs_error_sys(err, "%s", objdir);
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		if (strlen(de->d_name) != 2 || !isxdigit(
		    (unsigned char)de->d_name[0]) ||
		    !isxdigit((unsigned char)de->d_name[1]))
			continue;
		path = util_path_join(objdir, de->d_name);
		if (util_rm_rf(path, err) == -1) {
			free(path);
			goto out;
		}
		free(path);
	}
	if (git_repository_odb(&odb, r->repo) == 0)
		git_odb_refresh(odb);
	log_info("repo.gc", "repo=%s packs=%zu kept=%.12s removed=%zu",
	    r->what, npacks, keep, removed);
	ret = 0;
out:
	if (d != NULL)
		closedir(d);
	git_odb_free(odb);
	git_revwalk_free(walk);
	git_packbuilder_free(pb);
	git_config_free(cfg);
	free(packdir);
	free(objdir);
	return ret;
}
