#!/bin/bash
# Gates before and after the switch: before_switch hooks veto, after_switch
# hooks run in the release with its env, a failed health check switches
# back and keeps the failed release as <id>.failed.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/servers.sh"
. "$TOP_SRCDIR/tests/lib/fixtures.sh"

plan 18
setup_tmp

v1=$(data_commit data 1) || bail_out "data repo"
start_http_git || bail_out "smart HTTP"
mkdir -p "$TMP/www"
start_web "$TMP/www" || bail_out "web server"

conf() {
	write_config "$TMP/gitstrap.yml" <<YML
state_dir: $TMP/state
data:
  repo: $HTTP_GIT_URL/data.git
  ref: main
  target: $TMP/www/site
  unpack: [ { archive: cache_storage_for_open_qa.tar.gz, strip_components: 2 } ]
  hooks:
    before_switch: "test -f index.html"
    after_switch:
      - 'echo "\$GITSTRAP_DATA_COMMIT \$GITSTRAP_RELEASE_DIR \$(pwd)" >> $TMP/after.log'
      - 'echo reloaded the web server'
  health: { url: "$WEB_URL/site/index.html", expect: 200, timeout: 5s, retries: 1 }
YML
}
conf
gs boot run --once -c "$TMP/gitstrap.yml"
is "$GS_RC" 0 "boot with passing gates exits 0"
rel=$(readlink "$TMP/www/site")
read -r c d w <"$TMP/after.log"
is "$c" "$v1" "after_switch gets GITSTRAP_DATA_COMMIT"
is "$d" "$TMP/www/$rel" "after_switch gets GITSTRAP_RELEASE_DIR"
is "$w" "$TMP/www/$rel" "after_switch runs in the release dir"
like "$(cat "$TMP/boot.err")" "ev=health.ok " "the health check is logged"
like "$(cat "$TMP/boot.err")" 'ev=hook.output hook=after_switch index=1 out="reloaded the web server"' \
    "hook output is logged, naming the hook"

# a release without index.html: before_switch vetoes it
work=$TMP/work-data
top=$TMP/src-data/cache_storage_for_open_qa
rm -f "$top/index.html"; echo other >"$top/other.html"
make_data_tarball "$TMP/src-data" "$work/cache_storage_for_open_qa.tar.gz"
commit_tree "$TMP/git/data.git" "$work" "no index" >/dev/null
gs veto sync -c "$TMP/gitstrap.yml"
is "$GS_RC" 1 "a vetoed publish exits 1"
like "$(grep ev=failure "$TMP/veto.err")" "before_switch hook .*vetoed|vetoed.*before_switch" \
    "the veto is named in the error"
is "$(readlink "$TMP/www/site")" "$rel" "vetoed: the previous release keeps serving"
is "$(jqr "$TMP/state/status.json" .last_error | grep -c vetoed)" 1 \
    "vetoed: the error is in status.json"

# without the veto, the health check catches it and rolls back
sed -i '/before_switch/d' "$TMP/gitstrap.yml"
gs health sync -c "$TMP/gitstrap.yml"
is "$GS_RC" 1 "a failed health check exits 1"
like "$(grep ev=failure "$TMP/health.err")" "health check failed" \
    "the health failure is named"
is "$(readlink "$TMP/www/site")" "$rel" "health failed: switched back to the previous release"
is "$(curl -s "$WEB_URL/site/index.html")" "<h1>data version 1</h1>" \
    "health failed: the previous page is served"
failed=$(ls -d "$(releases_of "$TMP/www/site")"/*.failed 2>/dev/null | head -n 1)
ok "the failed release is kept as <id>.failed" test -d "$failed"
like "$(cat "$TMP/health.err")" "ev=rollback " "the rollback is logged"
is "$(jqr "$TMP/state/status.json" .consecutive_failures)" 2 \
    "status counts consecutive failures"

# gitstrap status reports the failure
gs st status --state-dir "$TMP/state"
is "$GS_RC" 1 "status exits 1 while the last attempt failed"
