#!/usr/bin/env bash
# shellcheck disable=SC2119 # http_log_mark takes optional arguments
#
# The test harness tests itself: the git servers, the HTTP access log the
# other tests count requests in, basic auth, the static web server, and
# that every server is gone after stop_servers. Needs no gitstrap binary.
set -euo pipefail

TOP_SRCDIR=${TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/servers.sh"

for prog in git curl openssl tar gzip setsid; do
	command -v "$prog" >/dev/null || skip_all "$prog is not installed"
done
[ -x "$(command -v nginx || echo /usr/sbin/nginx)" ] ||
    skip_all "nginx is not installed"
[ -x /usr/sbin/fcgiwrap ] || skip_all "fcgiwrap is not installed"

plan 38

setup_tmp

# --- the temp dir and the polling helper --------------------------------

is "$(stat -c %a "$TMP")" 755 "setup_tmp makes a 0755 dir"
start=$(_tap_now_ds)
nok "wait_for gives up on a condition that never holds" \
    wait_for -t 0.5 false
elapsed=$(( $(_tap_now_ds) - start ))
ok "... after its timeout, not long after ($elapsed tenths of a second)" \
    test "$elapsed" -ge 4 -a "$elapsed" -lt 30
ok "wait_for returns once the condition holds" wait_for -t 2 true

port=$(free_port)
ok "free_port gives a port in 20000-60999 ($port)" \
    test "$port" -ge 20000 -a "$port" -le 60999
nok "... that nothing listens on" port_open "$port"

# --- fixture repos --------------------------------------------------------

bare=$(make_bare_repo site)
is "$(git --git-dir="$bare" rev-parse --is-bare-repository)" true \
    "make_bare_repo makes a bare repo"
is "$(git --git-dir="$bare" config http.receivepack)" true \
    "... that accepts pushes over HTTP"

mkdir -p "$TMP/tree/sub"
printf 'hello\n' >"$TMP/tree/index.html"
printf '{"ok": true}\n' >"$TMP/tree/sub/data.json"
c1=$(commit_tree "$bare" "$TMP/tree" "first")
like "$c1" '^[0-9a-f]{40}$' "commit_tree prints a commit id"
other=$(make_bare_repo other)
is "$(commit_tree "$other" "$TMP/tree" "first")" "$c1" \
    "... the same one for the same content in another repo"
is "$(git --git-dir="$bare" ls-tree -r --name-only main | tr '\n' ' ')" \
    "index.html sub/data.json " "... whose tree is the dir's content"
rm "$TMP/tree/sub/data.json"
c2=$(commit_tree "$bare" "$TMP/tree" "second")
is "$(git --git-dir="$bare" rev-parse main^)" "$c1" \
    "a second commit has the first as parent"
is "$(git --git-dir="$bare" ls-tree -r --name-only main)" index.html \
    "... and drops files gone from the dir"

mkdir -p "$TMP/data/cache_storage_for_open_qa/runs"
printf '<h1>QA</h1>\n' >"$TMP/data/cache_storage_for_open_qa/index.html"
printf '[]\n' >"$TMP/data/cache_storage_for_open_qa/runs/all.json"
make_data_tarball "$TMP/data" "$TMP/a.tar.gz"
make_data_tarball "$TMP/data" "$TMP/b.tar.gz"
is "$(tar -tzf "$TMP/a.tar.gz" | tr '\n' ' ')" \
    "./cache_storage_for_open_qa/ ./cache_storage_for_open_qa/index.html ./cache_storage_for_open_qa/runs/ ./cache_storage_for_open_qa/runs/all.json " \
    "make_data_tarball names entries ./cache_storage_for_open_qa/..."
ok "... and makes the same bytes twice" cmp "$TMP/a.tar.gz" "$TMP/b.tar.gz"

# --- git daemon -----------------------------------------------------------

start_git_daemon || bail_out "git daemon did not start"
like "$GIT_DAEMON_URL" '^git://127\.0\.0\.1:[0-9]+$' \
    "start_git_daemon sets GIT_DAEMON_URL"
is "$(git ls-remote "$GIT_DAEMON_URL/site.git" refs/heads/main | cut -f1)" \
    "$c2" "git ls-remote over git:// sees main"
ok "git clone over git:// works" \
    git clone -q "$GIT_DAEMON_URL/site.git" "$TMP/clone-git"
is "$(cat "$TMP/clone-git/index.html")" hello "... with the content"
ok "the daemon logs to git-daemon.log" grep -q 'Connection from' \
    "$TMP/git-daemon.log"

# --- smart HTTP -------------------------------------------------------------

start_http_git || bail_out "smart HTTP server did not start"
http_url=$HTTP_GIT_URL
like "$http_url" '^http://127\.0\.0\.1:[0-9]+$' \
    "start_http_git sets HTTP_GIT_URL"
is "$(git ls-remote "$http_url/site.git" refs/heads/main | cut -f1)" \
    "$c2" "git ls-remote over http:// sees main"

# An unchanged poll by a v0 client (libgit2) is one GET of info/refs and
# no upload-pack POST; the log must show exactly that.
# (A v2 client, like the git above by default, asks for refs with a POST.)
refs_re='/site\.git/info/refs\?service=git-upload-pack'
pack_re='/site\.git/git-upload-pack'
http_log_mark
gets=$(http_log_count GET "$refs_re")
posts=$(http_log_count POST "$pack_re")
git -c protocol.version=0 ls-remote "$http_url/site.git" >/dev/null
http_log_mark
is "$(http_log_count GET "$refs_re")" "$((gets + 1))" \
    "the access log records the info/refs GET of ls-remote"
is "$(http_log_count POST "$pack_re")" "$posts" \
    "... and a v0 ls-remote makes no upload-pack POST"

ok "git clone over http:// works" \
    git -c protocol.version=0 clone -q "$http_url/site.git" "$TMP/clone-http"
http_log_mark
is "$(http_log_count POST "$pack_re")" "$((posts + 1))" \
    "... and makes one upload-pack POST"
ok "... logged with status 200" \
    grep -q '^POST /site\.git/git-upload-pack 200 [1-9]' "$HTTP_GIT_ACCESS_LOG"

# Push over HTTP, as a data publisher would.
printf 'changed\n' >"$TMP/clone-http/index.html"
git -C "$TMP/clone-http" -c user.name=T -c user.email=t@example.invalid \
    commit -qam "third"
ok "git push over http:// works" \
    git -C "$TMP/clone-http" push -q origin main
is "$(git ls-remote "$GIT_DAEMON_URL/site.git" refs/heads/main | cut -f1)" \
    "$(git -C "$TMP/clone-http" rev-parse HEAD)" \
    "... and the pushed commit is served"

# --- smart HTTP with basic auth -------------------------------------------

start_http_git --auth alice:s3cret || bail_out "auth HTTP server did not start"
auth_url=$HTTP_GIT_URL
refs="/site.git/info/refs?service=git-upload-pack"
is "$(curl -s -o /dev/null -w '%{http_code}' "$auth_url$refs")" 401 \
    "auth: no credentials get 401"
is "$(curl -s -o /dev/null -w '%{http_code}' -u alice:wrong "$auth_url$refs")" \
    401 "auth: a wrong password gets 401"
is "$(curl -s -o /dev/null -w '%{http_code}' -u alice:s3cret "$auth_url$refs")" \
    200 "auth: the right password gets 200"
nok "auth: git ls-remote with a wrong password fails" \
    git ls-remote "http://alice:wrong@${auth_url#http://}/site.git"
ok "auth: git ls-remote with the right password works" \
    git ls-remote "http://alice:s3cret@${auth_url#http://}/site.git"

# --- static web server through a symlink ------------------------------------

mkdir -p "$TMP/releases/r1" "$TMP/releases/r2"
printf 'release one\n' >"$TMP/releases/r1/index.html"
printf 'release two\n' >"$TMP/releases/r2/index.html"
chmod -R a+rX "$TMP/releases"
ln -s "$TMP/releases/r1" "$TMP/webroot"
start_web "$TMP/webroot" || bail_out "web server did not start"
is "$(curl -s "$WEB_URL/")" "release one" \
    "start_web serves the dir a symlink points to"
ln -s "$TMP/releases/r2" "$TMP/webroot.new"
mv -T "$TMP/webroot.new" "$TMP/webroot"
is "$(curl -s "$WEB_URL/")" "release two" \
    "... and the new one once the symlink is switched"

# --- stopping -----------------------------------------------------------------

mapfile -t pids < <(recorded_pids)
stop_servers
alive=
for pid in "${pids[@]}"; do
	if pid_alive "$pid" || _gs_group_alive "$pid"; then
		alive="$alive $pid"
	fi
done
is "${#pids[@]}:$alive" "6:" \
    "stop_servers stops all 6 recorded servers and their children"
nok "... and the ports are closed" port_open "${http_url##*:}"

done_testing
