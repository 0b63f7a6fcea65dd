#!/bin/bash
# The resident loop against real servers: an unchanged poll costs one
# GET of info/refs and no pack; a push is published within the interval;
# a server going away is survived with backoff and converges when it is
# back; SIGHUP reloads a valid config and keeps the old one otherwise;
# staleness makes `status` exit 1; max_failures gives up; a pinned commit
# stops polling; `user:` drops root after the boot.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/servers.sh"
. "$TOP_SRCDIR/tests/lib/fixtures.sh"

plan 25
setup_tmp

v1=$(data_commit data 1) || bail_out "data repo"
start_http_git || bail_out "smart HTTP"
url=$HTTP_GIT_URL/data.git

conf() {	# conf NAME INTERVAL [EXTRA]
	write_config "$TMP/$1.yml" <<YML
state_dir: $TMP/state-$1
log: { level: debug }
data:
  repo: $url
  target: $TMP/www-$1/site
  unpack: [ { archive: cache_storage_for_open_qa.tar.gz, strip_components: 2 } ]
  interval: $2
  jitter: 0
  backoff_max: 4s
${3:-}
YML
}
start_loop() {	# start_loop NAME: gitstrap run in the background, pid in LOOP
	${GITSTRAP_WRAPPER:-} "$GITSTRAP" run -c "$TMP/$1.yml" 2>"$TMP/$1.err" &
	LOOP=$!
	on_exit "kill $LOOP 2>/dev/null"
}
stop_loop() {
	kill -TERM "$LOOP" 2>/dev/null
	wait "$LOOP" 2>/dev/null
}
count() { grep -c -- "$1" "$2"; }
atleast() { [ "$(grep -c -- "$2" "$3")" -ge "$1" ]; }	# atleast N PATTERN FILE

# --- unchanged polls and a push
conf poll 1s
start_loop poll
ok "boot publishes" wait_for grep -q "ev=publish" "$TMP/poll.err"
ok "three unchanged polls follow" wait_for atleast 3 'ev=unchanged' "$TMP/poll.err"
http_log_mark
is "$(http_log_count POST '/data\.git/git-upload-pack')" 1 \
    "unchanged polls make no upload-pack POST (only the boot fetched)"
is "$(jqr "$TMP/state-poll/status.json" .fetches.data)" 1 \
    "and the fetch counter did not move"
gets=$(http_log_count GET '/data\.git/info/refs\?service=git-upload-pack')
polls=$(count 'ev=unchanged' "$TMP/poll.err")
ok "each poll is one GET of info/refs" test "$gets" -ge "$polls"
v2=$(data_commit data 2)
ok "a push is published within the interval and a few seconds" \
    wait_for -t 10 grep -q "data version 2" "$TMP/www-poll/site/index.html"
is "$(jqr "$TMP/state-poll/status.json" .data.commit)" "$v2" "status follows"

# --- the server goes away: keep serving, back off, converge
stop_http_git
ok "failures are logged while the server is down" \
    wait_for -t 20 atleast 3 'ev=sync.failed' "$TMP/poll.err"
is "$(cat "$TMP/www-poll/site/index.html")" "<h1>data version 2</h1>" \
    "the last good release keeps serving"
# the waits after the first failure: they grow
delays=$(sed -n '/ev=sync.failed/,$p' "$TMP/poll.err" | grep 'ev=sync.wait' |
    head -n 3 | sed 's/.*delay_ms=//')
d1=$(echo "$delays" | sed -n 1p); d3=$(echo "$delays" | sed -n 3p)
ok "the delay backs off ($d1 ms then $d3 ms)" test "$d3" -gt "$d1"
is "$(jqr "$TMP/state-poll/status.json" '.consecutive_failures > 0')" true \
    "status counts the failures"
data_commit data 3 >/dev/null
restart_http_git || bail_out "smart HTTP did not come back"
ok "it converges once the server is back" \
    wait_for -t 20 grep -q "data version 3" "$TMP/www-poll/site/index.html"
ok "and the failure count is reset" \
    wait_for sh -c "[ \"\$(jq .consecutive_failures '$TMP/state-poll/status.json')\" = 0 ]"

# --- SIGHUP: a valid config is taken, an invalid one is not
sed -i 's/level: debug/level: info/' "$TMP/poll.yml"
kill -HUP "$LOOP"
ok "HUP reloads a valid config" wait_for grep -q "ev=config.reload file=" "$TMP/poll.err"
printf 'data: [broken\n' >"$TMP/poll.yml"
kill -HUP "$LOOP"
ok "HUP with an invalid config is refused" wait_for grep -q "ev=config.reload_failed" "$TMP/poll.err"
ok "and the process keeps running" kill -0 "$LOOP"
stop_loop

# --- staleness
conf stale 1h "  stale_after: 1s"
gs stale1 run --once -c "$TMP/stale.yml"
gs stale2 status --state-dir "$TMP/state-stale" -c "$TMP/stale.yml"
is "$GS_RC" 0 "status exits 0 right after a success"
ok "status exits 1 once the last success is older than stale_after" \
    wait_for -t 5 sh -c "! '$GITSTRAP' status -c '$TMP/stale.yml' >/dev/null 2>&1"

# --- max_failures gives up with exit 1
write_config "$TMP/give.yml" <<YML
state_dir: $TMP/state-give
data:
  repo: $HTTP_GIT_URL/nosuch.git
  target: $TMP/www-give/site
  interval: 1s
  max_failures: 2
YML
rc=0; timeout 60 "$GITSTRAP" run -c "$TMP/give.yml" 2>"$TMP/give.err" || rc=$?
is "$rc" 1 "max_failures: the loop gives up with exit 1"
like "$(cat "$TMP/give.err")" "giving up after 2 failures" "and says so"

# --- a pinned commit stops polling
conf pin 1s "  ref: $v1"
sed -i "/^  repo:/a\\  ref: $v1" "$TMP/pin.yml"; sed -i '$d' "$TMP/pin.yml"
start_loop pin
ok "pinned: boot publishes" wait_for grep -q "ev=publish" "$TMP/pin.err"
http_log_mark; before=$(http_log_count GET '/data\.git/info/refs.*')
sleep 3	# three intervals: a poll, if any, would show by now
http_log_mark
is "$(http_log_count GET '/data\.git/info/refs.*')" "$before" "pinned: no polls"
stop_loop

# --- user: root is dropped after the boot
if [ "$(id -u)" -eq 0 ]; then
	conf user 1s "user: nobody"
	sed -i 's/^user: nobody$//' "$TMP/user.yml"; sed -i "1i user: nobody" "$TMP/user.yml"
	mkdir -p "$TMP/www-user"
	start_loop user
	ok "user: boot publishes, then drops root" wait_for grep -q "ev=priv.drop user=nobody" "$TMP/user.err"
	is "$(awk '/^Uid:/ { print $2 }' "/proc/$LOOP/status")" "$(id -u nobody)" \
	    "user: the resident process runs as nobody"
	data_commit data 4 >/dev/null
	ok "user: it still publishes as nobody" \
	    wait_for -t 10 grep -q "data version 4" "$TMP/www-user/site/index.html"
	stop_loop
else
	for i in 1 2 3; do skip "dropping privileges needs root"; done
fi
