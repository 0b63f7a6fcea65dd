#!/bin/bash
# At boot the data is fetched while the service is fetched and its recipe
# runs: a recipe step that waits for the data's pack to have been served
# finishes only if the fetch went on beside it. A recipe that fails still
# stops the boot before anything is published, with the data fetch joined
# and its mirror left consistent.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/servers.sh"
. "$TOP_SRCDIR/tests/lib/fixtures.sh"

plan 12
setup_tmp

v1=$(data_commit data 1) || bail_out "data repo"
start_git_daemon || bail_out "git daemon"
start_http_git || bail_out "smart HTTP"

# service_commit STEP: the service repo's main runs STEP as its recipe
svc=$(make_bare_repo svc) || bail_out "service repo"
service_commit() {
	mkdir -p "$TMP/work-svc/gitstrap"
	cat >"$TMP/work-svc/gitstrap/recipe.yml" <<YML
name: overlap
steps:
  - run: '$1'
YML
	commit_tree "$svc" "$TMP/work-svc" "service" >/dev/null
}

conf() {	# NAME
	write_config "$TMP/$1.yml" <<YML
state_dir: $TMP/state-$1
service:
  repo: $GIT_DAEMON_URL/svc.git
  recipe: gitstrap/recipe.yml
data:
  repo: $HTTP_GIT_URL/data.git
  depth: 1
  target: $TMP/www-$1/site
  unpack: [ { archive: cache_storage_for_open_qa.tar.gz, strip_components: 2 } ]
YML
}

# the step waits (30 s at most) for nginx to log the data's pack as served
wait_step="i=0; while ! grep -q \"^POST /data.git/git-upload-pack 200\" $HTTP_GIT_ACCESS_LOG; do i=\$((i + 1)); [ \$i -lt 300 ] || exit 1; sleep 0.1; done; echo seen > $TMP/seen"
service_commit "$wait_step" || bail_out "service commit"
conf ov
gs ov run --once -c "$TMP/ov.yml"
is "$GS_RC" 0 "a boot whose recipe waits for the data fetch exits 0"
is "$(cat "$TMP/seen" 2>/dev/null)" seen \
    "the data's pack was served while the recipe ran"
is "$(cat "$TMP/www-ov/site/index.html" 2>/dev/null)" "<h1>data version 1</h1>" \
    "and the data is published after it"
like "$(cat "$TMP/ov.err")" "ev=data.update commit=${v1:0:12} fetched=1 " \
    "the data update is logged as fetched"
ok "no mirror is left marked busy" \
    sh -c "! ls '$TMP/state-ov'/*.busy 2>/dev/null | grep -q ."
is "$(jqr "$TMP/state-ov/status.json" .fetches.data)" 1 \
    "status counts the data fetch"

# a failing recipe stops the boot: nothing published, the fetch joined
service_commit "exit 3" || bail_out "service commit"
conf bad
gs bad run --once -c "$TMP/bad.yml"
is "$GS_RC" 1 "a failing recipe fails the boot"
like "$(jqr "$TMP/state-bad/status.json" .last_error)" "^service [0-9a-f]{12}: " \
    "the error is the service's"
ok "nothing is published" test ! -e "$TMP/www-bad/site"
ok "the data mirror is not left marked busy" test ! -e "$TMP/state-bad/data.git.busy"
# the next boot, with a good recipe, finds the mirror usable
service_commit "true" || bail_out "service commit"
gs bad2 run --once -c "$TMP/bad.yml"
is "$GS_RC" 0 "the next boot succeeds"
is "$(cat "$TMP/www-bad/site/index.html" 2>/dev/null)" "<h1>data version 1</h1>" \
    "and publishes the data"

done_testing
