#!/bin/bash
# User-data from a fake instance metadata service that speaks EC2's
# protocol: IMDSv2 with a session token, the v1 fallback (404 and 405 on
# the token), a service that comes up late, a 403 that is final, no
# user-data, a deadline; cloud-init's copy preferred over a second fetch;
# a NoCloud seed dir; and a boot end to end from gzip'd #cloud-config with
# the instance identity reaching a template and a step.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/servers.sh"
. "$TOP_SRCDIR/tests/lib/fixtures.sh"

plan 59
setup_tmp

# Never the machine's own cloud-init state.
export GITSTRAP_CLOUD_DIR=$TMP/no-cloud-init
export GITSTRAP_CLOUD_RUN_DIR=$TMP/no-cloud-init-run
unset GITSTRAP_METADATA_URL GITSTRAP_IMDS_TIMEOUT

cat >"$TMP/plain.ud" <<YML
#gitstrap
state_dir: $TMP/state-plain
data:
  repo: https://example.com/data.git
  target: $TMP/www-plain/site
YML

# count PATTERN: requests in the fake's log matching an ERE
count() {
	grep -cE "$1" "$IMDS_LOG" || :
}

# --- IMDSv2: a token first, then GETs that carry it
start_fake_imds --mode v2 --user-data "$TMP/plain.ud" \
    --token-file "$TMP/tokens" || bail_out "fake imds"
gs v2 check --imds="$IMDS_URL"
is "$GS_RC" 0 "v2: check exits 0"
is "$(head -n 1 "$IMDS_LOG")" "PUT /latest/api/token 200 token=no" \
    "v2: the token PUT comes first"
is "$(count '^GET /latest/user-data 200 token=yes$')" 1 \
    "v2: user-data fetched with the token"
is "$(count '^GET .* token=no$')" 0 "v2: no GET without the token"
is "$(count '^GET /latest/meta-data/instance-id 404 token=yes$')" 1 \
    "v2: identity asked for; absent keys are fine"
unlike "$(cat "$TMP/v2.err")" "$(cat "$TMP/tokens")" \
    "v2: the token never reaches the log"

# GITSTRAP_METADATA_URL names the service when --imds has no value
: >"$IMDS_LOG"
GITSTRAP_METADATA_URL=$IMDS_URL gs v2env check --imds
is "$GS_RC" 0 "GITSTRAP_METADATA_URL: check exits 0"
is "$(count '^GET /latest/user-data 200')" 1 "GITSTRAP_METADATA_URL: used"

# --- IMDSv1: no token endpoint
start_fake_imds --mode v1 --user-data "$TMP/plain.ud" || bail_out "fake v1"
gs v1 check --imds="$IMDS_URL"
is "$GS_RC" 0 "v1 (404 on the token): check exits 0"
is "$(head -n 1 "$IMDS_LOG")" "PUT /latest/api/token 404 token=no" \
    "v1: the token was asked for"
is "$(count '^GET /latest/user-data 200 token=no$')" 1 \
    "v1: user-data fetched without a token"
like "$(cat "$TMP/v1.err")" "ev=imds.v1 " "v1: the fallback is logged"

start_fake_imds --mode v1-405 --user-data "$TMP/plain.ud" || bail_out "fake 405"
gs v405 check --imds="$IMDS_URL"
is "$GS_RC" 0 "v1 (405 on the token): check exits 0"
is "$(count '^GET /latest/user-data 200 token=no$')" 1 "405: plain GET"

# --- a metadata service that is not up yet: it binds its port only once
# gitstrap has been refused and said that it waits
start_fake_imds --bind-when "$TMP/imds-up" --mode v2 \
    --user-data "$TMP/plain.ud" || bail_out "fake slow"
"$GITSTRAP" check --imds="$IMDS_URL" --imds-timeout 5m 2>"$TMP/slow.err" &
slow=$!
on_exit "kill $slow 2>/dev/null"
ok "slow start: refused, the wait is logged" \
    wait_for grep -q "ev=imds.wait .*retrying" "$TMP/slow.err"
touch "$TMP/imds-up"
rc=0
wait "$slow" || rc=$?
is "$rc" 0 "slow start: check succeeds once the service is up"
is "$(count '^GET /latest/user-data 200 token=yes$')" 1 "slow start: fetched"

# --- 403 on the token: final
start_fake_imds --mode forbidden --user-data "$TMP/plain.ud" ||
    bail_out "fake 403"
gs forbidden check --imds="$IMDS_URL" --imds-timeout 60s
is "$GS_RC" 1 "403: exit 1"
is "$(wc -l <"$IMDS_LOG")" 1 "403: asked once, no retry"
is "$(wc -l <"$TMP/forbidden.err")" 1 "403: one line"
like "$(cat "$TMP/forbidden.err")" "token request forbidden \(HTTP 403\)" \
    "403: the line says so"

# --- no user-data
start_fake_imds --mode v2 --no-user-data || bail_out "fake 404"
gs nouserdata check --imds="$IMDS_URL"
is "$GS_RC" 2 "no user-data: exit 2"
is "$(cat "$TMP/nouserdata.err")" \
    "metadata service $IMDS_URL: no user-data (HTTP 404 for /latest/user-data)" \
    "no user-data: one clear line"

# --- nothing ever answers: the deadline
port=$(free_port) || bail_out "port"
GITSTRAP_IMDS_TIMEOUT=2s gs deadline check --imds="http://127.0.0.1:$port"
is "$GS_RC" 1 "deadline: exit 1"
is "$(grep -c . "$TMP/deadline.err")" 2 "deadline: the wait and the failure"
like "$(tail -n 1 "$TMP/deadline.err")" \
    "^metadata service http://127.0.0.1:$port: no answer within 2s \([0-9]+ attempts\): .*(refused|onnect)" \
    "deadline: the last line names the service, the bound and the reason"
# a boot waiting for the service stops at once on TERM
"$GITSTRAP" run --once --imds="http://127.0.0.1:$port" --imds-timeout 10m \
    --state-dir "$TMP/state-term" 2>"$TMP/term.err" &
waiter=$!
on_exit "kill $waiter 2>/dev/null"
wait_for grep -q "ev=imds.wait" "$TMP/term.err" || :
kill -TERM "$waiter"
rc=0
wait "$waiter" || rc=$?
is "$rc" 1 "TERM while waiting for the service: exit 1"
like "$(tail -n 1 "$TMP/term.err")" "stopped by a signal while waiting" \
    "TERM while waiting: said so"
gs badtimeout check --imds="http://127.0.0.1:$port" --imds-timeout soon
is "$GS_RC" 2 "a bad --imds-timeout is a usage error"

# --- cloud-init fetched it already: no second fetch
start_fake_imds --mode v2 --user-data "$TMP/plain.ud" || bail_out "fake ci"
mkdir -p "$TMP/cloud/instance" "$TMP/cloud-run"
cp "$TMP/plain.ud" "$TMP/cloud/instance/user-data.txt"
cat >"$TMP/cloud-run/instance-data.json" <<'JSON'
{
 "ds": {"meta_data": {"instance-id": "i-0cloudinit", "local-ipv4": "10.0.0.7"}},
 "v1": {"instance_id": "i-0cloudinit", "region": "eu-west-1",
        "availability_zone": "eu-west-1a"}
}
JSON
GITSTRAP_CLOUD_DIR=$TMP/cloud GITSTRAP_CLOUD_RUN_DIR=$TMP/cloud-run \
    gs cloudinit check --imds="$IMDS_URL"
is "$GS_RC" 0 "cloud-init copy: check exits 0"
is "$(wc -l <"$IMDS_LOG")" 0 "cloud-init copy: no request reached the service"
like "$(cat "$TMP/cloudinit.err")" \
    "ev=userdata.cloud_init file=$TMP/cloud/instance/user-data.txt" \
    "cloud-init copy: its use is logged"
printf 'not user-data\n' >"$TMP/cloud/instance/user-data.txt"
GITSTRAP_CLOUD_DIR=$TMP/cloud gs cloudbad check --imds="$IMDS_URL"
is "$GS_RC" 2 "cloud-init copy: a bad copy is a config error"
like "$(tail -n 1 "$TMP/cloudbad.err")" \
    "^$TMP/cloud/instance/user-data.txt: unknown user-data format" \
    "cloud-init copy: the error names the copy"

# --- NoCloud seed dir
mkdir -p "$TMP/seed"
cp "$TMP/plain.ud" "$TMP/seed/user-data"
gs nocloud check --nocloud="$TMP/seed"
is "$GS_RC" 0 "nocloud: check exits 0"
gs nocloudnone check --nocloud="$TMP/no-seed"
is "$GS_RC" 2 "nocloud: no seed is exit 2"
like "$(cat "$TMP/nocloudnone.err")" "$TMP/no-seed/user-data: No such file" \
    "nocloud: the missing file is named"
gs twosources check --nocloud="$TMP/seed" --imds="$IMDS_URL"
is "$GS_RC" 2 "two sources: usage error"

# --- end to end: gzip'd #cloud-config, identity in a template and a step
bare=$(make_bare_repo svc) || bail_out "service repo"
mkdir -p "$TMP/work-svc/gitstrap" "$TMP/work-svc/site"
cat >"$TMP/work-svc/gitstrap/recipe.yml" <<'YML'
name: identity
vars: { docroot: /nonexistent }
steps:
  - template: { src: site/id.in, dest: "{{ docroot }}/id" }
  - run: 'echo "$GITSTRAP_VAR_REGION $GITSTRAP_VAR_INSTANCE_ID" > {{ docroot }}/env'
  - run: 'echo "$GITSTRAP_VAR_LOCAL_HOSTNAME" > {{ docroot }}/host'
YML
printf 'id={{ instance_id }} az={{ availability_zone }} ip={{ local_ipv4 }}\n' \
    >"$TMP/work-svc/site/id.in"
commit_tree "$bare" "$TMP/work-svc" "service" >/dev/null || bail_out "commit"
v1=$(data_commit data 1) || bail_out "data repo"
start_git_daemon || bail_out "git daemon"
start_http_git || bail_out "smart HTTP"
mkdir -p "$TMP/www"
start_web "$TMP/www" || bail_out "web server"

cat >"$TMP/boot.cc" <<YML
#cloud-config
packages: [nginx]
runcmd:
  - [ echo, "cloud-init's own business" ]
gitstrap:
  state_dir: $TMP/state
  service:
    repo: $GIT_DAEMON_URL/svc.git
    ref: main
    recipe: gitstrap/recipe.yml
    vars: { docroot: $TMP/svc-root, availability_zone: from-vars }
  data:
    repo: $HTTP_GIT_URL/data.git
    ref: main
    target: $TMP/www/webcache
    unpack:
      - archive: cache_storage_for_open_qa.tar.gz
        strip_components: 2
YML
gzip -9n <"$TMP/boot.cc" >"$TMP/boot.cc.gz"
start_fake_imds --mode v2 --user-data "$TMP/boot.cc.gz" \
    --token-file "$TMP/tokens" \
    --meta instance-id=i-0123456789abcdef0 \
    --meta placement/region=us-east-1 \
    --meta placement/availability-zone=us-east-1b \
    --meta local-ipv4=172.31.5.6 \
    --meta local-hostname=ip-172-31-5-6.ec2.internal || bail_out "fake imds"
mkdir -p "$TMP/svc-root"
gs boot run --once --imds="$IMDS_URL"
is "$GS_RC" 0 "boot from gzip'd #cloud-config over IMDSv2 exits 0"
is "$(curl -s "$WEB_URL/webcache/")" "<h1>data version 1</h1>" \
    "the web server serves the page built from the data"
is "$(cat "$TMP/svc-root/id" 2>/dev/null)" \
    "id=i-0123456789abcdef0 az=from-vars ip=172.31.5.6" \
    "identity vars in a template; service.vars override them"
is "$(cat "$TMP/svc-root/env" 2>/dev/null)" "us-east-1 i-0123456789abcdef0" \
    "identity vars reach steps as GITSTRAP_VAR_*"
is "$(cat "$TMP/svc-root/host" 2>/dev/null)" "ip-172-31-5-6.ec2.internal" \
    "local-hostname too"
like "$(cat "$TMP/boot.err")" "ev=imds.fetched .*protocol=v2 .*identity=5" \
    "the fetch is logged"
ok "no token in the boot log" sh -c "! grep -qFf '$TMP/tokens' '$TMP/boot.err'"
is "$(count '^GET /latest/meta-data/public-hostname 404 token=yes$')" 1 \
    "an absent identity key is asked for once"

# --- the same boot from cloud-init's copy: identity from instance-data.json
mkdir -p "$TMP/cloud2/instance" "$TMP/svc-root2"
sed -e "s|$TMP/state|$TMP/state2|" -e "s|$TMP/svc-root|$TMP/svc-root2|" \
    -e "s|$TMP/www/webcache|$TMP/www/webcache2|" \
    -e "s|availability_zone: from-vars|email: x|" \
    "$TMP/boot.cc" >"$TMP/cloud2/instance/user-data.txt"
: >"$IMDS_LOG"
GITSTRAP_CLOUD_DIR=$TMP/cloud2 GITSTRAP_CLOUD_RUN_DIR=$TMP/cloud-run \
    gs boot2 run --once --imds="$IMDS_URL"
is "$GS_RC" 0 "boot from cloud-init's copy exits 0"
is "$(cat "$TMP/svc-root2/id" 2>/dev/null)" \
    "id=i-0cloudinit az=eu-west-1a ip=10.0.0.7" \
    "identity from cloud-init's instance-data.json"
is "$(wc -l <"$IMDS_LOG")" 0 "no request reached the metadata service"

# --- the same boot from a NoCloud seed: identity from its meta-data
mkdir -p "$TMP/seed3" "$TMP/svc-root3"
sed -e "s|$TMP/state|$TMP/state3|" -e "s|$TMP/svc-root|$TMP/svc-root3|" \
    -e "s|$TMP/www/webcache|$TMP/www/webcache3|" \
    "$TMP/boot.cc" >"$TMP/seed3/user-data"
cat >"$TMP/seed3/meta-data" <<'YML'
instance-id: iid-nocloud01
local-hostname: web-3
local-ipv4: 192.168.7.3
network-interfaces: |
  auto eth0
YML
: >"$IMDS_LOG"
gs boot3 run --once --nocloud="$TMP/seed3"
is "$GS_RC" 0 "boot from a NoCloud seed exits 0"
is "$(cat "$TMP/svc-root3/id" 2>/dev/null)" \
    "id=iid-nocloud01 az=from-vars ip=192.168.7.3" \
    "identity from the seed's meta-data"
is "$(cat "$TMP/svc-root3/host" 2>/dev/null)" "web-3" \
    "local-hostname from the seed's meta-data"
is "$(wc -l <"$IMDS_LOG")" 0 "NoCloud: no request reached the metadata service"
rm "$TMP/seed3/meta-data"
gs boot3b check --nocloud="$TMP/seed3"
is "$GS_RC" 0 "a seed without meta-data is still good"
like "$(cat "$TMP/boot3b.err")" "ev=nocloud.identity file=$TMP/seed3/meta-data msg=\"no meta-data" \
    "and says it has no identity"

# --- resident: HUP asks the metadata service again
: >"$IMDS_LOG"
"$GITSTRAP" run --imds="$IMDS_URL" 2>"$TMP/loop.err" &
LOOP=$!
on_exit "kill $LOOP 2>/dev/null"
ok "resident: boots from the metadata service" \
    wait_for grep -q "ev=unchanged\|ev=publish" "$TMP/loop.err"
kill -HUP "$LOOP"
ok "resident: HUP reloads" wait_for grep -q "ev=config.reload file=$IMDS_URL" \
    "$TMP/loop.err"
is "$(count '^GET /latest/user-data 200 token=yes$')" 2 \
    "resident: HUP fetched the user-data again"
kill -TERM "$LOOP" 2>/dev/null
wait "$LOOP" 2>/dev/null
is "$?" 0 "resident: TERM stops it cleanly"

done_testing
