# shellcheck shell=bash
#
# tap.sh: TAP output and test scaffolding for the integration tests.
#
# Source it from a bash test script:
#
#	. "$TOP_SRCDIR/tests/lib/tap.sh"
#	plan 3
#	setup_tmp
#	ok "config is valid" "$GITSTRAP" check -c "$TMP/gitstrap.yml"
#	is "$(cat "$TMP/out")" "hello" "output is hello"
#	like "$(cat "$TMP/log")" "ev=publish" "publish was logged"
#	done_testing
#
# ok, nok, is, isnt, like, unlike, pass and fail return 0 whether or not the
# test passed, so a script running under `set -e` goes on to report the rest
# of its tests; call bail_out to stop early when nothing more can work.
#
# Output of commands run by ok/nok goes to stderr, never to stdout, which
# belongs to the TAP stream. Diagnostics go to stderr too, as "# ..." lines.
#
# This file is sourced, so it sets no shell options of its own.

TAP_PLANNED=
TAP_RUN=0
TAP_FAILED=0

# plan N: announce how many tests will run.
plan() {
	TAP_PLANNED=$1
	printf '1..%s\n' "$1"
}

# skip_all WHY: skip the whole script (call it before plan) and exit 0.
skip_all() {
	printf '1..0 # SKIP %s\n' "$*"
	TAP_PLANNED=0
	exit 0
}

# bail_out WHY: stop the whole test run; the harness reports it as an error.
bail_out() {
	printf 'Bail out! %s\n' "$*"
	exit 255
}

# diag MSG...: diagnostic lines on stderr, one per argument.
diag() {
	local line

	# One "# " per line, so multi-line messages stay diagnostics.
	printf '%s\n' "$@" | while IFS= read -r line; do
		printf '# %s\n' "$line"
	done >&2
}

# _tap_result STATUS DESC: print one test line; STATUS 0 is a pass.
_tap_result() {
	local status=$1 desc=$2

	TAP_RUN=$((TAP_RUN + 1))
	# '#' would start a directive in the description: escape it.
	desc=${desc//\#/\\#}
	if [ "$status" -eq 0 ]; then
		printf 'ok %d - %s\n' "$TAP_RUN" "$desc"
	else
		TAP_FAILED=$((TAP_FAILED + 1))
		printf 'not ok %d - %s\n' "$TAP_RUN" "$desc"
		# Say where the failing test is, as Test::More does.
		diag "  Failed test '$2'" \
		    "  at ${BASH_SOURCE[2]:-?} line ${BASH_LINENO[1]:-?}."
	fi
}

# pass DESC / fail DESC: record an outcome decided by the caller.
pass() {
	_tap_result 0 "$1"
	return 0
}

fail() {
	_tap_result 1 "$1"
	return 0
}

# ok DESC CMD [ARGS...]: passes when CMD exits 0.
ok() {
	local desc=$1 status=0

	shift
	"$@" >&2 || status=$?
	_tap_result "$status" "$desc"
	[ "$status" -eq 0 ] || diag "  command exited $status: $*"
	return 0
}

# nok DESC CMD [ARGS...]: passes when CMD exits non-zero.
nok() {
	local desc=$1 status=0

	shift
	"$@" >&2 || status=$?
	if [ "$status" -ne 0 ]; then
		_tap_result 0 "$desc"
	else
		_tap_result 1 "$desc"
		diag "  command succeeded but should have failed: $*"
	fi
	return 0
}

# is GOT WANT DESC: string equality.
is() {
	if [ "$1" = "$2" ]; then
		_tap_result 0 "$3"
	else
		_tap_result 1 "$3"
		diag "         got: '$1'" "    expected: '$2'"
	fi
	return 0
}

# isnt GOT UNWANTED DESC: string inequality.
isnt() {
	if [ "$1" != "$2" ]; then
		_tap_result 0 "$3"
	else
		_tap_result 1 "$3"
		diag "         got: '$1'" "    expected: anything else"
	fi
	return 0
}

# like GOT REGEX DESC: GOT matches the extended regular expression.
like() {
	if [[ $1 =~ $2 ]]; then
		_tap_result 0 "$3"
	else
		_tap_result 1 "$3"
		diag "                  '$1'" "    doesn't match '$2'"
	fi
	return 0
}

# unlike GOT REGEX DESC: GOT does not match the regular expression.
unlike() {
	if [[ $1 =~ $2 ]]; then
		_tap_result 1 "$3"
		diag "                  '$1'" "          matches '$2'"
	else
		_tap_result 0 "$3"
	fi
	return 0
}

# skip WHY [N]: report N (default 1) tests as skipped.
skip() {
	local i n=${2:-1}

	for ((i = 0; i < n; i++)); do
		TAP_RUN=$((TAP_RUN + 1))
		printf 'ok %d # skip %s\n' "$TAP_RUN" "$1"
	done
	return 0
}

# done_testing: print the plan if none was given, check the count, and exit
# with the number of failed tests (capped), as Test::More does.
done_testing() {
	local status

	if [ -z "$TAP_PLANNED" ]; then
		printf '1..%d\n' "$TAP_RUN"
		TAP_PLANNED=$TAP_RUN
	fi
	status=$((TAP_FAILED > 254 ? 254 : TAP_FAILED))
	if [ "$TAP_RUN" -ne "$TAP_PLANNED" ]; then
		diag "planned $TAP_PLANNED tests but ran $TAP_RUN"
		status=255
	fi
	if [ "$TAP_FAILED" -gt 0 ]; then
		diag "failed $TAP_FAILED of $TAP_RUN tests"
	fi
	exit "$status"
}

# wait_for [-t SECONDS] CMD [ARGS...]: run CMD every 0.1 s until it exits 0;
# return 1 if it has not within the timeout (default $WAIT_TIMEOUT or 20 s).
# CMD's output is discarded.
wait_for() {
	local timeout=${WAIT_TIMEOUT:-20} deadline secs frac

	if [ "${1:-}" = -t ]; then
		timeout=$2
		shift 2
	fi
	# Tenths of a second, so the arithmetic stays in integers.
	secs=${timeout%%.*}
	case $timeout in
	*.*)	frac=${timeout#*.}; frac=${frac:0:1} ;;
	*)	frac=0 ;;
	esac
	deadline=$(( $(_tap_now_ds) + 10#${secs:-0} * 10 + 10#${frac:-0} ))
	while :; do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		if [ "$(_tap_now_ds)" -ge "$deadline" ]; then
			return 1
		fi
		sleep 0.1
	done
}

# Current time in tenths of a second.
_tap_now_ds() {
	local t

	# EPOCHREALTIME is bash 5; fall back to date for older shells.
	if [ -n "${EPOCHREALTIME:-}" ]; then
		t=${EPOCHREALTIME/[.,]/}
		printf '%d\n' "$((10#${t:0:${#t}-5}))"
	else
		t=$(date +%s%N)
		printf '%d\n' "$((10#${t:0:${#t}-8}))"
	fi
}

# Commands to run at exit, last registered first.
TAP_CLEANUP=()

# on_exit CMD: run CMD (a string for eval) when the script exits.
on_exit() {
	TAP_CLEANUP+=("$1")
}

# setup_tmp: make a private temp dir as $TMP and clean it up at exit.
#
# The dir is mode 0755 so that an unprivileged web-server worker can read
# files served from under it. At exit, every process recorded by the server
# helpers is stopped, on_exit commands run, and the dir is removed unless
# KEEP_TMP=1.
setup_tmp() {
	local base=${TMPDIR:-/tmp}

	# Under root, web-server workers run as nobody: they must be able to
	# reach the temp dir, which a private $TMPDIR may not allow.
	if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null &&
	    ! setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups \
	    test -x "$base" 2>/dev/null; then
		base=/tmp
	fi
	TMP=$(mktemp -d "$base/gitstrap-test.XXXXXX") || bail_out "mktemp failed"
	chmod 0755 "$TMP"
	export TMP
	trap _tap_exit EXIT
	# Turn signals into an ordinary exit so the EXIT trap cleans up.
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
}

_tap_exit() {
	local status=$? i

	trap - EXIT
	for ((i = ${#TAP_CLEANUP[@]} - 1; i >= 0; i--)); do
		eval "${TAP_CLEANUP[i]}" || :
	done
	if declare -F stop_servers >/dev/null; then
		stop_servers || :
	fi
	if [ -n "${TMP:-}" ] && [ -d "$TMP" ]; then
		if [ "${KEEP_TMP:-0}" = 1 ]; then
			diag "kept $TMP"
		else
			rm -rf -- "$TMP"
		fi
	fi
	exit "$status"
}
