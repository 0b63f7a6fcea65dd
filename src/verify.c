/*
 * verify.c: is what is about to be deployed signed by a key we trust?
 *
 * repo.c splits the signed object (the commit, or the annotated tag) into
 * its signature and the bytes that signature covers. The check itself is
 * left to the tools git uses for it, run as child processes without a
 * shell: OpenSSH's ssh-keygen -Y against an allowed_signers file in the
 * namespace "git", or GnuPG's gpgv against a keyring. Signature and
 * payload reach them as files in a private temporary directory, removed
 * afterwards.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gitstrap.h"

#define VERIFY_TIMEOUT_MS	(60 * 1000LL)
#define VERIFY_OUT_MAX		(256 * 1024)
#define VERIFY_SSH_NAMESPACE	"git"

enum verify_kind {
	VERIFY_SSH,
	VERIFY_GPG,
	VERIFY_OTHER
};

/* the private directory and the files in it */
struct verify_tmp {
	char	*dir;
	char	*sig;
	char	*payload;
	char	*out;		/* the child's stdout */
	char	*errout;	/* the child's stderr */
};

static enum verify_kind
verify_kind(const char *sig)
{
	if (strncmp(sig, "-----BEGIN SSH SIGNATURE-----", 29) == 0)
		return VERIFY_SSH;
	if (strncmp(sig, "-----BEGIN PGP SIGNATURE-----", 29) == 0 ||
	    strncmp(sig, "-----BEGIN PGP MESSAGE-----", 27) == 0)
		return VERIFY_GPG;
	return VERIFY_OTHER;
}

static int
verify_write(const char *path, const char *buf, size_t len,
    struct gs_error *err)
{
	ssize_t	n;
	int	fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1)
		return gs_error_sys(err, "create %s", path);
	while (len > 0) {
		if ((n = write(fd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			gs_error_sys(err, "write %s", path);
			close(fd);
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	if (close(fd) == -1)
		return gs_error_sys(err, "close %s", path);
	return 0;
}

static void
verify_tmp_free(struct verify_tmp *t)
{
	struct gs_error	e;

	if (t->dir != NULL && util_rm_rf(t->dir, &e) == -1)
		log_warnx("verify.cleanup", "err=\"%s\"", e.msg);
	free(t->dir);
	free(t->sig);
	free(t->payload);
	free(t->out);
	free(t->errout);
	memset(t, 0, sizeof(*t));
}

static int
verify_tmp_new(struct verify_tmp *t, const struct repo_signed *s,
    struct gs_error *err)
{
	memset(t, 0, sizeof(*t));
	if (util_private_tmpdir("gitstrap-verify", &t->dir, err) == -1)
		return -1;
	t->sig = util_path_join(t->dir, "signature");
	t->payload = util_path_join(t->dir, "payload");
	t->out = util_path_join(t->dir, "stdout");
	t->errout = util_path_join(t->dir, "stderr");
	if (verify_write(t->sig, s->sig, s->siglen, err) == -1 ||
	    verify_write(t->payload, s->payload, s->len, err) == -1) {
		verify_tmp_free(t);
		return -1;
	}
	return 0;
}

/* what the child wrote to a file, as a string ("" when nothing) */
static char *
verify_slurp(const char *path)
{
	char	*buf = NULL;

	if (util_read_file(path, VERIFY_OUT_MAX, &buf, NULL, NULL) == -1)
		return xstrdup("");
	return buf;
}

/* the first line of s, for a message */
static void
verify_first_line(char *out, size_t size, const char *s)
{
	util_quote(out, size, s, strcspn(s, "\n"));
}

/*
 * Run a verifier: *status is its exit status. Only a failure to run it at
 * all (not installed, killed, timed out) is an error.
 */
static int
verify_exec(struct verify_tmp *t, char *const argv[], int payload_stdin,
    int *status, struct gs_error *err)
{
	struct run_env	 env = { NULL, 0 };
	struct run_opts	 ro;
	struct gs_error	 e;
	int		 rc;

	/* a home of its own: nothing of the user's ~/.ssh or ~/.gnupg */
	run_env_base(&env);
	run_env_set(&env, "HOME", t->dir);
	run_env_set(&env, "GNUPGHOME", t->dir);
	memset(&ro, 0, sizeof(ro));
	ro.envp = env.v;
	ro.timeout_ms = VERIFY_TIMEOUT_MS;
	ro.logev = "verify.output";
	ro.stdin_file = payload_stdin ? t->payload : NULL;
	ro.stdout_file = t->out;
	ro.stderr_file = t->errout;
	memset(&e, 0, sizeof(e));
	rc = run_argv(argv, &ro, &e);
	run_env_free(&env);
	*status = 0;
	if (rc == 0)
		return 0;
	if (e.src == GS_E_CHILD && strncmp(e.msg, "exit status ", 12) == 0) {
		*status = e.code;
		return 0;
	}
	*err = e;
	return -1;
}

/* "Good "git" signature with ED25519 key SHA256:..." -> "SHA256:..." */
static void
verify_ssh_key(char *out, size_t size, const char *line)
{
	const char	*p;
	size_t		 len = strcspn(line, "\n");

	out[0] = '\0';
	for (p = line + len; p > line && p[-1] != ' '; p--)
		;
	snprintf(out, size, "%.*s", (int)(line + len - p), p);
}

/*
 * ssh-keygen -Y verify -r says only "Could not verify signature" when the
 * key is revoked, as when the revocation file is unusable. Called when
 * verify failed with the revocation file and passed without it: is the
 * file a KRL or a list of public keys (then the key is revoked), or
 * something ssh-keygen cannot read (an error, not a verdict)?
 * Returns 1 revoked, -1 error.
 */
static int
verify_ssh_revoked(struct verify_tmp *t, const char *revoked,
    struct gs_error *err)
{
	char	*krl[] = { "ssh-keygen", "-Q", "-l", "-f", (char *)revoked,
	    NULL };
	char	*list[] = { "ssh-keygen", "-l", "-f", (char *)revoked, NULL };
	int	 status;

	if (verify_exec(t, krl, 0, &status, err) == -1)
		return -1;
	if (status == 0)
		return 1;
	if (verify_exec(t, list, 0, &status, err) == -1)
		return -1;
	if (status == 0)
		return 1;
	gs_error_set(err, GS_E_RUNTIME, 0, "verify.revoked_keys %s: neither a "
	    "KRL nor a list of public keys", revoked);
	return -1;
}

/*
 * SSH, as git does it: the signature must be sound (check-novalidate),
 * its key must belong to a principal of allowed_signers (find-principals,
 * which also applies valid-after/valid-before), and verify must accept
 * it for that principal, and its key must not be in revoked_keys (when
 * set). Returns 0 good, 1 rejected (why set), -1 error.
 */
static int
verify_ssh(struct verify_result *out, struct verify_tmp *t,
    const struct gs_verify_conf *vc, char *why, size_t whylen,
    struct gs_error *err)
{
	char	*allowed = vc->allowed_signers;
	char	*check[] = { "ssh-keygen", "-Y", "check-novalidate", "-n",
	    VERIFY_SSH_NAMESPACE, "-s", t->sig, NULL };
	char	*find[] = { "ssh-keygen", "-Y", "find-principals", "-s",
	    t->sig, "-f", allowed, NULL };
	char	*verify[] = { "ssh-keygen", "-Y", "verify", "-f", allowed,
	    "-I", NULL, "-n", VERIFY_SSH_NAMESPACE, "-s", t->sig, NULL, NULL,
	    NULL };
	char	*sout = NULL, *serr = NULL, principal[256], line[160];
	int	 status, ret = -1;

	out->kind = "ssh";
	if (verify_exec(t, check, 1, &status, err) == -1)
		goto out;
	sout = verify_slurp(t->out);
	if (status != 0) {
		snprintf(why, whylen, "bad signature");
		ret = 1;
		goto out;
	}
	verify_ssh_key(out->key, sizeof(out->key), sout);
	free(sout);
	sout = NULL;

	if (verify_exec(t, find, 0, &status, err) == -1)
		goto out;
	sout = verify_slurp(t->out);
	serr = verify_slurp(t->errout);
	if (status != 0 || sout[0] == '\0') {
		if (strstr(serr, "key has expired") != NULL)
			snprintf(why, whylen, "signature by a key expired in "
			    "allowed_signers (%s)", out->key);
		else if (strstr(serr, "not yet valid") != NULL)
			snprintf(why, whylen, "signature by a key not yet valid "
			    "in allowed_signers (%s)", out->key);
		else if (strstr(serr, "No principal matched") != NULL)
			snprintf(why, whylen, "signature by a key not in "
			    "allowed_signers (%s)", out->key);
		else {
			verify_first_line(line, sizeof(line), serr);
			gs_error_set(err, GS_E_RUNTIME, status, "ssh-keygen "
			    "-Y find-principals: %s", line);
			goto out;
		}
		ret = 1;
		goto out;
	}
	/* the first principal of the first matching line */
	snprintf(principal, sizeof(principal), "%.*s",
	    (int)strcspn(sout, ",\n"), sout);
	verify[6] = principal;
	if (vc->revoked_keys != NULL) {
		verify[11] = "-r";
		verify[12] = vc->revoked_keys;
	}
	if (verify_exec(t, verify, 1, &status, err) == -1)
		goto out;
	if (status != 0 && vc->revoked_keys != NULL) {
		/* the same check without the revocation file tells why */
		verify[11] = NULL;
		if (verify_exec(t, verify, 1, &status, err) == -1)
			goto out;
		if (status == 0) {
			if (verify_ssh_revoked(t, vc->revoked_keys, err) == -1)
				goto out;
			snprintf(why, whylen, "signature by a key revoked in "
			    "revoked_keys (%s)", out->key);
			ret = 1;
			goto out;
		}
	}
	if (status != 0) {
		free(serr);
		serr = verify_slurp(t->errout);
		verify_first_line(line, sizeof(line), serr);
		snprintf(why, whylen, "bad signature (%s)", line);
		ret = 1;
		goto out;
	}
	snprintf(out->signer, sizeof(out->signer), "%s", principal);
	ret = 0;
out:
	free(sout);
	free(serr);
	return ret;
}

/* the word after "[GNUPG:] KEYWORD " (a key id), into out */
static void
verify_gpg_word(char *out, size_t size, const char *args)
{
	snprintf(out, size, "%.*s", (int)strcspn(args, " \n"), args);
}

int
verify_gpg_status(const char *status, struct verify_result *out, char *why,
    size_t len)
{
	static const char	 pfx[] = "[GNUPG:] ";
	const char		*p, *args;
	char			 bad[64] = "", rev[64] = "", expkey[64] = "";
	char			 expsig[64] = "", nokey[64] = "";
	int			 good = 0, valid = 0;

	out->kind = "gpg";
	for (p = status; *p != '\0'; p += strcspn(p, "\n"),
	    p += *p == '\n') {
		if (strncmp(p, pfx, sizeof(pfx) - 1) != 0)
			continue;
		p += sizeof(pfx) - 1;
		args = p + strcspn(p, " \n");
		if (*args == ' ')
			args++;
		if (strncmp(p, "GOODSIG ", 8) == 0) {
			good = 1;
			/* the user id: the rest of the line */
			args += strcspn(args, " \n");
			if (*args == ' ')
				args++;
			util_quote(out->signer, sizeof(out->signer), args,
			    strcspn(args, "\n"));
		} else if (strncmp(p, "VALIDSIG ", 9) == 0) {
			valid = 1;
			verify_gpg_word(out->key, sizeof(out->key), args);
		} else if (strncmp(p, "BADSIG ", 7) == 0)
			verify_gpg_word(bad, sizeof(bad), args);
		else if (strncmp(p, "REVKEYSIG ", 10) == 0)
			verify_gpg_word(rev, sizeof(rev), args);
		else if (strncmp(p, "EXPKEYSIG ", 10) == 0)
			verify_gpg_word(expkey, sizeof(expkey), args);
		else if (strncmp(p, "EXPSIG ", 7) == 0)
			verify_gpg_word(expsig, sizeof(expsig), args);
		else if (strncmp(p, "ERRSIG ", 7) == 0 ||
		    strncmp(p, "NO_PUBKEY ", 10) == 0)
			verify_gpg_word(nokey, sizeof(nokey), args);
	}
	if (bad[0] != '\0')
		snprintf(why, len, "bad signature (%s)", bad);
	else if (rev[0] != '\0')
		snprintf(why, len, "signature by a revoked key (%s)", rev);
	else if (expkey[0] != '\0')
		snprintf(why, len, "signature by an expired key (%s)", expkey);
	else if (expsig[0] != '\0')
		snprintf(why, len, "expired signature (%s)", expsig);
	else if (nokey[0] != '\0')
		snprintf(why, len, "signature by a key not in gpg_keyring (%s)",
		    nokey);
	else if (!good || !valid)
		snprintf(why, len, "no valid signature");
	else
		return 0;
	return -1;
}

/* gpgv: 0 good, 1 rejected (why set), -1 error */
static int
verify_gpg(struct verify_result *out, struct verify_tmp *t,
    const char *keyring, char *why, size_t whylen, struct gs_error *err)
{
	char	*argv[] = { "gpgv", "--status-fd", "1", "--keyring",
	    (char *)keyring, t->sig, t->payload, NULL };
	char	*sout;
	int	 status, ret;

	if (verify_exec(t, argv, 0, &status, err) == -1)
		return -1;
	sout = verify_slurp(t->out);
	ret = verify_gpg_status(sout, out, why, whylen) == 0 ? 0 : 1;
	free(sout);
	/* gpgv's own verdict must agree */
	if (ret == 0 && status != 0) {
		snprintf(why, whylen, "bad signature (gpgv exit status %d)",
		    status);
		ret = 1;
	}
	return ret;
}

/* the file must be there before a verifier is asked about it */
static int
verify_readable(const char *path, const char *key, struct gs_error *err)
{
	if (access(path, R_OK) == -1)
		return gs_error_sys(err, "verify.%s %s", key, path);
	return 0;
}

int
verify_check(struct verify_result *out, struct gs_repo *repo,
    const struct gs_verify_conf *vc, const char *commit,
    struct gs_error *err)
{
	struct repo_signed	 s;
	struct verify_tmp	 t;
	char			 what[320], why[384];
	int			 rc = -1;

	memset(out, 0, sizeof(*out));
	memset(&t, 0, sizeof(t));
	if (vc->mode == GS_VERIFY_TAG) {
		if (repo_tag_signed(&s, repo, commit, err) == -1)
			return -1;
		snprintf(what, sizeof(what), "tag %s", s.refname);
	} else {
		if (repo_commit_signed(&s, repo, commit, err) == -1)
			return -1;
		snprintf(what, sizeof(what), "commit %s", commit);
	}
	why[0] = '\0';
	if (s.sig == NULL) {
		snprintf(why, sizeof(why), "not signed");
		rc = 1;
		goto out;
	}
	switch (verify_kind(s.sig)) {
	case VERIFY_SSH:
		if (vc->allowed_signers == NULL) {
			snprintf(why, sizeof(why), "signed with an SSH key but "
			    "no allowed_signers configured");
			rc = 1;
			goto out;
		}
		if (verify_readable(vc->allowed_signers, "allowed_signers",
		    err) == -1 || (vc->revoked_keys != NULL &&
		    verify_readable(vc->revoked_keys, "revoked_keys", err) ==
		    -1) || verify_tmp_new(&t, &s, err) == -1)
			goto out;
		rc = verify_ssh(out, &t, vc, why, sizeof(why), err);
		break;
	case VERIFY_GPG:
		if (vc->gpg_keyring == NULL) {
			snprintf(why, sizeof(why), "signed with an OpenPGP key "
			    "but no gpg_keyring configured");
			rc = 1;
			goto out;
		}
		if (verify_readable(vc->gpg_keyring, "gpg_keyring", err) == -1 ||
		    verify_tmp_new(&t, &s, err) == -1)
			goto out;
		rc = verify_gpg(out, &t, vc->gpg_keyring, why, sizeof(why), err);
		break;
	default:
		snprintf(why, sizeof(why), "signed in a format gitstrap "
		    "cannot check (only SSH and OpenPGP)");
		rc = 1;
		break;
	}
out:
	if (rc == 1)
		gs_error_set(err, GS_E_RUNTIME, 0, "%s: %s", what, why);
	else if (rc == -1)
		gs_error_prefix(err, "%s: cannot verify", what);
	verify_tmp_free(&t);
	repo_signed_free(&s);
	return rc == 0 ? 0 : -1;
}
