#!/bin/bash
# systemd units: built with the installed paths, the resident loop
# sandboxed and the boot cycle not, no ordering cycle with cloud-init, and
# accepted by systemd-analyze verify when it is installed.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/build.sh"

# the units are generated in the build dir
BOOT=$BUILDDIR/init/systemd/gitstrap-boot.service
LOOP=$BUILDDIR/init/systemd/gitstrap.service
[ -f "$BOOT" ] && [ -f "$LOOP" ] ||
    bail_out "units not built in $BUILDDIR/init/systemd"

# values of KEY= in FILE, one per line (comments are not directives)
directive() {
	sed -n "s/^$2=//p" "$1"
}

# has FILE LINE: FILE has LINE exactly
has() {
	grep -qxF -- "$2" "$1"
}

HARDENING=(
	NoNewPrivileges=yes
	ProtectSystem=strict
	PrivateTmp=yes
	ProtectHome=yes
	ProtectKernelTunables=yes
	ProtectKernelModules=yes
	ProtectControlGroups=yes
	RestrictSUIDSGID=yes
	LockPersonality=yes
	RestrictRealtime=yes
	SystemCallArchitectures=native
	"RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX"
	UMask=0022
)

plan $((41 + ${#HARDENING[@]}))
setup_tmp

# what configure chose
if grep -q '^#define HAVE_SYSTEMD 1' "$BUILDDIR/config.h"; then
	want_type=notify
else
	want_type=simple
fi
webroot_parent=$(sed -n 's/^WEBROOT_PARENT = //p' "$BUILDDIR/Makefile")
# installation dirs, as make expands them
sbindir=$(make_var sbindir)
sysconfdir=$(make_var sysconfdir)

# --- generated from the .in files
for u in "$BOOT" "$LOOP"; do
	n=${u##*/}
	nok "$n: every @variable@ is substituted" \
	    grep -E '@[A-Za-z_]+@' "$u"
done
like "$webroot_parent" '^/' "configure gave an absolute web root parent"

# --- the boot cycle: once, as root, not sandboxed
is "$(directive "$BOOT" Type)" oneshot "boot: Type=oneshot"
is "$(directive "$BOOT" RemainAfterExit)" yes "boot: RemainAfterExit=yes"
is "$(directive "$BOOT" ExecStart)" \
    "$sbindir/gitstrap run --once \$GITSTRAP_SOURCE_ARGS" \
    "boot: ExecStart runs the installed gitstrap run --once SOURCE"
is "$(directive "$BOOT" PrivateTmp)" yes "boot: PrivateTmp=yes"
is "$(grep -cE '^(ProtectSystem|NoNewPrivileges|ProtectHome|RestrictSUIDSGID|ReadOnlyPaths|SystemCallFilter)=' "$BOOT")" \
    0 "boot: no sandboxing that would break a recipe installing packages"
is "$(directive "$BOOT" PartOf)" gitstrap.service \
    "boot: restarting the loop runs the boot cycle again"

# --- the resident loop
is "$(directive "$LOOP" Type)" "$want_type" "loop: Type=$want_type"
is "$(directive "$LOOP" NotifyAccess)" main "loop: NotifyAccess=main"
is "$(directive "$LOOP" ExecStart)" \
    "$sbindir/gitstrap run \$GITSTRAP_SOURCE_ARGS" \
    "loop: ExecStart runs the installed gitstrap run SOURCE"
boot_exec=$(directive "$BOOT" ExecStart)
loop_exec=$(directive "$LOOP" ExecStart)
is "${loop_exec%% *}" "${boot_exec%% *}" "both units run the same binary"
is "${loop_exec##* }" "${boot_exec##* }" "both units read the same source"
is "$(directive "$LOOP" ExecReload)" '/bin/kill -HUP $MAINPID' \
    "loop: reload is SIGHUP"
like "$(directive "$LOOP" Requires | tr '\n' ' ')" \
    '(^| )gitstrap-boot\.service ' "loop: requires the boot cycle"
like "$(directive "$LOOP" After | tr '\n' ' ')" \
    '(^| )gitstrap-boot\.service ' "loop: starts after the boot cycle"
is "$(directive "$LOOP" WatchdogSec)" "" \
    "loop: no watchdog (pings come only once per wait)"
for h in "${HARDENING[@]}"; do
	ok "loop: $h" has "$LOOP" "$h"
done
ok "loop: the state dir is writable" \
    has "$LOOP" "ReadWritePaths=-/var/lib/gitstrap"
ok "loop: the web root's parent is writable" \
    has "$LOOP" "ReadWritePaths=-$webroot_parent"

# --- both
for u in "$BOOT" "$LOOP"; do
	n=${u##*/}
	is "$(directive "$u" EnvironmentFile)" "-$sysconfdir/default/gitstrap" \
	    "$n: the source may be set in $sysconfdir/default/gitstrap"
	is "$(directive "$u" ConditionPathExists | tr '\n' ' ')" \
	    "|$sysconfdir/gitstrap/gitstrap.yml |$sysconfdir/default/gitstrap " \
	    "$n: skipped unless the config or the defaults file exists"
	after=$(directive "$u" After | tr '\n' ' ')
	like "$after" '(^| )cloud-final\.service ' \
	    "$n: ordered after cloud-init's final stage"
	is "$(grep -cE '^(Requires|Requisite|BindsTo|Wants)=.*cloud-final' "$u")" \
	    0 "$n: but does not need cloud-init"
	like "$after" '(^| )network-online\.target ' \
	    "$n: after the network is online"
	is "$(directive "$u" Restart)" on-failure "$n: Restart=on-failure"
	is "$(directive "$u" RestartPreventExitStatus)" 2 \
	    "$n: a config error (exit 2) is not retried"
	like "$(directive "$u" TimeoutStartSec)" '^[0-9]+min$' \
	    "$n: a start timeout long enough for a first clone"
done
docs=1
for page in $(sed -n 's/^Documentation=//p' "$BOOT" "$LOOP" | tr ' ' '\n' |
    sed -n 's/^man:\(.*\)(\([0-9]\))$/\1.\2/p' | sort -u); do
	[ -f "$TOP_SRCDIR/docs/$page" ] || { diag "no docs/$page"; docs=0; }
done
is "$docs" 1 "the man pages the units name are shipped"

# --- systemd-analyze
if ! command -v systemd-analyze >/dev/null; then
	skip "systemd-analyze is not installed" 4
	done_testing
fi

# A closed world: the units, with ExecStart on the built binary (verify
# wants it to exist), and stand-ins for the targets they name, so that
# nothing installed on this machine (a drop-in, another gitstrap unit)
# changes the outcome. An empty SYSTEMD_UNIT_PATH adds no other dir.
U=$TMP/units
mkdir -p "$U/multi-user.target.wants"
for u in "$BOOT" "$LOOP"; do
	sed "s|^ExecStart=[^ ]*/gitstrap |ExecStart=$GITSTRAP |" "$u" \
	    >"$U/${u##*/}"
done
for t in sysinit basic shutdown network-online multi-user; do
	printf '[Unit]\nDescription=%s\n' "$t" >"$U/$t.target"
done

verify() {
	SYSTEMD_UNIT_PATH= systemd-analyze verify --man=no "$@" \
	    >"$TMP/verify.out" 2>&1
}

ok "systemd-analyze verify accepts both units" \
    verify "$U/gitstrap-boot.service" "$U/gitstrap.service"
is "$(cat "$TMP/verify.out")" "" "and has nothing to say about them"

# Debian and Ubuntu order cloud-final.service after multi-user.target; a
# unit that multi-user.target wants, ordered after cloud-final, must not
# also be ordered before multi-user.target.
cat >"$U/cloud-final.service" <<'UNIT'
[Unit]
Description=cloud-init final stage, as Debian and Ubuntu order it
After=network-online.target multi-user.target
[Service]
Type=oneshot
ExecStart=/bin/true
RemainAfterExit=yes
UNIT
ln -s ../gitstrap.service ../gitstrap-boot.service ../cloud-final.service \
    "$U/multi-user.target.wants/"
ok "a boot with cloud-init and both units enabled verifies" \
    verify "$U/multi-user.target"
unlike "$(cat "$TMP/verify.out")" 'ordering cycle' \
    "without an ordering cycle"
[ -s "$TMP/verify.out" ] && diag "$(cat "$TMP/verify.out")"

done_testing
