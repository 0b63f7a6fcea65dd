#!/bin/bash
# Boot pipeline end to end: service over git://, data over smart HTTP,
# recipe, release, switch, status; then a reboot re-run, an update, an
# existing target directory, pruning and rollback.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/servers.sh"
. "$TOP_SRCDIR/tests/lib/fixtures.sh"

plan 41
setup_tmp

make_service_repo service || bail_out "service repo"
v1=$(data_commit data 1) || bail_out "data repo"
start_git_daemon || bail_out "git daemon"
start_http_git || bail_out "smart HTTP"
mkdir -p "$TMP/www"
# the web server serves the parent of the target, through the symlink
start_web "$TMP/www" || bail_out "web server"

write_config "$TMP/gitstrap.yml" <<YML
state_dir: $TMP/state
service:
  repo: $GIT_DAEMON_URL/service.git
  ref: main
  recipe: gitstrap/recipe.yml
  vars: { runs: $TMP/recipe-runs, docroot: $TMP/service-root, email: ops@example.com }
data:
  repo: $HTTP_GIT_URL/data.git
  ref: main
  depth: 1
  target: $TMP/www/webcache
  unpack:
    - archive: cache_storage_for_open_qa.tar.gz
      strip_components: 2
  keep_releases: 2
YML

# --- fresh boot
gs boot run --once -c "$TMP/gitstrap.yml"
is "$GS_RC" 0 "first boot exits 0"
ok "web root is a symlink" test -L "$TMP/www/webcache"
is "$(cat "$TMP/www/webcache/index.html")" "<h1>data version 1</h1>" \
    "web root holds the unpacked data"
is "$(curl -s "$WEB_URL/webcache/")" "<h1>data version 1</h1>" \
    "the web server serves the page built from the data"
is "$(cat "$TMP/recipe-runs")" "ran" "recipe ran once"
is "$(cat "$TMP/service-root/about.html")" "service page" "recipe copy step"
is "$(cat "$TMP/service-root/conf")" "email=ops@example.com" \
    "recipe template step used service.vars"
like "$(cat "$TMP/boot.err")" "ev=publish " "publish is logged"
unlike "$(cat "$TMP/boot.out")" "." "nothing on stdout"
ok "data repo is shallow over HTTP" test -f "$TMP/state/data.git/shallow"
release=$(readlink "$TMP/www/webcache")
like "$release" "^\.webcache\.releases/[0-9]{8}T[0-9]{6}Z-$v1$" \
    "target points at .webcache.releases/<time>-<commit>, beside it"
is "$(stat -c %a "$TMP/www/$release/index.html")" 644 "release files are 0644"
is "$(stat -c %a "$TMP/www/$release/json")" 755 "release dirs are 0755"

# --- status
gs st status --json --state-dir "$TMP/state"
is "$GS_RC" 0 "status exits 0 when healthy"
is "$(jqr "$TMP/st.out" .data.commit)" "$v1" "status: data commit"
is "$(jqr "$TMP/st.out" .data.release)" "${release##*/}" "status: release"
like "$(jqr "$TMP/st.out" .service.commit)" "^[0-9a-f]{40}$" "status: service commit"
like "$(jqr "$TMP/st.out" .last_success)" \
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$" "status: RFC 3339 time"
is "$(jqr "$TMP/st.out" .last_error)" null "status: no error"
is "$(jqr "$TMP/st.out" .consecutive_failures)" 0 "status: no failures"
like "$(cat "$TMP/state/metrics.prom")" 'gitstrap_syncs_total\{result="changed"\} 1' \
    "metrics count the publish"

# --- reboot: same state dir, nothing changed upstream
http_log_mark
posts=$(http_log_count POST '/data\.git/git-upload-pack')
gs reboot run --once -c "$TMP/gitstrap.yml"
is "$GS_RC" 0 "re-run exits 0"
is "$(wc -l <"$TMP/recipe-runs")" 1 "recipe not re-run for the same service commit"
like "$(cat "$TMP/reboot.err")" "ev=unchanged " "data unchanged is logged"
http_log_mark
is "$(http_log_count POST '/data\.git/git-upload-pack')" "$posts" \
    "unchanged re-run moves no pack"
is "$(readlink "$TMP/www/webcache")" "$release" "same release still served"

# --- an update upstream: fetched into the same bare repo, new release
ino=$(stat -c %i "$TMP/state/data.git/objects")
v2=$(data_commit data 2)
gs update sync -c "$TMP/gitstrap.yml"
is "$GS_RC" 0 "sync after a push exits 0"
is "$(curl -s "$WEB_URL/webcache/")" "<h1>data version 2</h1>" "new data served"
is "$(stat -c %i "$TMP/state/data.git/objects")" "$ino" "fetched, not re-cloned"
is "$(jqr "$TMP/state/status.json" .data.commit)" "$v2" "status has the new commit"
is "$(wc -l <"$TMP/recipe-runs")" 1 "recipe still not re-run"

# --- keep_releases: 2 kept, the oldest pruned
data_commit data 3 >/dev/null
gs update3 sync -c "$TMP/gitstrap.yml"
is "$(ls "$(releases_of "$TMP/www/webcache")" | grep -c -v -e '\.tmp$' -e '\.failed$')" 2 \
    "keep_releases=2 keeps two releases"
ok "the first release was pruned" test ! -e "$TMP/www/$release"

# --- rollback to the previous release, then to an explicit one
cur=$(readlink "$TMP/www/webcache")
gs rb rollback --state-dir "$TMP/state"
is "$GS_RC" 0 "rollback exits 0"
is "$(cat "$TMP/www/webcache/index.html")" "<h1>data version 2</h1>" \
    "rollback serves the previous release"
is "$(jqr "$TMP/state/status.json" .data.commit)" "$v2" "status follows the rollback"
gs rb2 rollback --to "${cur##*/}" --state-dir "$TMP/state"
is "$(cat "$TMP/www/webcache/index.html")" "<h1>data version 3</h1>" \
    "rollback --to switches to the named release"
gs rb3 rollback --to 20000101T000000Z-000000000000 --state-dir "$TMP/state"
is "$GS_RC" 1 "rollback to an unknown release exits 1"

# --- an existing real directory at the target is moved aside
mkdir -p "$TMP/www2/webcache"
echo old >"$TMP/www2/webcache/old.html"
sed "s|$TMP/www/webcache|$TMP/www2/webcache|; s|$TMP/state|$TMP/state2|" \
    "$TMP/gitstrap.yml" >"$TMP/gitstrap2.yml"
gs backup run --once -c "$TMP/gitstrap2.yml"
is "$GS_RC" 0 "boot over an existing directory exits 0"
backup=$(ls -d "$TMP"/www2/webcache.gitstrap-backup-* 2>/dev/null)
is "$(cat "$backup/old.html" 2>/dev/null)" old \
    "the old directory was moved to <target>.gitstrap-backup-<time>"
like "$(cat "$TMP/backup.err")" "ev=release.backup .*backup=$backup" \
    "the backup is logged"
