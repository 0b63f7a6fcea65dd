#!/bin/bash
# Signed commits and tags: service.verify and data.verify with real SSH
# and OpenPGP keys, real signatures made by git, served by a git daemon.
# A revision that does not verify is never run (recipe) nor published
# (data), and the previous release keeps serving.
#
# Expired keys: for SSH, an allowed_signers entry with valid-before in
# the past (ssh-keygen applies it at the time of the check); for OpenPGP,
# a key made and used at a faked time in 2020 (gpg --faked-system-time)
# that expired at the end of that year. Revoked: an OpenPGP key whose own
# revocation certificate (the one gpg writes when it makes a key) has been
# imported into the keyring; for SSH, a key in revoked_keys, as a plain
# list of public keys and as a KRL (ssh-keygen -k).
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/servers.sh"
. "$TOP_SRCDIR/tests/lib/fixtures.sh"

for t in ssh-keygen gpg gpgv; do
	command -v "$t" >/dev/null || skip_all "$t is not installed"
done

plan 98
setup_tmp
# the verifier's private dirs go here, where the test can look for them
export TMPDIR=$TMP/tmpdir
mkdir -m 0700 "$TMPDIR"

# has FILE STRING DESC: FILE holds STRING (no regex: key ids have '+')
has() {
	if grep -qF -- "$2" "$1"; then
		pass "$3"
	else
		fail "$3"
		diag "no \"$2\" in $1:" "$(cat "$1")"
	fi
}

# ---- keys ----
K=$TMP/keys
mkdir -p "$K"
chmod 0700 "$K"
for k in good stranger old; do
	ssh-keygen -q -t ed25519 -N '' -C "$k" -f "$K/$k" || bail_out "ssh-keygen"
done
{
	printf 'good@test %s\n' "$(cat "$K/good.pub")"
	printf 'old@test valid-before="20200101" %s\n' "$(cat "$K/old.pub")"
} >"$K/allowed_signers"
fp() { ssh-keygen -lf "$1" | awk '{ print $2 }'; }
FP_STRANGER=$(fp "$K/stranger.pub")
FP_OLD=$(fp "$K/old.pub")
FP_GOOD=$(fp "$K/good.pub")

export GNUPGHOME=$TMP/gnupg
mkdir -m 0700 "$GNUPGHOME"
gpg_q() { gpg --batch --quiet --no-tty "$@" 2>>"$TMP/gpg.log"; }
gpg_q --passphrase '' --quick-gen-key 'Good Signer <gpg@test>' ed25519 sign never ||
    bail_out "gpg key"
gpg_q --passphrase '' --quick-gen-key 'Revoked Signer <rev@test>' ed25519 sign never ||
    bail_out "gpg key"
gpg_q --passphrase '' --quick-gen-key 'Stranger <stranger@test>' ed25519 sign never ||
    bail_out "gpg key"
gpg_q --faked-system-time 20200101T000000 --passphrase '' \
    --quick-gen-key 'Old Signer <oldgpg@test>' ed25519 sign 1y || bail_out "gpg key"
keyid() { gpg --batch --with-colons --list-keys "$1" 2>/dev/null | awk -F: '$1 == "pub" { print $5; exit }'; }
fpr() { gpg --batch --with-colons --list-keys "$1" 2>/dev/null | awk -F: '$1 == "fpr" { print $10; exit }'; }
ID_STRANGER=$(keyid stranger@test)
ID_OLD=$(keyid oldgpg@test)
ID_REV=$(keyid rev@test)
FPR_GOOD=$(fpr gpg@test)
# signing in 2020, while the old key was valid
cat >"$K/gpg-2020" <<'SH'
#!/bin/sh
exec gpg --faked-system-time 20200601T000000 "$@"
SH
chmod +x "$K/gpg-2020"

SSH_GOOD=(-c gpg.format=ssh -c "user.signingkey=$K/good")
SSH_STRANGER=(-c gpg.format=ssh -c "user.signingkey=$K/stranger")
SSH_OLD=(-c gpg.format=ssh -c "user.signingkey=$K/old")
GPG_GOOD=(-c gpg.format=openpgp -c user.signingkey=gpg@test)
GPG_REV=(-c gpg.format=openpgp -c user.signingkey=rev@test)
GPG_STRANGER=(-c gpg.format=openpgp -c user.signingkey=stranger@test)
GPG_OLD=(-c gpg.format=openpgp -c user.signingkey=oldgpg@test -c "gpg.program=$K/gpg-2020")

# resign REPO GITOPTS...: replace the tip of main by the same commit,
# signed with the key GITOPTS name. Prints the new commit id.
resign() {
	local bare=$TMP/git/$1.git tree parent msg c

	shift
	tree=$(_gs_git --git-dir="$bare" rev-parse "main^{tree}") || return 1
	parent=$(_gs_git --git-dir="$bare" rev-parse -q --verify "main^") || parent=
	msg=$(_gs_git --git-dir="$bare" log -1 --format=%B main) || return 1
	c=$(printf '%s\n' "$msg" | _gs_git "$@" --git-dir="$bare" \
	    commit-tree -S "$tree" ${parent:+-p "$parent"} 2>>"$TMP/sign.log") ||
	    return 1
	_gs_git --git-dir="$bare" update-ref refs/heads/main "$c" || return 1
	printf '%s\n' "$c"
}

# signed_commit REPO VERSION GITOPTS...: a data commit, signed
signed_commit() {
	local repo=$1 version=$2

	shift 2
	data_commit "$repo" "$version" >/dev/null || return 1
	resign "$repo" "$@"
}

# sync_signed NAME VERSION GITOPTS...: data version VERSION committed to
# repo NAME, signed with the key GITOPTS name, then `sync -c NAME.yml` as
# run NAME<VERSION>; c is the new commit
sync_signed() {
	local name=$1 version=$2

	shift 2
	c=$(signed_commit "$name" "$version" "$@") || bail_out "commit"
	gs "$name$version" sync -c "$TMP/$name.yml"
}

# release_count STATE: how many releases were built for $TMP/state-NAME
# (they live beside its target, $TMP/www-NAME/site)
release_count() {
	find "$(releases_of "$TMP/www-${1##*/state-}/site")" -mindepth 1 -maxdepth 1 ! -name ".*" 2>/dev/null | wc -l
}

start_git_daemon || bail_out "git daemon"

# the keyring holds the good, revoked and old keys; not the stranger's
gpg_export() { gpg --batch --export gpg@test rev@test oldgpg@test >"$K/keyring.gpg"; }
gpg_export || bail_out "gpg export"

dconf() {	# NAME REPO VERIFY [REF]
	write_config "$TMP/$1.yml" <<YML
state_dir: $TMP/state-$1
data:
  repo: $GIT_DAEMON_URL/$2.git
  ref: ${4:-main}
  target: $TMP/www-$1/site
  unpack: [ { archive: cache_storage_for_open_qa.tar.gz, strip_components: 2 } ]
  verify: $3
YML
}

# expect_config_error NAME AT WANT DESC: `check` of $TMP/NAME.yml exits 2
# with WANT at line 7, at the column just after the text AT
expect_config_error() {
	local col

	gs "$1" check -c "$TMP/$1.yml"
	is "$GS_RC" 2 "$4"
	col=$(awk -v at="$2" 'NR == 7 { print index($0, at) + length(at) }' \
	    "$TMP/$1.yml")
	is "$(grep -v ev=transport "$TMP/$1.err")" "$TMP/$1.yml:7:$col: $3" \
	    "$4: the error names the place"
}

# expect_refused NAME ERROR DESC: the run exited 1 with exactly ERROR,
# published nothing new, and the previous page (if any) is still served
expect_refused() {
	local name=$1 want=$2 desc=$3 page=${4:-}

	is "$GS_RC" 1 "$desc: exits 1"
	is "$(jqr "$TMP/state-$name/status.json" .last_error)" "$want" \
	    "$desc: the error names the commit and why"
	if [ -n "$page" ]; then
		is "$(cat "$TMP/www-$name/site/index.html" 2>/dev/null)" "$page" \
		    "$desc: the previous release keeps serving"
	else
		ok "$desc: nothing is published" test ! -e "$TMP/www-$name/site"
	fi
}

# ---- data, SSH signatures ----
c=$(signed_commit ds 1 "${SSH_GOOD[@]}") || bail_out "signed commit"
dconf ds ds "{ allowed_signers: $K/allowed_signers }"
gs ds1 run --once -c "$TMP/ds.yml"
is "$GS_RC" 0 "a commit signed by an allowed SSH key deploys"
is "$(cat "$TMP/www-ds/site/index.html" 2>/dev/null)" "<h1>data version 1</h1>" \
    "ssh: the page is served"
has "$TMP/ds1.err" \
    "ev=verify.ok repo=data commit=${c:0:12} ref=main mode=head kind=ssh signer=good@test key=$FP_GOOD" \
    "the signer and key are logged"
is "$(ls -A "$TMPDIR")" "" "the verifier's temporary files are removed"
is "$(jqr "$TMP/state-ds/status.json" '.data.signer + " " + .data.signing_key')" \
    "good@test $FP_GOOD" "status.json names the signer and key"

c=$(data_commit ds 2) || bail_out "commit"
gs ds2 sync -c "$TMP/ds.yml"
expect_refused ds "data: commit $c: not signed" "unsigned" "<h1>data version 1</h1>"
is "$(release_count "$TMP/state-ds")" 1 "unsigned: no release is built"

sync_signed ds 3 "${SSH_STRANGER[@]}"
expect_refused ds "data: commit $c: signature by a key not in allowed_signers ($FP_STRANGER)" \
    "unknown SSH key" "<h1>data version 1</h1>"

sync_signed ds 4 "${SSH_OLD[@]}"
expect_refused ds "data: commit $c: signature by a key expired in allowed_signers ($FP_OLD)" \
    "SSH key past its valid-before" "<h1>data version 1</h1>"

# a good signature over other content: same headers and gpgsig, another
# message, written as is
c=$(signed_commit ds 5 "${SSH_GOOD[@]}") || bail_out "commit"
forged=$(_gs_git --git-dir="$TMP/git/ds.git" cat-file commit "$c" |
    sed 's/^data v5$/data v5, forged/' |
    _gs_git --git-dir="$TMP/git/ds.git" hash-object -t commit -w --literally --stdin) ||
    bail_out "forged commit"
_gs_git --git-dir="$TMP/git/ds.git" update-ref refs/heads/main "$forged"
gs ds5 sync -c "$TMP/ds.yml"
expect_refused ds "data: commit $forged: bad signature" \
    "signature over different content" "<h1>data version 1</h1>"

sync_signed ds 6 "${GPG_GOOD[@]}"
expect_refused ds "data: commit $c: signed with an OpenPGP key but no gpg_keyring configured" \
    "OpenPGP signature, SSH keys only" "<h1>data version 1</h1>"
is "$(release_count "$TMP/state-ds")" 1 "no refused commit built a release"
is "$(jqr "$TMP/state-ds/status.json" .data.signer)" good@test \
    "status.json still names the signer of what is served"

sync_signed ds 7 "${SSH_GOOD[@]}"
is "$GS_RC" 0 "the next good commit deploys"
is "$(cat "$TMP/www-ds/site/index.html" 2>/dev/null)" "<h1>data version 7</h1>" \
    "and is served"

# ---- data, OpenPGP signatures ----
c=$(signed_commit dg 1 "${GPG_GOOD[@]}") || bail_out "gpg signed commit"
dconf dg dg "{ gpg_keyring: $K/keyring.gpg }"
gs dg1 run --once -c "$TMP/dg.yml"
is "$GS_RC" 0 "a commit signed by a key in gpg_keyring deploys"
has "$TMP/dg1.err" \
    "ev=verify.ok repo=data commit=${c:0:12} ref=main mode=head kind=gpg signer=\"Good Signer <gpg@test>\" key=$FPR_GOOD" \
    "the OpenPGP signer and fingerprint are logged"

sync_signed dg 2 "${GPG_STRANGER[@]}"
expect_refused dg "data: commit $c: signature by a key not in gpg_keyring ($ID_STRANGER)" \
    "unknown OpenPGP key" "<h1>data version 1</h1>"

sync_signed dg 3 "${GPG_OLD[@]}"
expect_refused dg "data: commit $c: signature by an expired key ($ID_OLD)" \
    "expired OpenPGP key" "<h1>data version 1</h1>"

# signed while valid, revoked since
c=$(signed_commit dg 4 "${GPG_REV[@]}") || bail_out "commit"
fpr_rev=$(fpr rev@test)
sed 's/^:-----BEGIN/-----BEGIN/' "$GNUPGHOME/openpgp-revocs.d/$fpr_rev.rev" >"$K/rev.asc"
gpg_q --import "$K/rev.asc" || bail_out "import revocation"
gpg_export || bail_out "gpg export"
gs dg4 sync -c "$TMP/dg.yml"
expect_refused dg "data: commit $c: signature by a revoked key ($ID_REV)" \
    "revoked OpenPGP key" "<h1>data version 1</h1>"

sync_signed dg 5 "${SSH_GOOD[@]}"
expect_refused dg "data: commit $c: signed with an SSH key but no allowed_signers configured" \
    "SSH signature, OpenPGP keys only" "<h1>data version 1</h1>"
is "$(release_count "$TMP/state-dg")" 1 "no refused commit built a release"

# ---- data, SSH revocation: revoked_keys, a KRL or a list of keys ----
ssh-keygen -q -t ed25519 -N '' -C gone -f "$K/gone" || bail_out "ssh-keygen"
printf 'gone@test %s\n' "$(cat "$K/gone.pub")" >>"$K/allowed_signers"
SSH_GONE=(-c gpg.format=ssh -c "user.signingkey=$K/gone")
FP_GONE=$(fp "$K/gone.pub")
: >"$K/revoked"
c=$(signed_commit dr 1 "${SSH_GONE[@]}") || bail_out "commit"
dconf dr dr "{ allowed_signers: $K/allowed_signers, revoked_keys: $K/revoked }"
gs dr1 run --once -c "$TMP/dr.yml"
is "$GS_RC" 0 "an empty revoked_keys revokes nothing"
cat "$K/stranger.pub" >"$K/revoked"
sync_signed dr 2 "${SSH_GONE[@]}"
is "$GS_RC" 0 "a revoked key list without the signing key"
is "$(cat "$TMP/www-dr/site/index.html" 2>/dev/null)" "<h1>data version 2</h1>" \
    "and its commit is served"
cat "$K/gone.pub" >>"$K/revoked"
sync_signed dr 3 "${SSH_GONE[@]}"
expect_refused dr "data: commit $c: signature by a key revoked in revoked_keys ($FP_GONE)" \
    "SSH key in a revoked key list" "<h1>data version 2</h1>"
ssh-keygen -q -k -f "$K/revoked.krl" "$K/gone.pub" 2>/dev/null || bail_out "KRL"
dconf dr dr "{ allowed_signers: $K/allowed_signers, revoked_keys: $K/revoked.krl }"
gs dr4 sync -c "$TMP/dr.yml"
expect_refused dr "data: commit $c: signature by a key revoked in revoked_keys ($FP_GONE)" \
    "SSH key in a KRL" "<h1>data version 2</h1>"
sync_signed dr 5 "${SSH_GOOD[@]}"
is "$GS_RC" 0 "a key the KRL does not revoke deploys"
is "$(cat "$TMP/www-dr/site/index.html" 2>/dev/null)" "<h1>data version 5</h1>" \
    "and is served"
is "$(release_count "$TMP/state-dr")" 3 "no revoked commit built a release"
# a revocation file ssh-keygen cannot read is an error, not a verdict
printf 'not a key\n' >"$K/revoked.bad"
dconf dr dr "{ allowed_signers: $K/allowed_signers, revoked_keys: $K/revoked.bad }"
sync_signed dr 6 "${SSH_GOOD[@]}"
is "$GS_RC" 1 "an unreadable revoked_keys file fails the run"
is "$(jqr "$TMP/state-dr/status.json" .last_error)" \
    "data: commit $c: cannot verify: verify.revoked_keys $K/revoked.bad: neither a KRL nor a list of public keys" \
    "and says what is wrong with it"
is "$(cat "$TMP/www-dr/site/index.html" 2>/dev/null)" "<h1>data version 5</h1>" \
    "the previous release keeps serving"
dconf dr dr "{ allowed_signers: $K/allowed_signers, revoked_keys: $TMP/nonexistent }"
gs dr7 sync -c "$TMP/dr.yml"
like "$(jqr "$TMP/state-dr/status.json" .last_error)" \
    "cannot verify: verify.revoked_keys $TMP/nonexistent: No such file" \
    "a missing revoked_keys file is named"
dconf drc dr "{ gpg_keyring: $K/keyring.gpg, revoked_keys: $K/revoked }"
expect_config_error drc "revoked_keys: " \
    "data.verify.revoked_keys: revokes SSH keys: needs allowed_signers" \
    "revoked_keys without allowed_signers is a config error"

# both kinds allowed
dconf both dg "{ allowed_signers: $K/allowed_signers, gpg_keyring: $K/keyring.gpg }"
gs both run --once -c "$TMP/both.yml"
is "$GS_RC" 0 "with both configured, an SSH-signed commit deploys"

# ---- service: an unverified recipe never runs ----
svc=$(make_bare_repo svc) || bail_out "service repo"
mkdir -p "$TMP/work-svc/gitstrap"
cat >"$TMP/work-svc/gitstrap/recipe.yml" <<YML
name: marker
steps:
  - run: "echo ran > $TMP/marker"
YML
commit_tree "$svc" "$TMP/work-svc" "service v1" >/dev/null || bail_out "service commit"
c=$(_gs_git --git-dir="$svc" rev-parse main)
sconf() {
	write_config "$TMP/svc.yml" <<YML
state_dir: $TMP/state-svc
service:
  repo: $GIT_DAEMON_URL/svc.git
  recipe: gitstrap/recipe.yml
  verify: { allowed_signers: $K/allowed_signers }
data:
  repo: $GIT_DAEMON_URL/ds.git
  target: $TMP/www-svc/site
  unpack: [ { archive: cache_storage_for_open_qa.tar.gz, strip_components: 2 } ]
YML
}
sconf
gs svc1 run --once -c "$TMP/svc.yml"
is "$GS_RC" 1 "an unsigned service commit fails the boot"
is "$(jqr "$TMP/state-svc/status.json" .last_error)" "service: commit $c: not signed" \
    "the error names the service commit"
ok "the recipe did not run" test ! -e "$TMP/marker"
ok "no data is published without the service" test ! -e "$TMP/www-svc/site"
c=$(resign svc "${SSH_STRANGER[@]}") || bail_out "resign"
gs svc2 run --once -c "$TMP/svc.yml"
is "$(jqr "$TMP/state-svc/status.json" .last_error)" \
    "service: commit $c: signature by a key not in allowed_signers ($FP_STRANGER)" \
    "a service commit by an unknown key is refused"
ok "the recipe still did not run" test ! -e "$TMP/marker"
c=$(resign svc "${SSH_GOOD[@]}") || bail_out "resign"
gs svc3 run --once -c "$TMP/svc.yml"
is "$GS_RC" 0 "a signed service commit boots"
ok "its recipe ran" test -e "$TMP/marker"
has "$TMP/svc3.err" "ev=verify.ok repo=service commit=${c:0:12}" \
    "the service signer is logged"
is "$(jqr "$TMP/state-svc/status.json" .service.signer)" good@test \
    "status.json names the service signer"

# ---- mode tag ----
data_commit dt 1 >/dev/null || bail_out "commit"
tagged=$(_gs_git --git-dir="$TMP/git/dt.git" rev-parse main)
_gs_git "${SSH_GOOD[@]}" --git-dir="$TMP/git/dt.git" tag -s -m "release 1" v1 main ||
    bail_out "signed tag"
dconf dt dt "{ allowed_signers: $K/allowed_signers, mode: tag }" v1
gs dt1 run --once -c "$TMP/dt.yml"
is "$GS_RC" 0 "mode tag: a tag signed by an allowed key deploys"
is "$(cat "$TMP/www-dt/site/index.html" 2>/dev/null)" "<h1>data version 1</h1>" \
    "mode tag: the tagged commit is served"
has "$TMP/dt1.err" "ref=v1 mode=tag kind=ssh signer=good@test key=$FP_GOOD" \
    "mode tag: the signer is logged"
gs dt1b sync -c "$TMP/dt.yml"
is "$GS_RC" 0 "mode tag: an unchanged poll verifies again and passes"

data_commit dt 2 >/dev/null || bail_out "commit"
_gs_git --git-dir="$TMP/git/dt.git" tag -a -m "release 2" v2 main || bail_out "tag"
dconf dt dt "{ allowed_signers: $K/allowed_signers, mode: tag }" v2
gs dt2 sync -c "$TMP/dt.yml"
expect_refused dt "data: tag refs/tags/v2: not signed" "mode tag: unsigned tag" \
    "<h1>data version 1</h1>"

_gs_git "${SSH_STRANGER[@]}" --git-dir="$TMP/git/dt.git" tag -s -m "release 2" v2s main ||
    bail_out "signed tag"
dconf dt dt "{ allowed_signers: $K/allowed_signers, mode: tag }" v2s
gs dt3 sync -c "$TMP/dt.yml"
expect_refused dt "data: tag refs/tags/v2s: signature by a key not in allowed_signers ($FP_STRANGER)" \
    "mode tag: tag by an unknown key" "<h1>data version 1</h1>"

# a signed tag whose message was changed after signing
_gs_git "${SSH_GOOD[@]}" --git-dir="$TMP/git/dt.git" tag -s -m "release 2" v2g main ||
    bail_out "signed tag"
forged=$(_gs_git --git-dir="$TMP/git/dt.git" cat-file tag v2g |
    sed 's/^release 2$/release 2, forged/' |
    _gs_git --git-dir="$TMP/git/dt.git" hash-object -t tag -w --literally --stdin) ||
    bail_out "forged tag"
_gs_git --git-dir="$TMP/git/dt.git" update-ref refs/tags/v2f "$forged"
dconf dt dt "{ allowed_signers: $K/allowed_signers, mode: tag }" v2f
gs dt4 sync -c "$TMP/dt.yml"
expect_refused dt "data: tag refs/tags/v2f: bad signature" \
    "mode tag: a tag changed after signing" "<h1>data version 1</h1>"

dconf dt dt "{ allowed_signers: $K/allowed_signers, mode: tag }" main
gs dt5 sync -c "$TMP/dt.yml"
expect_refused dt "data: ref \"main\" (refs/heads/main) is not an annotated tag, as verify.mode tag needs" \
    "mode tag: a branch named without refs/heads/" "<h1>data version 1</h1>"
is "$(release_count "$TMP/state-dt")" 1 "mode tag: no refused tag built a release"

dconf dtc dt "{ allowed_signers: $K/allowed_signers, mode: tag }" refs/heads/main
expect_config_error dtc "mode: " \
    "data.verify.mode: tag needs data.ref to name a tag, not \"refs/heads/main\"" \
    "mode tag with a refs/heads/ ref is a config error"
dconf dtc dt "{ allowed_signers: $K/allowed_signers, mode: tag }" "$tagged"
gs dtc2 check -c "$TMP/dtc.yml"
is "$GS_RC" 2 "mode tag with a commit id is a config error"

# ---- the verifier's files must be there ----
dconf nofile ds "{ allowed_signers: $TMP/nonexistent }"
gs nofile run --once -c "$TMP/nofile.yml"
is "$GS_RC" 1 "a missing allowed_signers file fails the run"
like "$(jqr "$TMP/state-nofile/status.json" .last_error)" \
    "cannot verify: verify.allowed_signers $TMP/nonexistent: No such file" \
    "the missing file is named"
ok "and nothing is published" test ! -e "$TMP/www-nofile/site"

# ---- a mirror gc keeps the tag object: a later poll moves no objects ----
dconf gc dt "{ allowed_signers: $K/allowed_signers, mode: tag }" v1
gs gc1 run --once -c "$TMP/gc.yml"
is "$GS_RC" 0 "mode tag: boot"
for i in 2 3; do
	_gs_git "${SSH_GOOD[@]}" --git-dir="$TMP/git/dt.git" tag -f -s \
	    -m "release 1, take $i" v1 main >/dev/null 2>&1 || bail_out "retag"
	gs "gc$i" sync -c "$TMP/gc.yml"
done
is "$GS_RC" 0 "mode tag: a re-signed tag verifies"
like "$(cat "$TMP/gc2.err" "$TMP/gc3.err")" "ev=repo.gc " "the mirror was repacked"
tag=$(_gs_git --git-dir="$TMP/git/dt.git" rev-parse refs/tags/v1)
is "$(_gs_git --git-dir="$TMP/state-gc/data.git" cat-file -t "$tag" 2>&1)" tag \
    "the repack kept the tag object"
n=$(jqr "$TMP/state-gc/status.json" .fetches.data)
gs gc4 sync -c "$TMP/gc.yml"
is "$GS_RC" 0 "mode tag: an unchanged poll after the repack"
is "$(jqr "$TMP/state-gc/status.json" .fetches.data)" "$n" \
    "and it fetched nothing"
