/*
 * gitstrap.h: the one internal header.
 *
 * Every module's public functions are declared here. No third-party header
 * is included: library objects are opaque forward declarations, and each
 * library's header is included by the one .c file that owns that library.
 */
#ifndef GITSTRAP_H
#define GITSTRAP_H

#include <sys/types.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define GS_HEXLEN	40		/* a commit id in hex */
#define GS_RELIDLEN	64		/* room for a release id */

/* ------------------------------------------------------------------ */
/* error.c: one error type for the whole codebase (STYLE.md section 4) */

enum gs_esrc {
	GS_E_SYS,
	GS_E_GIT,
	GS_E_HTTP,
	GS_E_ARCHIVE,
	GS_E_YAML,
	GS_E_CONFIG,
	GS_E_CHILD,
	GS_E_RUNTIME		/* our own checks: limits, bad state on disk */
};

struct gs_error {
	enum gs_esrc	 src;
	int		 code;		/* errno, git rc, CURLcode, ARCHIVE_*, exit status */
	char		 msg[512];	/* one line: "what: why" */
};

int	gs_error_set(struct gs_error *, enum gs_esrc, int, const char *, ...)
	    __attribute__((format(printf, 4, 5)));	/* always returns -1 */
int	gs_error_sys(struct gs_error *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));	/* adds strerror(errno) */
void	gs_error_prefix(struct gs_error *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	gs_error_clear(struct gs_error *);
/* exit status for an error: 2 for config/usage problems, else 1 */
int	gs_error_exit_code(const struct gs_error *);

/*
 * A list of diagnostics, for parsers that collect every problem before
 * failing (config, recipe). Each entry is one line "FILE:LINE:COL: message".
 */
struct gs_diag {
	char	**msgs;
	size_t	  n;
};
void	diag_add(struct gs_diag *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	diag_addat(struct gs_diag *, const char *file, int line, int col,
	    const char *, ...) __attribute__((format(printf, 5, 6)));
void	diag_free(struct gs_diag *);
/* if the list is non-empty: copy its first line into err and return -1 */
int	diag_to_error(struct gs_error *, const struct gs_diag *);

/* ------------------------------------------------------------------ */
/* log.c: one line per event, logfmt or JSON lines, on stderr */

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG
};
enum log_format {
	LOG_FORMAT_TEXT = 0,
	LOG_FORMAT_JSON
};

void	log_init(const char *procname, enum log_level, enum log_format);
void	log_set(enum log_level, enum log_format);
int	log_level_parse(const char *, enum log_level *);
int	log_format_parse(const char *, enum log_format *);
/* register a secret: any occurrence in a later log line is replaced */
void	log_add_secret(const char *);
void	log_warn(const char *ev, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	log_warnx(const char *ev, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	log_info(const char *ev, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	log_debug(const char *ev, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	log_error(const char *ev, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
__attribute__((noreturn)) void fatal(const char *ev, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
__attribute__((noreturn)) void fatalx(const char *ev, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* is a debug line wanted? (to skip building expensive messages) */
int	log_debugging(void);

/* ------------------------------------------------------------------ */
/* xmalloc.c: allocation never fails (fatal on out of memory) */

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
int	 xasprintf(char **, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
int	 xvasprintf(char **, const char *, va_list)
	    __attribute__((format(printf, 2, 0)));

/* ------------------------------------------------------------------ */
/* util.c: pure helpers and small file-system helpers */

/* "90", "30s", "5m", "1h", "1h30m" -> milliseconds; -1 and a reason on error */
int	util_parse_duration(const char *, int64_t *out, const char **why);
/* "4096", "512K", "20M", "4G", "1T" (powers of 1024) -> bytes */
int	util_parse_size(const char *, uint64_t *out, const char **why);
/* "10%" or "10" -> percent 0..100 */
int	util_parse_percent(const char *, int *out, const char **why);
/* base-10 integer in [min, max], whole string; -1 and a reason on error */
int	util_strtonum(const char *, long long min, long long max,
	    long long *out, const char **why);
int	util_is_hex_id(const char *);
int	util_is_identifier(const char *);	/* [A-Za-z_][A-Za-z0-9_]* */		/* 40 lowercase/uppercase hex */

/* RFC 3339 UTC "2026-11-23T09:30:00Z" */
void	util_time_rfc3339(time_t, char buf[32]);
/* compact UTC "20261123T093000Z" (backup names, release ids) */
void	util_time_compact(time_t, char buf[32]);
int	util_parse_rfc3339(const char *, time_t *out);
/* monotonic milliseconds */
int64_t	util_now_ms(void);

/* URL without "user:password@"; always a new string */
char	*util_redact_url(const char *);
/* userinfo of a URL ("user", "pass"); NULL parts when absent */
void	util_url_userinfo(const char *url, char **user, char **pass);

int	util_mkdir_p(const char *, mode_t, struct gs_error *);
/* a real dir owned by us, with this mode (made when missing) */
int	util_own_dir(const char *, mode_t, struct gs_error *);
int	util_rm_rf(const char *, struct gs_error *);
/* a new 0700 directory $TMPDIR/prefix.RANDOM (/tmp without TMPDIR) */
int	util_private_tmpdir(const char *prefix, char **out, struct gs_error *);
/* write dir/name through dir/.name.tmp + fsync + rename + fsync(dir) */
int	util_write_atomic(const char *dir, const char *name, const void *,
	    size_t, mode_t, struct gs_error *);
/* whole file, NUL-terminated; fails when larger than max */
int	util_read_file(const char *, size_t max, char **out, size_t *lenp,
	    struct gs_error *);
/* the file's content without one trailing newline (password_file) */
int	util_read_secret(const char *, char **out, struct gs_error *);
int	util_fsync_dir(const char *, struct gs_error *);
char	*util_path_join(const char *, const char *);
int	util_exists(const char *);
void	util_strv_free(char **, size_t);
/* printable, bounded copy of a value for an error message */
void	util_quote(char *out, size_t size, const char *, size_t len);
int	util_is_dir(const char *);		/* a real directory, not a link */

/* ------------------------------------------------------------------ */
/* yml.c: libyaml -> a small tree of our own, with positions */

enum yml_type {
	YML_SCALAR,
	YML_SEQ,
	YML_MAP
};

struct yml_node {
	enum yml_type		  type;
	int			  line, col;	/* 1-based */
	char			 *str;		/* YML_SCALAR: the value */
	size_t			  len;		/* YML_SCALAR: its length */
	int			  quoted;	/* YML_SCALAR: not a plain scalar */
	const char		 *tag;		/* explicit tag, or NULL */
	size_t			  n;		/* YML_SEQ items, YML_MAP pairs */
	struct yml_node		**items;	/* YML_SEQ */
	struct yml_node		**keys;		/* YML_MAP: scalar keys */
	struct yml_node		**vals;		/* YML_MAP */
};

struct yml_doc {
	char			*file;		/* name used in messages */
	struct yml_node		*root;		/* NULL for an empty document */
};

/*
 * Parse one YAML document. Syntax errors, duplicate keys, non-scalar keys,
 * too many nodes (alias bombs) or too deep nesting fail with
 * "FILE:LINE:COL: message" in err (src GS_E_YAML).
 */
int	yml_parse(struct yml_doc **out, const char *file, const char *buf,
	    size_t len, struct gs_error *);
void	yml_free(struct yml_doc *);
/* value for key in a map node, or NULL */
struct yml_node	*yml_get(const struct yml_node *, const char *);
const char	*yml_type_name(enum yml_type);
/* YAML 1.1/1.2 booleans: true/false/yes/no/on/off; -1 when not one */
int	yml_bool(const struct yml_node *);

/* ------------------------------------------------------------------ */
/* config.c: the typed model of gitstrap.yml (DESIGN.md) */

struct gs_kv {
	char	*key;
	char	*val;
};

struct gs_strlist {
	char	**v;
	size_t	  n;
};
/* util.c: append a copy (the list stays NULL-terminated); free all */
void	strlist_add(struct gs_strlist *, const char *);
void	strlist_free(struct gs_strlist *);

struct gs_auth {
	char	*username;
	char	*password;		/* a literal: accepted, with a warning */
	char	*password_file;
	char	*password_env;
	char	*ssh_key;
	char	*ssh_known_hosts;
};

/* verify: what must be signed, and by whom */
enum gs_verify_mode {
	GS_VERIFY_HEAD = 0,	/* the deployed commit */
	GS_VERIFY_TAG		/* the annotated tag the ref names */
};

struct gs_verify_conf {
	int			 enabled;
	char			*allowed_signers;	/* SSH: ssh-keygen -Y */
	char			*revoked_keys;		/* SSH: KRL or key list */
	char			*gpg_keyring;		/* OpenPGP: gpgv */
	enum gs_verify_mode	 mode;
};

struct gs_repo_conf {
	char		*url;		/* as written (may hold userinfo) */
	char		*ref;		/* branch, tag, full ref or commit id */
	int		 depth;		/* 0 = full history */
	struct gs_auth	 auth;
	struct gs_verify_conf verify;
};

struct gs_service_conf {
	struct gs_repo_conf	 repo;
	char			*recipe;	/* NULL = no recipe */
	struct gs_kv		*vars;
	size_t			 nvars;
	int			 follow;
};

struct gs_unpack_conf {
	char	*archive;		/* path of the blob in the data tree */
	int	 strip_components;
	char	*to;			/* subdir of the release; NULL = top */
};

struct gs_health_conf {
	char	*url;			/* NULL = no health check */
	long	 expect;		/* HTTP status, default 200 */
	int64_t	 timeout_ms;
	int	 retries;
};

struct gs_data_conf {
	struct gs_repo_conf	 repo;
	char			*target;	/* absolute path of the web root */
	char			*releases_dir;	/* default: beside the target */
	struct gs_unpack_conf	*unpack;
	size_t			 nunpack;
	uint64_t		 max_bytes;
	uint64_t		 max_entries;
	int			 keep_releases;
	int64_t			 interval_ms;
	int			 jitter_pct;
	int64_t			 backoff_max_ms;
	int			 max_failures;	/* 0 = never give up */
	int64_t			 stale_after_ms;	/* 0 = never stale */
	struct gs_strlist	 before_switch;
	struct gs_strlist	 after_switch;
	int64_t			 hook_timeout_ms;
	struct gs_health_conf	 health;
};

struct gs_config {
	char			*file;		/* where it came from */
	char			*state_dir;
	char			*user;
	enum log_level		 log_level;
	enum log_format		 log_format;
	int			 has_service;
	struct gs_service_conf	 service;
	struct gs_data_conf	 data;
	char			*notify_webhook;
	char			*ca_file;	/* transport.ca_file, or NULL */
	int			 insecure_deny;	/* transport.insecure: deny */
	struct gs_strlist	 insecure;	/* allowed: "key=K url=U" */
	int			 warned;	/* config_warn done */
};

#define GS_DEFAULT_STATE_DIR	"/var/lib/gitstrap"
#define GS_DEFAULT_MAX_BYTES	(4ULL << 30)
#define GS_DEFAULT_MAX_ENTRIES	1000000ULL
#define GS_DEFAULT_KEEP		3
#define GS_DEFAULT_INTERVAL_MS	(5 * 60 * 1000LL)
#define GS_DEFAULT_JITTER	10
#define GS_DEFAULT_BACKOFF_MS	(30 * 60 * 1000LL)
#define GS_DEFAULT_HOOK_MS	(5 * 60 * 1000LL)

/*
 * Build a config from a parsed document's node (the whole document, or the
 * `gitstrap:` key of a #cloud-config). Every problem is added to diag as
 * "FILE:LINE:COL: message"; returns -1 when there was any, with the first
 * in err. Environment overrides (GITSTRAP_STATE_DIR) are applied.
 */
int	config_from_node(struct gs_config **out, const char *file,
	    const struct yml_node *, struct gs_diag *, struct gs_error *);
/* read, parse and validate a file */
int	config_load(struct gs_config **out, const char *path, struct gs_diag *,
	    struct gs_error *);
void	config_free(struct gs_config *);
/* log the config's warnings (insecure transports), once per config */
void	config_warn(struct gs_config *);
/* value of a var in service.vars, or NULL */
const char *config_var(const struct gs_config *, const char *);

/* ------------------------------------------------------------------ */
/* run.c: child processes for recipe steps and hooks */

struct run_opts {
	const char	*cwd;		/* NULL = inherit */
	char *const	*envp;		/* full environment; NULL = empty */
	int64_t		 timeout_ms;	/* 0 = none */
	const char	*logev;		/* event name for output lines */
	const char	*logtag;	/* "step=3" etc., prefixed to output */
	const char	*stdin_file;	/* NULL = /dev/null */
	const char	*stdout_file;	/* NULL = logged; else created 0600 */
	const char	*stderr_file;	/* as stdout_file */
};

/*
 * Run argv (argv[0] is looked up in PATH of envp, or /usr/local/sbin:
 * /usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin). Output (stdout and stderr) is logged line by line at info
 * level. Fails with GS_E_CHILD, code = exit status or 128 + signal, on a
 * non-zero exit, a signal or a timeout (SIGTERM, then SIGKILL after 5 s).
 */
int	run_argv(char *const argv[], const struct run_opts *, struct gs_error *);
/* /bin/sh -c cmd */
int	run_shell(const char *cmd, const struct run_opts *, struct gs_error *);
/* is the program in PATH (of the current environment)? */
int	run_have(const char *prog);

/* an environment under construction: NAME=value strings */
struct run_env {
	char	**v;
	size_t	  n;
};
void	run_env_set(struct run_env *, const char *name, const char *val);
void	run_env_base(struct run_env *);	/* PATH, HOME, LANG, TERM safe base */
void	run_env_free(struct run_env *);

/* ------------------------------------------------------------------ */
/* recipe.c: recipe YAML -> steps (step.c runs them) */

enum recipe_action {
	RECIPE_PACKAGES,
	RECIPE_COPY,
	RECIPE_TEMPLATE,
	RECIPE_RUN,
	RECIPE_SERVICE
};

struct recipe_step {
	enum recipe_action	 action;
	char			*name;		/* optional */
	int			 line, col;
	/* packages: common list, or per manager lists */
	struct gs_strlist	 pkgs;		/* common */
	struct gs_strlist	 pkgs_apt, pkgs_dnf, pkgs_yum, pkgs_apk;
	/* copy: from (service checkout), to; template: src, dest */
	char			*from, *to;
	char			*mode;		/* optional octal "0644" */
	/* run */
	char			*cmd;
	/* service */
	char			*svc_name;
	char			*svc_state;	/* started|stopped|restarted|reloaded */
	int			 svc_enabled;	/* -1 unset, 0, 1 */
	/* guards and options */
	char			*creates;
	char			*unless;
	int64_t			 timeout_ms;	/* 0 = default */
	struct gs_kv		*env;
	size_t			 nenv;
};

struct recipe {
	char			*file;
	char			*name;
	struct gs_kv		*vars;		/* defaults */
	size_t			 nvars;
	struct recipe_step	*steps;
	size_t			 nsteps;
};

/* what a recipe runs with */
struct recipe_ctx {
	const char		*service_dir;	/* the service checkout */
	const char		*service_commit;
	const struct gs_kv	*vars;		/* service.vars (override) */
	size_t			 nvars;
	int64_t			 default_timeout_ms;
};

#define RECIPE_MAX_FILE		(1024 * 1024)	/* recipes and templates */

int	recipe_parse(struct recipe **out, const char *file, const char *buf,
	    size_t len, struct gs_diag *, struct gs_error *);
int	recipe_load(struct recipe **out, const char *path, struct gs_diag *,
	    struct gs_error *);
void	recipe_free(struct recipe *);
/*
 * Find a recipe by config value: a path inside the service checkout when it
 * has a '/' or ends in .yml, else a shipped name looked up in
 * GITSTRAP_RECIPES_DIR (colon-separated) or GS_RECIPES_DIR. *out is an
 * allocated path. Unknown name: GS_E_CONFIG.
 */
int	recipe_is_path(const char *name);
int	recipe_find(char **out, const char *name, const char *service_dir,
	    struct gs_error *);
/* "{{ name }}" substitution from vars; unknown name is an error */
int	recipe_expand(char **out, const char *in, const struct gs_kv *,
	    size_t, struct gs_error *);
/* merged vars: recipe defaults, then ctx vars over them; caller frees */
void	recipe_vars(struct gs_kv **out, size_t *nout, const struct recipe *,
	    const struct recipe_ctx *);
void	kv_free(struct gs_kv *, size_t);
/* free what a step holds and zero it (the step itself is not freed) */
void	recipe_step_clear(struct recipe_step *);
const char *recipe_action_name(enum recipe_action);

/*
 * The rules for a step's values, checked when parsing and again after
 * "{{ var }}" expansion when running. Each returns 1 when the value is
 * fine, 0 when not; recipe_mode_parse returns 0 or -1.
 */
int	recipe_relpath_ok(const char *);	/* relative, no ".." */
/* is the resolved path root itself or below it? */
int	recipe_path_inside(const char *root, const char *path);
int	recipe_mode_parse(const char *, mode_t *out);	/* "0644", "755" */
int	recipe_pkg_ok(const char *);		/* a package name */
int	recipe_svc_ok(const char *);		/* a service name */

/* ------------------------------------------------------------------ */
/* step.c: running a recipe, step by step */

/*
 * How the current step runs its commands: the options every child gets
 * (cwd = the service checkout, the step's environment, its timeout, the
 * "step=N" log tag) and the step's name for logs. step.c fills it for
 * each step; pkg.c and svc.c run their commands through it.
 */
struct step_exec {
	struct run_opts	 ro;
	struct run_env	 env;		/* the step's environment: ro.envp */
	size_t		 step;		/* 1-based, for logs */
	const char	*label;		/* the step's name, for logs */
};

/* run argv (a NULL-terminated list after err) with the step's options */
int	step_argv(const struct step_exec *, struct gs_error *, ...)
	    __attribute__((sentinel));
/* set a variable for the current step's children only */
void	step_setenv(struct step_exec *, const char *name, const char *val);
/*
 * Run every step in order, with "{{ var }}" expanded and the creates and
 * unless guards honoured; stop at the first step that fails.
 */
int	step_run_recipe(const struct recipe *, const struct recipe_ctx *,
	    struct gs_error *);

/* ------------------------------------------------------------------ */
/* pkg.c: the packages action (apt-get, dnf, yum, apk) */

/* the package manager of this run: found once, lists updated once */
struct pkg_state {
	const char	*pm;		/* NULL until known */
	int		 updated;	/* package lists refreshed */
};

/* install the step's packages for this system's manager (x is expanded) */
int	pkg_install(struct pkg_state *, struct step_exec *,
	    const struct recipe_step *x, struct gs_error *);

/* ------------------------------------------------------------------ */
/* svc.c: the service action (systemd, else SysV or OpenRC tools) */

/* enable or disable, then bring to the state asked (x is expanded) */
int	svc_apply(const struct step_exec *, const struct recipe_step *x,
	    struct gs_error *);

/* ------------------------------------------------------------------ */
/* copy.c: the copy action's files, from the service checkout */

struct copy_stats {
	size_t		 files;		/* regular files written */
	uint64_t	 bytes;
};

/*
 * Copy from (a path in the service checkout that must stay inside it) to
 * the absolute path to: a file (into to, or into the directory to names),
 * or a tree merged into the directory to (".git" skipped, symlinks copied
 * as links, a symlink at the destination never written through). mode
 * (octal, NULL = 0644 or 0755 by the source's x bits) is for a file only.
 */
int	copy_path(struct copy_stats *out, const char *service_dir,
	    const char *from, const char *to, const char *mode,
	    struct gs_error *);
/*
 * The real path of rel in the service checkout, which must exist and stay
 * inside it; what names the key ("copy from", "template src") in messages.
 */
int	copy_resolve_src(char **out, const char *rel, const char *service_dir,
	    const char *what, struct gs_error *);
/* dirname and basename of an absolute path, without touching it */
void	copy_split(const char *path, char **dir, char **base);

/* ------------------------------------------------------------------ */
/* repo.c: everything libgit2 */

struct gs_repo;

/* where a ref points on the remote */
struct repo_remote_ref {
	char	name[256];		/* full ref name, e.g. refs/heads/main */
	char	oid[GS_HEXLEN + 1];	/* what the ref names (tag or commit) */
	char	commit[GS_HEXLEN + 1];	/* peeled commit, when advertised */
};

/* git://github.com/... -> https://github.com/...; NULL when unchanged */
char	*repo_rewrite_url(const char *url);
/* classify a ref: 1 = full commit id, 0 = a name */
int	repo_ref_is_commit(const char *ref);
/* may this URL be fetched shallow with this libgit2? (why when not) */
int	repo_shallow_ok(const char *url, const char **why);

/* open (creating) a bare repository at gitdir for this remote */
int	repo_open(struct gs_repo **out, const char *gitdir,
	    const struct gs_repo_conf *, const char *what, struct gs_error *);
void	repo_free(struct gs_repo *);
/* ask the remote where the ref points, with no object transfer */
int	repo_ls_remote(struct gs_repo *, struct repo_remote_ref *out,
	    struct gs_error *);
/*
 * Make the configured ref's commit present locally (fetching only when it
 * is not) and return its id. A commit id ref needs no ls-remote when it is
 * already here. *fetched says whether objects were transferred.
 */
int	repo_update(struct gs_repo *, char out[GS_HEXLEN + 1], int *fetched,
	    struct gs_error *);
/* write the commit's tree into dir (which must not exist) */
int	repo_export_tree(struct gs_repo *, const char *commit, const char *dir,
	    uint64_t max_bytes, uint64_t max_entries, struct gs_error *);
/* a blob's content at path in commit; valid until repo_blob_free */
struct repo_blob;
int	repo_blob_open(struct repo_blob **out, struct gs_repo *,
	    const char *commit, const char *path, struct gs_error *);
const void *repo_blob_data(const struct repo_blob *, size_t *lenp);
const char *repo_blob_id(const struct repo_blob *);
void	repo_blob_free(struct repo_blob *);
/* a signature and what it covers (verify.c checks it) */
struct repo_signed {
	char	*sig;			/* the signature block; NULL: unsigned */
	size_t	 siglen;
	char	*payload;		/* the bytes it signs */
	size_t	 len;
	char	 object[GS_HEXLEN + 1];	/* the commit or tag signed */
	char	 refname[256];		/* a tag: its full ref name */
};
/* the gpgsig header of a commit and the commit without it */
int	repo_commit_signed(struct repo_signed *out, struct gs_repo *,
	    const char *commit, struct gs_error *);
/* the annotated tag the ref named, which must point at commit */
int	repo_tag_signed(struct repo_signed *out, struct gs_repo *,
	    const char *commit, struct gs_error *);
void	repo_signed_free(struct repo_signed *);
/* where a tag's signature block starts; len when it has none */
size_t	repo_sig_offset(const char *, size_t len);
/* the id of the blob at path in commit, without reading the blob */
int	repo_blob_id_at(struct gs_repo *, const char *commit, const char *path,
	    char out[GS_HEXLEN + 1], struct gs_error *);
/* after fetches: one pack of what the refs reach, nothing else */
int	repo_gc(struct gs_repo *, struct gs_error *);
/* expand a (short) commit id in the bare repository at gitdir */
int	repo_expand_commit(const char *gitdir, const char *prefix,
	    char out[GS_HEXLEN + 1], struct gs_error *);
/* git's SHA-1 of a buffer (as a blob): a stable fingerprint */
void	repo_hash_buf(const void *, size_t, char out[GS_HEXLEN + 1]);

/* trust the CAs in file for https:// remotes (transport.ca_file) */
int	repo_set_ca_file(const char *file, struct gs_error *);
int	repo_lib_init(void);
void	repo_lib_shutdown(void);
const char *repo_lib_version(void);

/* ------------------------------------------------------------------ */
/* verify.c: signed commits and tags (ssh-keygen -Y, gpgv) */

struct verify_result {
	const char	*kind;		/* "ssh" or "gpg" */
	char		 signer[256];	/* SSH principal, or OpenPGP user id */
	char		 key[128];	/* SHA256:... or the fingerprint */
};

/*
 * Check that what repo_update just resolved is signed by a key the config
 * allows: the commit (mode head) or the annotated tag naming it (mode
 * tag). The error says which object and why ("commit ID: not signed").
 */
int	verify_check(struct verify_result *out, struct gs_repo *,
	    const struct gs_verify_conf *, const char *commit,
	    struct gs_error *);
/* the outcome of gpgv --status-fd lines: 0 good (out filled), else -1 */
int	verify_gpg_status(const char *status, struct verify_result *out,
	    char *why, size_t len);

/* ------------------------------------------------------------------ */
/* http.c: the one libcurl wrapper */

struct http_req {
	const char	*method;	/* NULL = GET */
	const char	*url;
	const char	*const *headers;	/* NULL-terminated, or NULL */
	const void	*body;
	size_t		 bodylen;
	int64_t		 timeout_ms;
	size_t		 max_body;	/* 0 = 1 MiB */
	int		 no_proxy;	/* never through a proxy (metadata) */
};

struct http_resp {
	long	 status;
	char	*body;			/* NUL-terminated */
	size_t	 len;
};

/* any status is returned; only transport failures are errors */
int	http_do(const struct http_req *, struct http_resp *, struct gs_error *);
void	http_resp_free(struct http_resp *);
/* trust only the CAs in file (transport.ca_file); NULL: the defaults */
void	http_set_ca_file(const char *file);
int	http_lib_init(void);
void	http_lib_shutdown(void);

/* ------------------------------------------------------------------ */
/* unpack.c (data-sync/): libarchive extraction with path and size safety */

struct unpack_limits {
	uint64_t	max_bytes;	/* total over the release */
	uint64_t	max_entries;
	uint64_t	bytes;		/* running totals, updated */
	uint64_t	entries;
	uint64_t	linked;		/* files linked from prev */
	uint64_t	written;	/* bytes written (bytes counts linked too) */
};

/*
 * Extract the archive held in memory (name is used in messages: the path
 * in the data repo) into dir, which exists. strip_components as in tar,
 * where a leading "." counts as a component. Refuses: absolute paths, "..",
 * writing through a symlink, symlinks or hard links leading outside dir,
 * device nodes, fifos, sockets; drops setuid/setgid/sticky bits; files
 * end 0644/0755, dirs 0755. Errors name the archive and the entry.
 * prev (may be NULL or missing) is the same dir in the previous release:
 * a regular file identical to the one at its path there, data, mode and
 * time, is hard-linked to it instead of written.
 */
int	unpack_memory(const char *name, const void *, size_t, const char *dir,
	    const char *prev, int strip_components, struct unpack_limits *,
	    struct gs_error *);
/* the pure path check: normalised relative path after stripping, or NULL
 * when the entry is skipped (stripped away); -1 when refused (why set) */
int	unpack_clean_path(const char *entry, int strip, char **out,
	    const char **why);
/* a link target relative to the entry's dir: does it stay inside? */
int	unpack_link_inside(const char *entry_path, const char *target);

/* ------------------------------------------------------------------ */
/* release.c (data-sync/): release dirs and the atomic switch */

/* a new release id: "<yyyymmddThhmmssZ>-<commit12>" */
void	release_make_id(char out[GS_RELIDLEN], time_t, const char *commit);
/* 1 when the name is a release id (no .tmp/.failed suffix), else 0 */
int	release_id_valid(const char *);
/* the release id the target symlink points to (out empty when none) */
int	release_current(const char *target, char out[GS_RELIDLEN],
	    struct gs_error *);
/* releases_dir/<id> as target: new symlink + rename; backs up a real dir */
int	release_switch(const char *target, const char *releases_dir,
	    const char *id, struct gs_error *);
/* ids in releases_dir, oldest first (no .tmp/.failed); caller frees */
int	release_list(const char *releases_dir, struct gs_strlist *out,
	    struct gs_error *);
/* remove all but the newest keep (never current); remove leftover .tmp */
int	release_prune(const char *releases_dir, int keep, const char *current,
	    struct gs_error *);
/* releases/<id> -> releases/<id>.failed */
int	release_mark_failed(const char *releases_dir, const char *id,
	    struct gs_error *);
/* chmod the tree: dirs 0755, files 0644 or 0755, no s-bits; sync it */
int	release_seal(const char *dir, struct gs_error *);
/* the tree below from again below to (which exists), files hard-linked */
int	release_link_tree(const char *from, const char *to, struct gs_error *);

/* ------------------------------------------------------------------ */
/* state.c: status.json, metrics.prom, last-error, the state dir lock */

struct gs_status {
	char	svc_repo[1024], svc_ref[256], svc_commit[GS_HEXLEN + 1];
	char	svc_recipe_key[GS_HEXLEN + 1];	/* what the recipe ran for */
	time_t	svc_recipe_ran_at;
	char	data_repo[1024], data_ref[256], data_commit[GS_HEXLEN + 1];
	char	data_release[GS_RELIDLEN];
	char	data_target[1024];
	char	data_releases[1024];		/* the releases dir */
	time_t	data_published_at;
	/* who signed the commits named above (verify), empty when unchecked */
	char	svc_signer[256], svc_signing_key[128];
	char	data_signer[256], data_signing_key[128];
	time_t	last_attempt, last_success;
	int	consecutive_failures;
	char	last_error[512];		/* empty = none */
	uint64_t syncs_changed, syncs_unchanged, syncs_failed;
	uint64_t fetches_data, fetches_service;	/* object transfers */
	int64_t	 stale_after_ms;
};

int	state_load(struct gs_status *, const char *state_dir, struct gs_error *);
int	state_save(const struct gs_status *, const char *state_dir,
	    struct gs_error *);
int	state_to_json(const struct gs_status *, char **out);
/* the webhook body: {"event", "service_commit", "data_commit", ...} */
char	*state_event_json(const struct gs_status *, const char *event,
	    const char *error);
/* exclusive lock on state_dir/lock; fails naming the holder's pid */
int	state_lock(int *fdp, const char *state_dir, struct gs_error *);
void	state_unlock(int);

/*
 * What a release was unpacked from, one item per archive in config order:
 * releases/.<id>.manifest beside the release (never inside what is served).
 * It lets the next release link an archive's whole subtree when its blob
 * did not change, without inflating anything.
 */
struct gs_manifest_item {
	char		*archive;	/* path in the data repo */
	char		*to;		/* NULL = the top of the release */
	int		 strip;
	char		 blob[GS_HEXLEN + 1];
	uint64_t	 entries, bytes;	/* what it put in the release */
};
struct gs_manifest {
	struct gs_manifest_item	*v;
	size_t			 n;
};
int	state_manifest_save(const struct gs_manifest *, const char *dir,
	    const char *name, struct gs_error *);
/* a missing or unreadable manifest is an error: the caller ignores it */
int	state_manifest_load(struct gs_manifest *, const char *path,
	    struct gs_error *);
void	state_manifest_free(struct gs_manifest *);

/* ------------------------------------------------------------------ */
/* pipeline.c: config -> git -> recipe/unpack -> release -> switch */

struct gitstrap {
	struct gs_config	*conf;
	char			*state_dir;
	int			 lockfd;
	int			 once;
	int			 booted;	/* a full cycle succeeded */
	struct gs_status	 st;
};

enum pipeline_result {
	PIPELINE_UNCHANGED,
	PIPELINE_PUBLISHED
};

/* one full cycle: service (when due), then data; updates gs->st */
int	pipeline_run(struct gitstrap *, enum pipeline_result *out,
	    struct gs_error *);
/* at start: remove leftovers of an interrupted cycle */
void	pipeline_recover(struct gitstrap *);
/* switch back to a release (the one before current when id is NULL) */
int	pipeline_rollback(const char *state_dir, const char *id,
	    struct gs_error *);

/* ------------------------------------------------------------------ */
/* sync.c (data-sync/): the resident loop; it only schedules */

/* run the boot cycle, then poll until a signal says stop; HUP reloads src */
struct userdata_source;
int	sync_loop(struct gitstrap *, const struct userdata_source *src,
	    struct gs_error *);
/*
 * Milliseconds until the next cycle: the interval after a success, an
 * exponential backoff capped at backoff_max after failures (a short boot
 * schedule while nothing ever succeeded), each with +-jitter drawn with
 * the seed.
 */
int64_t	sync_next_delay(const struct gs_data_conf *, int failures,
	    int ever_succeeded, unsigned int *seed);

/* ------------------------------------------------------------------ */
/* priv.c (data-sync/): dropping root for the resident loop */

/*
 * Hand the state dir, the releases dir and the target's parent dir to
 * user, then become that user for good. A no-op when already that user.
 */
int	priv_drop(const char *user, const char *state_dir,
	    const struct gs_data_conf *, struct gs_error *);

/* ------------------------------------------------------------------ */
/* userdata.c: where the config comes from, and user-data formats */

enum userdata_kind {
	USERDATA_SRC_CONFIG,		/* -c FILE: gitstrap.yml */
	USERDATA_SRC_FILE,		/* --user-data FILE */
	USERDATA_SRC_NOCLOUD,		/* --nocloud[=DIR]: DIR/user-data */
	USERDATA_SRC_IMDS		/* --imds[=BASE_URL] */
};

struct userdata_source {
	enum userdata_kind	 kind;
	const char		*path;		/* file, dir (NULL = default),
						   or metadata base URL */
	int64_t			 timeout_ms;	/* IMDS: give up after */
	int			 fetch;		/* IMDS: skip cloud-init's copy */
};

#define USERDATA_IMDS_URL	"http://169.254.169.254"
#define USERDATA_IMDS_TIMEOUT_MS (120 * 1000LL)

/*
 * User-data in any of its forms (gzip, MIME multipart with base64 or gzip
 * parts, #gitstrap, #cloud-config with a gitstrap: key) -> a config.
 * origin names the input in messages ("FILE part 2 (text/cloud-config)").
 * Every problem is on diag; the first is in err (GS_E_CONFIG).
 * Needs userdata_lib_init() first.
 */
int	userdata_config(struct gs_config **out, const char *origin,
	    const void *buf, size_t len, struct gs_diag *diag,
	    struct gs_error *err);
/*
 * Load the config from a source. With --imds, cloud-init's copy of the
 * user-data (GITSTRAP_CLOUD_DIR, /var/lib/cloud) is used when present
 * (unless src->fetch); the instance identity joins service.vars as
 * instance_id, region, ... where service.vars does not set them.
 * Errors: GS_E_CONFIG for bad or missing user-data, else runtime.
 */
int	userdata_load(struct gs_config **out, const struct userdata_source *,
	    struct gs_diag *, struct gs_error *);
const char *userdata_source_name(const struct userdata_source *);
const char *userdata_cloud_dir(void);
int	userdata_is_gzip(const void *, size_t);
int	userdata_lib_init(void);
void	userdata_lib_shutdown(void);

/* ------------------------------------------------------------------ */
/* imds.c: the instance metadata service client */

struct imds_data {
	char		*user_data;	/* NUL-terminated */
	size_t		 len;
	struct gs_kv	*ident;		/* instance_id, region, ...: present ones */
	size_t		 nident;
};

/*
 * IMDSv2 (token), or v1 when the token endpoint answers 404 or 405; a 403
 * on the token is final. Unreachable or 5xx: retried with backoff for up
 * to timeout_ms. No user-data (404): GS_E_CONFIG.
 */
int	imds_fetch(struct imds_data *out, const char *base_url,
	    int64_t timeout_ms, struct gs_error *);
/* identity from cloud-init's instance-data.json, where it is readable */
void	imds_cloud_identity(struct imds_data *);
/* identity from a NoCloud seed's meta-data (instance-id, local-hostname) */
void	imds_nocloud_identity(struct imds_data *, const char *dir);
void	imds_data_free(struct imds_data *);

#endif /* GITSTRAP_H */
