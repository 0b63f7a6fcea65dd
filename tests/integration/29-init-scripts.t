#!/bin/bash
# sysvinit and OpenRC scripts: valid POSIX sh naming the installed binary;
# the sysvinit script started, queried, reloaded and stopped for real
# against a built gitstrap, with its paths moved into a temp dir. OpenRC
# is not on Debian: its script is checked by what it hands openrc-run.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/build.sh"
. "$TOP_SRCDIR/tests/lib/servers.sh"
. "$TOP_SRCDIR/tests/lib/fixtures.sh"

SYSV=$BUILDDIR/init/sysvinit/gitstrap
OPENRC=$BUILDDIR/init/openrc/gitstrap
[ -f "$SYSV" ] && [ -f "$OPENRC" ] ||
    bail_out "init scripts not built in $BUILDDIR/init"

plan 55
setup_tmp
sbindir=$(make_var sbindir)
sysconfdir=$(make_var sysconfdir)

# --- both scripts, as built
for s in "$SYSV" "$OPENRC"; do
	n=${s#"$BUILDDIR"/init/}
	ok "$n: sh -n" sh -n "$s"
	nok "$n: every @variable@ is substituted" grep -E '@[A-Za-z_]+@' "$s"
	ok "$n: executable" test -x "$s"
	if command -v checkbashisms >/dev/null; then
		ok "$n: checkbashisms" checkbashisms -f "$s"
	else
		skip "checkbashisms is not installed (devscripts)"
	fi
done

# --- sysvinit: LSB header and defaults
header=$(sed -n '/^### BEGIN INIT INFO$/,/^### END INIT INFO$/p' "$SYSV")
like "$header" $'\n# Provides: +gitstrap\n' "sysvinit: LSB header provides gitstrap"
like "$header" $'\n# Required-Start: +\\$network' "sysvinit: starts after the network"
like "$header" $'\n# Should-Start: +cloud-final\n' \
    "sysvinit: after cloud-init's final stage when present"
like "$header" $'\n# Default-Start: +2 3 4 5\n' "sysvinit: default runlevels"
ok "sysvinit: runs the installed binary by default" \
    grep -qxF "DAEMON=\${GITSTRAP_DAEMON:-$sbindir/gitstrap}" "$SYSV"
ok "sysvinit: reads $sysconfdir/default/gitstrap" \
    grep -qxF "DEFAULTS=\${GITSTRAP_DEFAULTS:-$sysconfdir/default/gitstrap}" "$SYSV"

# --- OpenRC: what openrc-run would see. Source the script in a shell
# with stand-ins for openrc-run's dependency functions.
openrc_vars() {
	RC_SVCNAME=gitstrap GITSTRAP_SOURCE_ARGS="$1" sh -c '
		need() { echo "need $*"; }
		after() { echo "after $*"; }
		use() { echo "use $*"; }
		. "$0"
		echo "command=$command"
		echo "command_args=$command_args"
		echo "command_background=$command_background"
		echo "pidfile=$pidfile"
		depend' "$OPENRC"
}
out=$(openrc_vars --imds)
like "$(head -1 "$OPENRC")" '^#!/sbin/openrc-run$' "openrc: run by openrc-run"
like "$out" $'(^|\n)command='"$sbindir"$'/gitstrap\n' \
    "openrc: command is the installed binary"
like "$out" $'\ncommand_args=run --imds\n' \
    "openrc: arguments are run and the configured source"
like "$(openrc_vars "")" $'\ncommand_args=run *\n' \
    "openrc: no source configured: run alone, gitstrap's default config"
like "$out" $'\ncommand_background=true\n' "openrc: backgrounded by openrc-run"
like "$out" $'\npidfile=/run/gitstrap.pid\n' "openrc: pid file"
like "$out" $'\nneed net\n' "openrc: needs the network"
like "$out" $'\nafter cloud-final\n' "openrc: after cloud-init's final stage"

# --- sysvinit, for real
export GITSTRAP_DAEMON=$GITSTRAP
export GITSTRAP_PIDFILE=$TMP/run/gitstrap.pid
export GITSTRAP_LOGFILE=$TMP/gitstrap.log
mkdir -p "$TMP/run"
# stop what a failed test may have left running
on_exit 'start-stop-daemon --stop --quiet --pidfile "$GITSTRAP_PIDFILE" --retry KILL/5 >/dev/null 2>&1'

# initd NAME ARGS...: run the script; output in $TMP/NAME.out (stdout and
# stderr), exit status in $RC
initd() {
	local name=$1

	shift
	RC=0
	"$SYSV" "$@" >"$TMP/$name.out" 2>&1 || RC=$?
}

data_commit data 1 >/dev/null || bail_out "data repo"
write_config "$TMP/gitstrap.yml" <<YML
state_dir: $TMP/state
data:
  repo: $TMP/git/data.git
  ref: main
  target: $TMP/www/webcache
  unpack:
    - archive: cache_storage_for_open_qa.tar.gz
      strip_components: 2
  interval: 1h
YML

# not configured: neither the defaults file nor the default config
export GITSTRAP_DEFAULTS=$TMP/default
if [ -e "$sysconfdir/gitstrap/gitstrap.yml" ]; then
	skip "$sysconfdir/gitstrap/gitstrap.yml exists on this machine" 3
else
	initd unconf start
	is "$RC" 0 "start without a config succeeds"
	like "$(cat "$TMP/unconf.out")" "not configured" "and says why it did nothing"
	nok "and starts nothing" test -e "$GITSTRAP_PIDFILE"
fi
initd st0 status
is "$RC" 3 "status of a stopped service: 3"
like "$(cat "$TMP/st0.out")" "is not running" "status says it is not running"

# configured through the defaults file
printf 'GITSTRAP_SOURCE_ARGS="-c %s"\n' "$TMP/gitstrap.yml" >"$GITSTRAP_DEFAULTS"
initd start start
is "$RC" 0 "start exits 0"
ok "the boot cycle publishes the data" \
    wait_for test -f "$TMP/www/webcache/index.html"
pid=$(cat "$GITSTRAP_PIDFILE" 2>/dev/null)
like "$pid" '^[0-9]+$' "start wrote the pid file"
ok "the process is alive" kill -0 "$pid"
is "$(tr '\0' ' ' <"/proc/$pid/cmdline")" \
    "$GITSTRAP run -c $TMP/gitstrap.yml " \
    "it runs gitstrap run with the source of the defaults file"
ok "and stays resident after the boot cycle" \
    wait_for grep -q 'ev=publish ' "$GITSTRAP_LOGFILE"
ok "the process is still alive" kill -0 "$pid"

initd st1 status
is "$RC" 0 "status of a running service: 0"
is "$(cat "$TMP/st1.out")" "gitstrap is running (pid $pid)" "status names the pid"

initd again start
is "$RC" 0 "a second start exits 0"
like "$(cat "$TMP/again.out")" "already running" "and says it is already running"
is "$(cat "$GITSTRAP_PIDFILE")" "$pid" "with the same process"

initd reload reload
is "$RC" 0 "reload exits 0"
ok "reload makes gitstrap reread its config" \
    wait_for grep -q 'ev=config.reload ' "$GITSTRAP_LOGFILE"

initd stop stop
is "$RC" 0 "stop exits 0"
ok "the process is gone" wait_for -t 5 eval "! kill -0 $pid"
like "$(cat "$GITSTRAP_LOGFILE")" 'ev=stop signal=TERM' \
    "it was stopped by SIGTERM, between cycles"
nok "the pid file is removed" test -e "$GITSTRAP_PIDFILE"
initd st2 status
is "$RC" 3 "status after stop: 3"
initd stop2 stop
is "$RC" 0 "stop when stopped exits 0"
initd reload2 reload
is "$RC" 7 "reload when stopped: 7 (not running)"

# GITSTRAP_CONFIG in the defaults file, instead of arguments
printf 'GITSTRAP_CONFIG=%s\n' "$TMP/gitstrap.yml" >"$GITSTRAP_DEFAULTS"
initd start2 start
is "$RC" 0 "start with GITSTRAP_CONFIG exits 0"
pid=$(cat "$GITSTRAP_PIDFILE" 2>/dev/null)
ok "gitstrap reads the config GITSTRAP_CONFIG names" \
    wait_for grep -q 'ev=unchanged ' "$GITSTRAP_LOGFILE"
initd stop3 stop
is "$RC" 0 "and stops"

# an invalid config is reported at start, and nothing is started
printf 'data:\n  repo: %s\n  tagret: /srv\n' "$TMP/git/data.git" >"$TMP/bad.yml"
printf 'GITSTRAP_SOURCE_ARGS="-c %s"\n' "$TMP/bad.yml" >"$GITSTRAP_DEFAULTS"
initd bad start
is "$RC" 6 "start with an invalid config: 6 (not configured)"
like "$(cat "$TMP/bad.out")" "$TMP/bad.yml:3:3: data: unknown key \"tagret\"" \
    "the config error is shown, with its place"
nok "nothing is started" test -e "$GITSTRAP_PIDFILE"

initd usage frobnicate
is "$RC" 3 "an unknown action: 3"

done_testing
