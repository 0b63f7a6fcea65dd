#!/bin/bash
# Crash safety. Syncs of a data repo big enough to take a while are killed
# with SIGKILL at random moments: after each kill the web root must still
# be a complete release, the one served before or the new one, never a
# half-unpacked tree or a dangling link, and the next run must clean up
# and converge. The same for first boots on an empty state dir. Then, when
# strace can inject signals, kills at exact points: before each rename(2)
# of a first boot and of an update, the moments when lock files, the
# release dir, the web root link and status.json are put in place.
#
# The random kill moments are drawn with $RANDOM, seeded with CRASH_SEED
# when it is set (the seed is printed), so a failing run can be retried.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/servers.sh"
. "$TOP_SRCDIR/tests/lib/fixtures.sh"

TRIALS=25	# syncs killed while a new version is published
FRESH=3		# first boots killed on an empty state dir
FILES=3000	# pages in every release of the big repo

plan $((2 + TRIALS + 1 + 7 + 2 * FRESH + 4))
setup_tmp

seed=${CRASH_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
RANDOM=$seed
diag "CRASH_SEED=$seed"

# digest DIR: one checksum of the names and contents of the files under DIR
digest() {
	(cd "$1" && find . -type f -print0 | LC_ALL=C sort -z |
	    xargs -0 md5sum) | md5sum | cut -d' ' -f1
}

# What each version of a repo must unpack to, by "REPO:VERSION".
declare -A COMMIT DIGEST NFILES

# remember REPO VERSION COMMIT DIR: record a pushed version and its tree
remember() {
	COMMIT[$1:$2]=$3
	DIGEST[$1:$2]=$(digest "$4")
	NFILES[$1:$2]=$(find "$4" -type f | wc -l)
}

# --- the big repo: FILES pages of 2-10 KB, about 20 MB unpacked
src=$TMP/src
top=$src/cache_storage_for_open_qa
mkdir -p "$top/json" "$TMP/data-work"
awk -v n="$FILES" -v dir="$top" 'BEGIN {
	srand(21)
	for (i = 0; i < 50; i++)
		system("mkdir -p " dir "/d" i)
	for (i = 0; i < n; i++) {
		f = dir "/d" (i % 50) "/page" i ".html"
		size = 2048 + int(rand() * 8192)
		s = ""
		while (length(s) < size)
			s = s "<p>row " i " " rand() "</p>\n"
		printf "%s", s > f
		close(f)
	}
}' || bail_out "generating the data"
make_bare_repo data >/dev/null || bail_out "data repo"

# push_version N: commit to the big repo a tarball whose index.html says
# version N
push_version() {
	local n=$1 commit

	printf '<h1>data version %s</h1>\n' "$n" >"$top/index.html"
	printf '{"version": %s}\n' "$n" >"$top/json/v.json"
	# as make_data_tarball, but with fast compression: one per trial
	tar -C "$src" --sort=name --mtime=@1700000000 --owner=0 --group=0 \
	    --numeric-owner -cf - ./cache_storage_for_open_qa |
	    gzip -n -1 >"$TMP/data-work/cache_storage_for_open_qa.tar.gz" || return 1
	printf 'data repo of version %s\n' "$n" >"$TMP/data-work/README"
	commit=$(commit_tree "$TMP/git/data.git" "$TMP/data-work" "data v$n") ||
	    return 1
	remember data "$n" "$commit" "$top"
}

# push_small N: the same for the small repo (two files)
push_small() {
	local commit

	commit=$(data_commit small "$1") || return 1
	remember small "$1" "$commit" "$TMP/src-small/cache_storage_for_open_qa"
}

# served TARGET STATE REPO: is TARGET a symlink to a complete release of
# REPO in the releases dir beside it? Sets SERVED to the version it serves, WHY to
# what is wrong; returns 1 when something is.
served() {
	local target=$1 state=$2 repo=$3 link id v

	SERVED=
	WHY=
	if [ ! -L "$target" ]; then
		WHY="$target is not a symlink"
		return 1
	fi
	link=$(readlink "$target")
	id=${link##*/}
	if [[ ! $link =~ ^"."${target##*/}".releases/"[0-9]{8}T[0-9]{6}Z-[0-9a-f]{40}$ ]]; then
		WHY="$target points at $link, not at a release beside it"
		return 1
	fi
	link=${target%/*}/$link
	if [ ! -d "$link" ]; then
		WHY="$target points at $link, which is not a directory"
		return 1
	fi
	v=$(cat "$link/index.html" 2>/dev/null)
	if [[ ! $v =~ ^'<h1>data version '([0-9]+)'</h1>'$ ]]; then
		WHY="$link/index.html holds '$v'"
		return 1
	fi
	SERVED=${BASH_REMATCH[1]}
	if [ "${id#*-}" != "${COMMIT[$repo:$SERVED]:-}" ]; then
		WHY="release $id serves version $SERVED, whose commit is ${COMMIT[$repo:$SERVED]:-unknown}"
		return 1
	fi
	if [ "$(digest "$link")" != "${DIGEST[$repo:$SERVED]}" ]; then
		WHY="release $id of version $SERVED is incomplete or altered: $(find "$link" -type f | wc -l) files, ${NFILES[$repo:$SERVED]} expected"
		return 1
	fi
	return 0
}

# leftovers STATE TARGET: what an interrupted run may leave behind
leftovers() {
	local rels

	rels=$(releases_of "$2")
	ls -d "$rels"/*.tmp "$rels"/*.failed "$1/service.tmp" \
	    "$2.gitstrap-tmp" 2>/dev/null
}

# converged NAME TARGET STATE REPO VERSION: did the run just made with
# `gs NAME ...` exit 0, publish VERSION of REPO complete and leave nothing
# behind? Sets WHY when not.
converged() {
	local name=$1 target=$2 state=$3 repo=$4 want=$5 left

	WHY=
	if [ "$GS_RC" -ne 0 ]; then
		WHY="exit $GS_RC: $(tail -n 1 "$TMP/$name.err")"
	elif ! served "$target" "$state" "$repo"; then
		:
	elif [ "$SERVED" != "$want" ]; then
		WHY="serves version $SERVED, not $want"
	elif left=$(leftovers "$state" "$target"); [ -n "$left" ]; then
		WHY="left over: $left"
	fi
	[ -z "$WHY" ]
}

# config FILE STATE TARGET REPO: a data-only config
config() {
	write_config "$1" <<-YML
	state_dir: $2
	data:
	  repo: $HTTP_GIT_URL/$4.git
	  ref: main
	  depth: 1
	  target: $3
	  unpack:
	    - archive: cache_storage_for_open_qa.tar.gz
	      strip_components: 2
	  keep_releases: 3
	YML
}

# kill_after MS CMD...: start CMD in the background and SIGKILL it MS
# milliseconds later, unless it is done by then. Sets RC to its exit
# status (137 when killed); its output is appended to $TMP/killed.log.
kill_after() {
	local ms=$1 pid

	shift
	printf '=== %s (kill after %d ms)\n' "$*" "$ms" >>"$TMP/killed.log"
	"$@" >>"$TMP/killed.log" 2>&1 &
	pid=$!
	sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
	kill -KILL "$pid" 2>/dev/null || :
	RC=0
	# (no "Killed" notice from the shell on stderr)
	wait "$pid" 2>/dev/null || RC=$?
}

# window MS: a range for kill moments, from the start of a run that takes
# about MS to a little past its end
window() {
	local w=$(($1 + $1 / 2))

	[ "$w" -ge 500 ] || w=500
	[ "$w" -le 6000 ] || w=6000
	printf '%d\n' "$w"
}

now_ms() {
	local t

	# EPOCHREALTIME is bash 5; date for older shells
	if [ -n "${EPOCHREALTIME:-}" ]; then
		t=${EPOCHREALTIME/[.,]/}
		printf '%d\n' "$((10#${t:0:${#t}-3}))"
	else
		date +%s%3N
	fi
}

start_http_git || bail_out "smart HTTP"
state=$TMP/state
target=$TMP/www/webcache
config "$TMP/gitstrap.yml" "$state" "$target" data

# --- version 1 by a first boot, version 2 by a sync that is let finish
push_version 1 || bail_out "pushing version 1"
t0=$(now_ms)
gs boot run --once -c "$TMP/gitstrap.yml"
boot_ms=$(($(now_ms) - t0))
if converged boot "$target" "$state" data 1; then
	pass "first boot publishes version 1 ($boot_ms ms)"
else
	fail "first boot publishes version 1"
	diag "$WHY"
fi

push_version 2 || bail_out "pushing version 2"
t0=$(now_ms)
gs sync2 sync -c "$TMP/gitstrap.yml"
sync_ms=$(($(now_ms) - t0))
if converged sync2 "$target" "$state" data 2; then
	pass "a sync let finish publishes version 2 ($sync_ms ms)"
else
	fail "a sync let finish publishes version 2"
	diag "$WHY"
fi

# --- a sync killed at a random moment, again and again
#
# The moments spread over the whole sync and past it, from the start of
# the process to after the switch. A sync after a kill has more to do than
# the one timed above (the killed one's leftovers to remove, a fetch to
# redo): half as much again covers most of it.
win=$(window "$sync_ms")
prev=2
before=0	# kills that left the previous release served
after=0		# kills after the switch
finished=0	# syncs done before the kill came
for ((i = 1; i <= TRIALS; i++)); do
	n=$((i + 2))
	push_version "$n" || bail_out "pushing version $n"
	ms=$((RANDOM % win))
	kill_after "$ms" "$GITSTRAP" sync -c "$TMP/gitstrap.yml"
	if [ "$RC" -eq 137 ]; then
		desc="trial $i: sync of version $n killed after $ms ms"
	else
		desc="trial $i: sync of version $n done before its kill at $ms ms"
	fi
	if [ "$RC" -ne 137 ] && [ "$RC" -ne 0 ]; then
		fail "$desc"
		diag "the sync exited $RC:" "$(tail -n 5 "$TMP/killed.log")"
	elif ! served "$target" "$state" data; then
		fail "$desc"
		diag "$WHY"
	elif [ "$SERVED" != "$prev" ] && [ "$SERVED" != "$n" ]; then
		fail "$desc"
		diag "serves version $SERVED: neither the previous ($prev) nor the new one ($n)"
	elif [ "$RC" -eq 0 ] && [ "$SERVED" != "$n" ]; then
		fail "$desc"
		diag "the sync exited 0 but version $SERVED is served, not $n"
	else
		pass "$desc: serves complete version $SERVED"
		if [ "$RC" -eq 0 ]; then
			finished=$((finished + 1))
		elif [ "$SERVED" = "$n" ]; then
			after=$((after + 1))
		else
			before=$((before + 1))
		fi
	fi
	prev=${SERVED:-$prev}
done
diag "of $TRIALS syncs: $before killed before the switch, $after killed after it, $finished done before the kill"
ok "some kills hit a sync before its switch ($before of $TRIALS)" \
    test "$before" -gt 0

# --- the next sync cleans up and converges
last=$((TRIALS + 2))
gs final sync -c "$TMP/gitstrap.yml"
is "$GS_RC" 0 "a sync after the kills exits 0"
[ "$GS_RC" -eq 0 ] || diag "$(tail -n 5 "$TMP/final.err")"
if served "$target" "$state" data && [ "$SERVED" = "$last" ]; then
	pass "it serves the newest version, $last, complete"
else
	fail "it serves the newest version, $last, complete"
	diag "${WHY:-serves version $SERVED}"
fi
is "$(leftovers "$state" "$target")" "" \
    "no *.tmp, *.failed, service.tmp or <target>.gitstrap-tmp left"
is "$(find "$(releases_of "$target")" -mindepth 1 -maxdepth 1 -regextype posix-extended \
    -regex '.*/[0-9]{8}T[0-9]{6}Z-[0-9a-f]{40}' | wc -l)" 3 \
    "keep_releases=3 releases kept"
gs status status --json --state-dir "$state"
is "$GS_RC" 0 "status exits 0"
is "$(jqr "$TMP/status.out" .last_error)" null "status: no last error"
is "$(jqr "$TMP/status.out" .data.commit)" "${COMMIT[data:$last]}" \
    "status: the newest commit"

# --- a first boot killed at a random moment, then booted again
win=$(window "$boot_ms")
for ((i = 1; i <= FRESH; i++)); do
	fstate=$TMP/fresh$i/state
	ftarget=$TMP/fresh$i/www/webcache
	config "$TMP/fresh$i.yml" "$fstate" "$ftarget" data
	ms=$((RANDOM % win))
	kill_after "$ms" "$GITSTRAP" run --once -c "$TMP/fresh$i.yml"
	if [ "$RC" -eq 137 ]; then
		desc="first boot $i killed after $ms ms"
	else
		desc="first boot $i done before its kill at $ms ms"
	fi
	if [ "$RC" -ne 137 ] && [ "$RC" -ne 0 ]; then
		fail "$desc"
		diag "the boot exited $RC:" "$(tail -n 5 "$TMP/killed.log")"
	elif [ "$RC" -eq 137 ] && [ ! -e "$ftarget" ] && [ ! -L "$ftarget" ]
	then
		pass "$desc: nothing served yet"
	elif served "$ftarget" "$fstate" data && [ "$SERVED" = "$last" ]; then
		pass "$desc: serves complete version $SERVED"
	else
		fail "$desc"
		diag "${WHY:-serves version $SERVED, not $last}"
	fi

	gs fresh$i run --once -c "$TMP/fresh$i.yml"
	if converged fresh$i "$ftarget" "$fstate" data "$last"; then
		pass "first boot $i: run --once then converges"
	else
		fail "first boot $i: run --once then converges"
		diag "$WHY"
	fi
done

# --- kills at exact points: before the Nth rename(2) of a run, for every N
#
# On the small repo, so that runs are quick. After each kill a new version
# is pushed and must be published by the next run: a lock file left by
# the killed run shows only when the repo is written to again.

RENAMES='/^rename(at2?)?$'

# kill_at N CMD...: run CMD, SIGKILLed on entering its Nth rename; RC as
# kill_after
kill_at() {
	local n=$1

	shift
	printf '=== %s (killed at rename %d)\n' "$*" "$n" >>"$TMP/killed.log"
	RC=0
	# (the braces keep the shell's "Killed" notice off stderr; under
	# ptrace LeakSanitizer cannot run, so an ASan build skips it here)
	{ ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
	    strace -f -qq -o /dev/null -e trace="$RENAMES" \
	    -e inject="$RENAMES":signal=KILL:when="$n" \
	    "$@" >>"$TMP/killed.log" 2>&1; } 2>/dev/null || RC=$?
}

# first_bad VAR MSG: keep the first failure's message in VAR
first_bad() {
	[ -n "${!1}" ] || printf -v "$1" '%s' "$2"
}

# can_inject: can strace kill a process at its first rename here? (It
# needs ptrace, which some containers forbid.)
can_inject() {
	local rc=0

	command -v strace >/dev/null || return 1
	: >"$TMP/probe"
	{ strace -f -qq -o /dev/null -e trace="$RENAMES" \
	    -e inject="$RENAMES":signal=KILL:when=1 \
	    mv "$TMP/probe" "$TMP/probe2"; } 2>/dev/null || rc=$?
	[ "$rc" -eq 137 ] && [ -f "$TMP/probe" ]
}

if ! can_inject; then
	skip "strace cannot inject signals here" 4
else
	sv=1
	push_small "$sv" || bail_out "small repo"

	# a first boot killed at its Nth rename, on a new state dir each time
	bad_state='' bad_next='' points=0
	for ((n = 1; n <= 60; n++)); do
		fstate=$TMP/at$n/state
		ftarget=$TMP/at$n/www/site
		config "$TMP/at$n.yml" "$fstate" "$ftarget" small
		kill_at "$n" "$GITSTRAP" run --once -c "$TMP/at$n.yml"
		if [ "$RC" -ne 137 ]; then
			[ "$RC" -eq 0 ] || first_bad bad_next \
			    "a boot with a kill at rename $n failed before it: $(tail -n 1 "$TMP/killed.log")"
			break
		fi
		points=$n
		if [ ! -e "$ftarget" ] && [ ! -L "$ftarget" ]; then
			:
		elif ! served "$ftarget" "$fstate" small; then
			first_bad bad_state "killed at rename $n: $WHY"
		elif [ "$SERVED" != "$sv" ]; then
			first_bad bad_state "killed at rename $n: serves version $SERVED, not $sv"
		fi
		gs at run --once -c "$TMP/at$n.yml"
		if ! converged at "$ftarget" "$fstate" small "$sv"; then
			first_bad bad_next "killed at rename $n, the next boot: $WHY"
			continue
		fi
		sv=$((sv + 1))
		push_small "$sv" || bail_out "pushing small version $sv"
		gs at sync -c "$TMP/at$n.yml"
		converged at "$ftarget" "$fstate" small "$sv" ||
		    first_bad bad_next "killed at rename $n, then a push, the sync: $WHY"
	done
	[ "$points" -ge 3 ] || first_bad bad_state "only $points kill points"
	is "$bad_state" "" \
	    "first boots killed at each of $points renames: nothing or a complete release served"
	is "$bad_next" "" \
	    "after each, the next boot converges and the next update is published"

	# an update killed at its Nth rename, on one state dir
	ustate=$TMP/upd/state
	utarget=$TMP/upd/www/site
	config "$TMP/upd.yml" "$ustate" "$utarget" small
	gs upd run --once -c "$TMP/upd.yml"
	[ "$GS_RC" -eq 0 ] || bail_out "boot on the small repo: $(tail -n 1 "$TMP/upd.err")"
	bad_state='' bad_next='' points=0
	for ((n = 1; n <= 60; n++)); do
		served "$utarget" "$ustate" small
		prev=$SERVED
		sv=$((sv + 1))
		push_small "$sv" || bail_out "pushing small version $sv"
		kill_at "$n" "$GITSTRAP" sync -c "$TMP/upd.yml"
		if [ "$RC" -ne 137 ]; then
			[ "$RC" -eq 0 ] || first_bad bad_next \
			    "a sync with a kill at rename $n failed before it: $(tail -n 1 "$TMP/killed.log")"
			break
		fi
		points=$n
		if ! served "$utarget" "$ustate" small; then
			first_bad bad_state "killed at rename $n: $WHY"
		elif [ "$SERVED" != "$prev" ] && [ "$SERVED" != "$sv" ]; then
			first_bad bad_state "killed at rename $n: serves version $SERVED, not $prev or $sv"
		fi
		sv=$((sv + 1))
		push_small "$sv" || bail_out "pushing small version $sv"
		gs upd sync -c "$TMP/upd.yml"
		if ! converged upd "$utarget" "$ustate" small "$sv"; then
			first_bad bad_next "killed at rename $n, then a push, the sync: $WHY"
			# try again, so the next kill starts from that push
			gs upd sync -c "$TMP/upd.yml"
		fi
	done
	[ "$points" -ge 3 ] || first_bad bad_state "only $points kill points"
	is "$bad_state" "" \
	    "updates killed at each of $points renames: the old or the new release served, complete"
	is "$bad_next" "" "after each, the next update is published"
fi

done_testing
