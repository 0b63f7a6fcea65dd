#!/bin/bash
# Credentials over smart HTTP with basic auth: password_file, password_env,
# userinfo in the URL; a wrong password and missing credentials fail with
# a clear line; the secret never reaches logs, status or the repo config.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/servers.sh"
. "$TOP_SRCDIR/tests/lib/fixtures.sh"

plan 14
setup_tmp

secret=canary-Secret-7f3a9
data_commit data 1 >/dev/null || bail_out "data repo"
start_http_git --auth "deploy:$secret" || bail_out "smart HTTP with auth"
url=$HTTP_GIT_URL/data.git
printf '%s\n' "$secret" >"$TMP/token"
printf 'wrong-password\n' >"$TMP/wrong"

conf() {	# NAME URL [EXTRA]
	data_conf "$1" "$2" "${3:-}" main
}

conf file "$url" "  auth: { username: deploy, password_file: $TMP/token }"
gs file run --once -c "$TMP/file.yml"
is "$GS_RC" 0 "password_file: boot succeeds"
is "$(cat "$TMP/www-file/site/index.html")" "<h1>data version 1</h1>" \
    "password_file: data served"

conf env "$url" "  auth: { username: deploy, password_env: GS_TEST_TOKEN }"
GS_TEST_TOKEN=$secret gs env run --once -c "$TMP/env.yml"
is "$GS_RC" 0 "password_env: boot succeeds"

conf userinfo "http://deploy:$secret@${url#http://}"
gs userinfo run --once -c "$TMP/userinfo.yml"
is "$GS_RC" 0 "userinfo in the URL: boot succeeds"
is "$(jqr "$TMP/state-userinfo/status.json" .data.repo)" "$url" \
    "status keeps the URL without userinfo"

conf wrong "$url" "  auth: { username: deploy, password_file: $TMP/wrong }"
gs wrong run --once -c "$TMP/wrong.yml"
is "$GS_RC" 1 "a wrong password exits 1"
like "$(grep 'ev=failure' "$TMP/wrong.err")" "authentication failed" \
    "a wrong password says authentication failed"
ok "a wrong password switches nothing" test ! -e "$TMP/www-wrong/site"

conf none "$url"
gs none run --once -c "$TMP/none.yml"
is "$GS_RC" 1 "no credentials exits 1"
like "$(grep 'ev=failure' "$TMP/none.err")" "no credentials are configured" \
    "missing credentials are named"

conf unset "$url" "  auth: { username: deploy, password_env: GS_TEST_UNSET }"
gs unset run --once -c "$TMP/unset.yml"
is "$GS_RC" 1 "an unset password_env exits 1"
like "$(cat "$TMP/unset.err")" "GS_TEST_UNSET is not set" \
    "the unset variable is named"

# the canary: nowhere in what gitstrap printed or wrote
hits=$(grep -rl -F -- "$secret" "$TMP"/*.err "$TMP"/*.out "$TMP"/state-* 2>/dev/null)
is "$hits" "" "the secret is in no log, status or state file"
hits=$(grep -rl -F -- "$secret" "$TMP"/state-*/data.git/config 2>/dev/null)
is "$hits" "" "the secret is not in the stored repo config"
