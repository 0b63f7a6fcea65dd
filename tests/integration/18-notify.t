#!/bin/bash
# notify.webhook: a JSON POST on publish and on failure, with the fields
# DESIGN.md names; the hook URL (its token) never reaches the log.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/servers.sh"
. "$TOP_SRCDIR/tests/lib/fixtures.sh"

plan 9
setup_tmp

v1=$(data_commit data 1) || bail_out "data repo"
start_http_git || bail_out "smart HTTP"
start_hook_sink || bail_out "hook sink"

write_config "$TMP/n.yml" <<YML
state_dir: $TMP/state
data:
  repo: $HTTP_GIT_URL/data.git
  target: $TMP/www/site
  unpack: [ { archive: cache_storage_for_open_qa.tar.gz, strip_components: 2 } ]
notify: { webhook: "$HOOK_URL" }
YML
gs pub run --once -c "$TMP/n.yml"
is "$GS_RC" 0 "publish exits 0"
ok "one hook posted" wait_for test "$(grep -c . "$HOOK_LOG")" -ge 1
is "$(sed -n 1p "$HOOK_LOG" | jq -r .event)" publish "event is publish"
is "$(sed -n 1p "$HOOK_LOG" | jq -r .data_commit)" "$v1" "the data commit is named"
is "$(sed -n 1p "$HOOK_LOG" | jq -r '[.service_commit, .release != null, .error, (.time | test("Z$"))] | @tsv')" \
    "$(printf '\ttrue\t\ttrue')" "service_commit (null), release, error and time are there"

sed -i "s|ref: .*||; s|repo: $HTTP_GIT_URL/data.git|&\n  ref: nosuchbranch|" "$TMP/n.yml"
gs fail sync -c "$TMP/n.yml"
is "$GS_RC" 1 "a failing sync exits 1"
ok "a second hook posted" wait_for test "$(grep -c . "$HOOK_LOG")" -ge 2
is "$(sed -n 2p "$HOOK_LOG" | jq -r .event)" failure "event is failure"
unlike "$(cat "$TMP"/*.err)" "T0KEN-in-path" "the hook URL is never logged"
