#!/bin/bash
# `gitstrap check --user-data` on every document of the bad user-data
# corpus (tests/corpus/userdata/bad: NAME and NAME.err): exit 2, exactly
# one line on stderr, the one in NAME.err, and bounded memory. Then the
# good forms from files: #gitstrap, gzip'd #cloud-config, MIME.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/servers.sh"
. "$TOP_SRCDIR/tests/lib/fixtures.sh"

corpus=$TOP_SRCDIR/tests/corpus/userdata/bad
mapfile -t docs < <(cd "$corpus" && ls | grep -v '\.err$' | sort)
[ "${#docs[@]}" -ge 15 ] || bail_out "corpus: only ${#docs[@]} documents"

plan $((${#docs[@]} + 4))
setup_tmp
unset GITSTRAP_STATE_DIR

# 512 MB of address space is plenty for one check. Sanitizer builds map
# terabytes of shadow memory and cannot run under any such limit.
limit=524288
if ! (ulimit -v "$limit" && "$GITSTRAP" version) >/dev/null 2>&1; then
	diag "gitstrap cannot start under ulimit -v $limit (sanitizers?):" \
	    "the corpus runs without a memory bound"
	limit=unlimited
fi

for doc in "${docs[@]}"; do
	rc=0
	(cd "$corpus" && ulimit -v "$limit" &&
	    exec ${GITSTRAP_WRAPPER:-} "$GITSTRAP" check --user-data "$doc") \
	    >"$TMP/out" 2>"$TMP/err" || rc=$?
	want=$(cat "$corpus/$doc.err")
	if [ "$rc" -eq 2 ] && [ "$(wc -l <"$TMP/err")" -eq 1 ] &&
	    [ "$(cat "$TMP/err")" = "$want" ] && [ ! -s "$TMP/out" ]; then
		pass "$doc: exit 2 and one line"
	else
		fail "$doc: exit 2 and one line"
		diag "exit $rc; want: $want" "got:" "$(head -c 2000 "$TMP/err")"
	fi
done

cat >"$TMP/good.cc" <<'YML'
#cloud-config
packages: [nginx]
gitstrap:
  data:
    repo: https://example.com/data.git
    target: /srv/www
YML
gzip -9n <"$TMP/good.cc" >"$TMP/good.cc.gz"
gs gz check --user-data "$TMP/good.cc.gz"
is "$GS_RC" 0 "gzip'd #cloud-config: check exits 0"
is "$(cat "$TMP/gz.out" "$TMP/gz.err")" "" "and prints nothing"

{
	printf 'Content-Type: multipart/mixed; boundary="b"\nMIME-Version: 1.0\n\n'
	printf -- '--b\nContent-Type: text/x-shellscript\n\n#!/bin/sh\ntrue\n\n'
	printf -- '--b\nContent-Type: text/x-gitstrap-config\n'
	printf 'Content-Transfer-Encoding: base64\n\n'
	printf 'data:\n  repo: https://example.com/data.git\n  target: /srv/www\n' |
	    base64
	printf -- '\n--b--\n'
} >"$TMP/good.mime"
gs mime check --user-data "$TMP/good.mime"
is "$GS_RC" 0 "MIME with a base64 text/x-gitstrap-config part: exit 0"

gs missing check --user-data "$TMP/nothing-here"
is "$(cat "$TMP/missing.err")" \
    "$TMP/nothing-here: No such file or directory" \
    "a missing user-data file is named"
