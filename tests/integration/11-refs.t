#!/bin/bash
# Refs and transports: branch, lightweight and annotated tags, a pinned
# commit, HEAD, a data-only tree deploy over git://, a missing ref, an
# unreachable server, a local path.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/servers.sh"
. "$TOP_SRCDIR/tests/lib/fixtures.sh"

plan 26
setup_tmp

v1=$(data_commit data 1) || bail_out "data repo"
v2=$(data_commit data 2) || bail_out "data repo"
bare=$TMP/git/data.git
git --git-dir="$bare" tag light "$v1"
GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t.invalid \
    git --git-dir="$bare" tag -a -m "release 1" annotated "$v1"
start_git_daemon || bail_out "git daemon"
start_http_git || bail_out "smart HTTP"

# conf NAME URL REF [EXTRA]: a data-only config
conf() {	# NAME URL REF [EXTRA]
	data_conf "$1" "$2" "${4:-}" "$3"
}

page() {
	cat "$TMP/www-$1/site/index.html" 2>/dev/null
}

for transport in http git; do
	if [ $transport = http ]; then url=$HTTP_GIT_URL/data.git; else url=$GIT_DAEMON_URL/data.git; fi

	conf "light-$transport" "$url" light
	gs "light-$transport" run --once -c "$TMP/light-$transport.yml"
	is "$(page "light-$transport")" "<h1>data version 1</h1>" \
	    "$transport: lightweight tag deploys its commit"

	conf "ann-$transport" "$url" annotated
	gs "ann-$transport" run --once -c "$TMP/ann-$transport.yml"
	is "$(page "ann-$transport")" "<h1>data version 1</h1>" \
	    "$transport: annotated tag deploys the commit it points to"
	is "$(jqr "$TMP/state-ann-$transport/status.json" .data.commit)" "$v1" \
	    "$transport: status has the peeled commit, not the tag object"

	conf "pin-$transport" "$url" "$v1"
	gs "pin-$transport" run --once -c "$TMP/pin-$transport.yml"
	is "$(page "pin-$transport")" "<h1>data version 1</h1>" \
	    "$transport: pinned commit id deploys that commit"

	conf "head-$transport" "$url" HEAD
	gs "head-$transport" run --once -c "$TMP/head-$transport.yml"
	is "$(page "head-$transport")" "<h1>data version 2</h1>" \
	    "$transport: HEAD follows the default branch"

	conf "bad-$transport" "$url" nosuchbranch
	gs "bad-$transport" run --once -c "$TMP/bad-$transport.yml"
	is "$GS_RC" 1 "$transport: a missing ref exits 1"
	like "$(cat "$TMP/bad-$transport.err")" \
	    "ref \\\\\"nosuchbranch\\\\\" not found" \
	    "$transport: the error names the ref"
	like "$(grep 'ev=failure' "$TMP/bad-$transport.err")" "data.git" \
	    "$transport: the error names the repo"
	ok "$transport: nothing switched on a missing ref" \
	    test ! -e "$TMP/www-bad-$transport/site"
done

# a pinned commit that no branch or tag contains
conf gone "$HTTP_GIT_URL/data.git" 0123456789abcdef0123456789abcdef01234567
gs gone run --once -c "$TMP/gone.yml"
is "$GS_RC" 1 "an unknown commit id exits 1"
like "$(cat "$TMP/gone.err")" "commit 0123456789abcdef0123456789abcdef01234567 not found" \
    "the error names the commit"

# unreachable server: a port nothing listens on
port=$(free_port)
conf down "http://127.0.0.1:$port/data.git" main
gs down run --once -c "$TMP/down.yml"
is "$GS_RC" 1 "an unreachable server exits 1"
like "$(grep 'ev=failure' "$TMP/down.err")" "127.0.0.1:$port" \
    "the error names the server"

# depth over git:// falls back to full history, and says why
conf shallow-git "$GIT_DAEMON_URL/data.git" main "  depth: 1"
gs shallow-git run --once -c "$TMP/shallow-git.yml"
is "$(page shallow-git)" "<h1>data version 2</h1>" "git:// with depth deploys"
like "$(cat "$TMP/shallow-git.err")" "ev=repo.full_history .*reason=" \
    "git:// with depth logs why it fetches full history"

# a local path, and a tree deployed as is (no unpack list)
write_config "$TMP/local.yml" <<YML
state_dir: $TMP/state-local
data:
  repo: $bare
  ref: main
  target: $TMP/www-local/site
YML
gs local run --once -c "$TMP/local.yml"
is "$GS_RC" 0 "a local path works"
is "$(cat "$TMP/www-local/site/README")" "data repo of version 2" \
    "without unpack the tree itself is deployed"
