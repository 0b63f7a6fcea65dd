#!/bin/bash
# Secrets never leak. Credentials that are canary tokens go through the
# success path and every failure path (bad password, unreachable host, bad
# ref, failing recipe, failing webhook, resident loop); then every output and
# every file gitstrap wrote is searched for them: zero hits. Recipe steps get
# a scrubbed environment, not gitstrap's credentials; the process title of
# the resident process names no secret.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/servers.sh"
. "$TOP_SRCDIR/tests/lib/fixtures.sh"

plan 26
setup_tmp

# The server's password, a wrong one, one passed in the environment of
# gitstrap, and one in a webhook URL: all must stay out of everything.
good=CANARY-good-4b1d7e
wrong=CANARY-wrong-92c0aa
hook=CANARY-hook-5e8f31
canaries="$good|$wrong|$hook"

data_commit data 1 >/dev/null || bail_out "data repo"
bare=$(make_bare_repo svc) || bail_out "service repo"
mkdir -p "$TMP/work-svc/gitstrap"
cat >"$TMP/work-svc/gitstrap/recipe.yml" <<'YML'
name: canary
vars: { dump: /nonexistent, fail: "false" }
steps:
  - run: "env > {{ dump }}"
  - run: "test {{ fail }} = false"
YML
commit_tree "$bare" "$TMP/work-svc" "service v1" >/dev/null || bail_out "commit"

start_http_git --auth "deploy:$good" || bail_out "smart HTTP with auth"
start_hook_sink || bail_out "hook sink"
url=$HTTP_GIT_URL
printf '%s\n' "$good" >"$TMP/good.token"
printf '%s\n' "$wrong" >"$TMP/wrong.token"
dead=$(free_port)

# conf NAME DATA_URL DATA_AUTH [REF] [FAIL]: service over authenticated
# HTTP with the password in the environment, data as given
conf() {
	write_config "$TMP/$1.yml" <<YML
state_dir: $TMP/state-$1
service:
  repo: $url/svc.git
  ref: main
  recipe: gitstrap/recipe.yml
  vars: { dump: "$TMP/env-$1.txt", fail: "${5:-false}" }
  auth: { username: deploy, password_env: GS_CANARY_TOKEN }
data:
  repo: $2
  ref: ${4:-main}
  target: $TMP/www-$1/site
  unpack: [ { archive: cache_storage_for_open_qa.tar.gz, strip_components: 2 } ]
  auth: $3
  interval: 1s
notify: { webhook: "${HOOK_URL%/*}/$hook" }
YML
}

# boot NAME: run --once with the good token in gitstrap's environment
boot() {
	GS_CANARY_TOKEN=$good gs "$1" run --once -c "$TMP/$1.yml"
}

conf ok "$url/data.git" "{ username: deploy, password_file: $TMP/good.token }"
boot ok
is "$GS_RC" 0 "success: boot with the canary credentials"
is "$(cat "$TMP/www-ok/site/index.html")" "<h1>data version 1</h1>" \
    "success: the page is published"

# the recipe's environment: only what it declares and GITSTRAP_*
ok "the recipe step dumped its environment" test -s "$TMP/env-ok.txt"
nok "recipe steps do not get gitstrap's credential variables" \
    grep -q '^GS_CANARY_TOKEN=' "$TMP/env-ok.txt"
is "$(grep -v -E '^(GITSTRAP_[A-Z0-9_]+|PATH|HOME|LANG|LC_ALL|PWD|SHLVL|_|TERM)=' \
    "$TMP/env-ok.txt" | grep -v '^[[:space:]]' | cut -d= -f1 | sort -u | tr '\n' ' ')" "" \
    "recipe steps get a clean environment (no other variables)"

conf wrongpw "$url/data.git" "{ username: deploy, password_file: $TMP/wrong.token }"
boot wrongpw
is "$GS_RC" 1 "bad password: exit 1"
like "$(grep ev=failure "$TMP/wrongpw.err")" "authentication failed" \
    "bad password: named as such"

conf userinfo "http://deploy:$wrong@127.0.0.1:$dead/data.git" "{}"
boot userinfo
is "$GS_RC" 1 "unreachable host with userinfo in the URL: exit 1"
like "$(grep ev=failure "$TMP/userinfo.err")" "127.0.0.1:$dead" \
    "unreachable host: the host is named"

conf badref "$url/data.git" "{ username: deploy, password_file: $TMP/good.token }" \
    no-such-branch
boot badref
is "$GS_RC" 1 "bad ref: exit 1"
like "$(grep ev=failure "$TMP/badref.err")" "no-such-branch" \
    "bad ref: the ref is named"

conf recipe "$url/data.git" "{ username: deploy, password_file: $TMP/good.token }" \
    main true
boot recipe
is "$GS_RC" 1 "recipe failure: exit 1"
ok "recipe failure: a failure notice went to the webhook" \
    wait_for -t 10 grep -q '"event": *"failure"' "$HOOK_LOG"

# a literal password is accepted, with a warning, and scrubbed all the same
conf literal "$url/data.git" "{ username: deploy, password: \"$good\" }"
boot literal
is "$GS_RC" 0 "a literal password works"
like "$(cat "$TMP/literal.err")" "ev=config.secret_literal" \
    "a literal password draws a warning"

# resident: the process title and its children name no secret
conf loop "$url/data.git" "{ username: deploy, password_file: $TMP/good.token }"
GS_CANARY_TOKEN=$good "$GITSTRAP" run -c "$TMP/loop.yml" \
    >"$TMP/loop.out" 2>"$TMP/loop.err" &
loop=$!
on_exit "kill $loop 2>/dev/null"
ok "resident: published" wait_for -t 30 test -f "$TMP/www-loop/site/index.html"
ok "resident: polls" wait_for -t 30 grep -q 'ev=unchanged' "$TMP/loop.err"
nok "resident: the process title names no secret" \
    grep -a -q -E "$canaries" "/proc/$loop/cmdline"
nok "resident: the command name names no secret" \
    grep -a -q -E "$canaries" "/proc/$loop/comm"
kill -TERM "$loop"
rc=0; wait "$loop" || rc=$?
is "$rc" 0 "resident: stopped"

# now search everything gitstrap printed or wrote
written() {
	ls -d "$TMP"/*.out "$TMP"/*.err "$TMP"/state-* "$TMP"/www-* \
	    "$TMP"/env-*.txt 2>/dev/null
}
ok "there are outputs and state dirs to search" test "$(written | wc -l)" -gt 20
hits=$(written | xargs grep -r -a -l -E "$canaries" 2>/dev/null)
is "$hits" "" "no canary in any output, log, status, metrics, mirror or release"
nok "no canary in the mirrors' git config" \
    grep -q -E "$canaries" "$TMP"/state-*/data.git/config
like "$(cat "$TMP/userinfo.err")" "http://127.0.0.1:$dead/data.git" \
    "URLs are logged without their userinfo"
is "$(grep -c -E "$canaries" "$TMP"/state-*/status.json | grep -v ':0$')" "" \
    "status.json holds no canary"
ok "metrics were written and hold no canary" \
    sh -c "ls '$TMP'/state-*/metrics.prom >/dev/null && ! grep -q -E '$canaries' '$TMP'/state-*/metrics.prom"
