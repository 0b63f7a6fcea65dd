#!/bin/bash
# The service layer: run at boot, once per revision; `sync` leaves it
# alone unless service.follow; with follow, a failing recipe keeps the
# previous revision while data goes on syncing; at boot, a failing
# recipe fails the run and publishes nothing.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/servers.sh"
. "$TOP_SRCDIR/tests/lib/fixtures.sh"

plan 19
setup_tmp

make_service_repo service || bail_out "service repo"
data_commit data 1 >/dev/null || bail_out "data repo"
start_git_daemon || bail_out "git daemon"

conf() {
	write_config "$TMP/$1.yml" <<YML
state_dir: $TMP/state-$1
service:
  repo: $GIT_DAEMON_URL/$2.git
  recipe: gitstrap/recipe.yml
  follow: $3
  vars: { runs: $TMP/runs-$1, docroot: $TMP/root-$1, email: ${4:-a@example.com} }
data:
  repo: $GIT_DAEMON_URL/data.git
  target: $TMP/www-$1/site
  unpack: [ { archive: cache_storage_for_open_qa.tar.gz, strip_components: 2 } ]
YML
}
runs() { wc -l <"$TMP/runs-$1" 2>/dev/null || echo 0; }
svc_push() {	# svc_push PAGE [RECIPE-EXTRA-STEP]
	local w=$TMP/work-service
	printf '%s\n' "$1" >"$w/site/about.html"
	if [ -n "${2:-}" ]; then printf '%s\n' "$2" >>"$w/gitstrap/recipe.yml"; fi
	commit_tree "$TMP/git/service.git" "$w" "service: $1"
}

# --- without follow
conf nf service false
gs nf1 run --once -c "$TMP/nf.yml"
is "$GS_RC" 0 "boot exits 0"
is "$(runs nf)" 1 "the recipe ran at boot"
s1=$(jqr "$TMP/state-nf/status.json" .service.commit)
s2=$(svc_push "service page 2")
gs nf2 sync -c "$TMP/nf.yml"
is "$GS_RC" 0 "sync exits 0"
is "$(runs nf)" 1 "sync without follow leaves the service alone"
is "$(jqr "$TMP/state-nf/status.json" .service.commit)" "$s1" \
    "status still names the booted service revision"
gs nf3 run --once -c "$TMP/nf.yml"
is "$(runs nf)" 2 "a reboot brings the service to its ref and re-runs the recipe"
is "$(jqr "$TMP/state-nf/status.json" .service.commit)" "$s2" "status names the new revision"
is "$(cat "$TMP/root-nf/about.html")" "service page 2" "the new service files are in place"

# --- vars changed: the recipe runs again for the same commit
conf nf service false b@example.com
gs nf4 run --once -c "$TMP/nf.yml"
is "$(runs nf)" 3 "changed vars re-run the recipe"
is "$(cat "$TMP/root-nf/conf")" "email=b@example.com" "with the new vars"

# --- with follow: a failing recipe keeps the previous revision
conf f service true
gs f1 run --once -c "$TMP/f.yml"
is "$GS_RC" 0 "follow: boot exits 0"
good=$(jqr "$TMP/state-f/status.json" .service.commit)
svc_push "broken page" "  - run: \"exit 3\"" >/dev/null
data_commit data 2 >/dev/null
gs f2 sync -c "$TMP/f.yml"
is "$GS_RC" 1 "follow: a failing recipe fails the cycle"
like "$(grep ev=failure "$TMP/f2.err")" "step 4 .*exit status 3" \
    "follow: the failing step is named"
is "$(jqr "$TMP/state-f/status.json" .service.commit)" "$good" \
    "follow: status keeps the previous service revision"
is "$(cat "$TMP/state-f/service/site/about.html")" "service page 2" \
    "follow: the previous checkout is back in place"
is "$(cat "$TMP/www-f/site/index.html")" "<h1>data version 2</h1>" \
    "follow: data went on syncing"

# --- at boot, a failing recipe fails the run and publishes nothing
conf b service false
gs b1 run --once -c "$TMP/b.yml"
is "$GS_RC" 1 "boot with a failing recipe exits 1"
ok "boot with a failing recipe publishes nothing" test ! -e "$TMP/www-b/site"
like "$(jqr "$TMP/state-b/status.json" .last_error)" "recipe" \
    "the recipe failure is in status.json"
