#!/bin/bash
# Crash safety: syncs of a data repo big enough to take a while are killed
# with SIGKILL at random moments. After each kill the web root must still
# be a complete release, either the one served before or the new one, and
# never a half-unpacked tree or a dangling link; the next run must clean up
# and converge. Also a first boot killed before anything was served.
#
# The kill moments are drawn with $RANDOM, seeded with CRASH_SEED when it
# is set (the seed is printed), so a failing run's moments can be retried.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/servers.sh"
. "$TOP_SRCDIR/tests/lib/fixtures.sh"

TRIALS=30	# syncs killed while a new version is published
FRESH=3		# first boots killed on an empty state dir
FILES=3000	# files in every release, besides index.html and json/v.json

plan $((2 + TRIALS + 1 + 7 + 2 * FRESH))
setup_tmp

seed=${CRASH_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
RANDOM=$seed
diag "CRASH_SEED=$seed"

# --- a data repo of FILES small pages, about 20 MB unpacked
src=$TMP/src
top=$src/cache_storage_for_open_qa
mkdir -p "$top/json" "$TMP/work"
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

# digest DIR: one checksum of the names and contents of the files under DIR
digest() {
	(cd "$1" && find . -type f -print0 | LC_ALL=C sort -z |
	    xargs -0 md5sum) | md5sum | cut -d' ' -f1
}

# push_version N: commit a tarball whose index.html says version N; record
# its commit id in COMMIT[N] and the digest of its tree in DIGEST[N].
COMMIT=()
DIGEST=()
push_version() {
	local n=$1

	printf '<h1>data version %s</h1>\n' "$n" >"$top/index.html"
	printf '{"version": %s}\n' "$n" >"$top/json/v.json"
	# as make_data_tarball, but with fast compression: the test makes
	# one per trial
	tar -C "$src" --sort=name --mtime=@1700000000 --owner=0 --group=0 \
	    --numeric-owner -cf - ./cache_storage_for_open_qa |
	    gzip -n -1 >"$TMP/work/cache_storage_for_open_qa.tar.gz" || return 1
	printf 'data repo of version %s\n' "$n" >"$TMP/work/README"
	COMMIT[n]=$(commit_tree "$TMP/git/data.git" "$TMP/work" "data v$n") ||
	    return 1
	DIGEST[n]=$(digest "$top")
}

# served TARGET STATE: check that TARGET is a symlink to a complete
# release under STATE/releases. Sets SERVED to the version it serves and
# WHY to what is wrong; returns 1 when something is.
served() {
	local target=$1 state=$2 link id v d

	SERVED=
	WHY=
	if [ ! -L "$target" ]; then
		WHY="$target is not a symlink"
		return 1
	fi
	link=$(readlink "$target")
	id=${link##*/}
	if [[ ! $link =~ ^$state/releases/[0-9]{8}T[0-9]{6}Z-[0-9a-f]{40}$ ]]; then
		WHY="$target points at $link, not at a release in $state/releases"
		return 1
	fi
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
	if [ "${id#*-}" != "${COMMIT[SERVED]:-}" ]; then
		WHY="release $id serves version $SERVED, whose commit is ${COMMIT[SERVED]:-unknown}"
		return 1
	fi
	d=$(digest "$link")
	if [ "$d" != "${DIGEST[SERVED]}" ]; then
		WHY="release $id of version $SERVED is incomplete or altered: $(find "$link" -type f | wc -l) files, $((FILES + 2)) expected"
		return 1
	fi
	return 0
}

# leftovers STATE TARGET: what an interrupted run may leave behind
leftovers() {
	ls -d "$1"/releases/*.tmp "$1"/releases/*.failed "$1/service.tmp" \
	    "$2.gitstrap-tmp" 2>/dev/null
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
	wait "$pid" || RC=$?
}

now_ms() {
	local t=${EPOCHREALTIME/[.,]/}

	printf '%d\n' "$((10#${t:0:${#t}-3}))"
}

start_http_git || bail_out "smart HTTP"
state=$TMP/state
target=$TMP/www/webcache
write_config "$TMP/gitstrap.yml" <<YML
state_dir: $state
data:
  repo: $HTTP_GIT_URL/data.git
  ref: main
  depth: 1
  target: $target
  unpack:
    - archive: cache_storage_for_open_qa.tar.gz
      strip_components: 2
  keep_releases: 3
YML

# --- version 1 by a first boot, version 2 by a sync that is let finish
push_version 1 || bail_out "pushing version 1"
t0=$(now_ms)
gs boot run --once -c "$TMP/gitstrap.yml"
boot_ms=$(($(now_ms) - t0))
if [ "$GS_RC" -eq 0 ] && served "$target" "$state" && [ "$SERVED" = 1 ]; then
	pass "first boot publishes version 1 ($boot_ms ms)"
else
	fail "first boot publishes version 1"
	diag "exit $GS_RC; ${WHY:-serves version $SERVED}" "$(tail -n 5 "$TMP/boot.err")"
fi

push_version 2 || bail_out "pushing version 2"
t0=$(now_ms)
gs sync2 sync -c "$TMP/gitstrap.yml"
sync_ms=$(($(now_ms) - t0))
if [ "$GS_RC" -eq 0 ] && served "$target" "$state" && [ "$SERVED" = 2 ]; then
	pass "a sync let finish publishes version 2 ($sync_ms ms)"
else
	fail "a sync let finish publishes version 2"
	diag "exit $GS_RC; ${WHY:-serves version $SERVED}" "$(tail -n 5 "$TMP/sync2.err")"
fi

# Kill moments spread over the whole sync and a little past it, from the
# start of the process (recovery, fetch) to after the switch (prune).
window=$((sync_ms + sync_ms / 4))
[ "$window" -ge 300 ] || window=300
[ "$window" -le 4000 ] || window=4000

# --- a sync killed at a random moment, again and again
prev=2
before=0	# kills that left the previous release served
after=0		# kills after the switch
finished=0	# syncs done before the kill came
for ((i = 1; i <= TRIALS; i++)); do
	n=$((i + 2))
	push_version "$n" || bail_out "pushing version $n"
	ms=$((RANDOM % window))
	kill_after "$ms" "$GITSTRAP" sync -c "$TMP/gitstrap.yml"
	desc="trial $i: sync of version $n killed after $ms ms"
	[ "$RC" -eq 137 ] || desc="trial $i: sync of version $n done before its kill at $ms ms"
	if [ "$RC" -ne 137 ] && [ "$RC" -ne 0 ]; then
		fail "$desc"
		diag "the sync exited $RC:" "$(tail -n 5 "$TMP/killed.log")"
	elif ! served "$target" "$state"; then
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
if served "$target" "$state" && [ "$SERVED" = "$last" ]; then
	pass "it serves the newest version, $last, complete"
else
	fail "it serves the newest version, $last, complete"
	diag "${WHY:-serves version $SERVED}" "$(tail -n 5 "$TMP/final.err")"
fi
is "$(leftovers "$state" "$target")" "" \
    "no *.tmp, *.failed, service.tmp or <target>.gitstrap-tmp left"
is "$(ls "$state/releases" | grep -c -E '^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{40}$')" 3 \
    "keep_releases=3 releases kept"
gs status status --json --state-dir "$state"
is "$GS_RC" 0 "status exits 0"
is "$(jqr "$TMP/status.out" .last_error)" null "status: no last error"
is "$(jqr "$TMP/status.out" .data.commit)" "${COMMIT[last]}" \
    "status: the newest commit"

# --- a first boot killed at a random moment, then booted again
window=$((boot_ms + boot_ms / 4))
[ "$window" -ge 300 ] || window=300
[ "$window" -le 4000 ] || window=4000
for ((i = 1; i <= FRESH; i++)); do
	fstate=$TMP/fresh$i/state
	ftarget=$TMP/fresh$i/www/webcache
	sed "s|$state|$fstate|; s|$target|$ftarget|" "$TMP/gitstrap.yml" \
	    >"$TMP/fresh$i.yml"
	ms=$((RANDOM % window))
	kill_after "$ms" "$GITSTRAP" run --once -c "$TMP/fresh$i.yml"
	desc="first boot $i killed after $ms ms"
	[ "$RC" -eq 137 ] || desc="first boot $i done before its kill at $ms ms"
	if [ "$RC" -ne 137 ] && [ "$RC" -ne 0 ]; then
		fail "$desc"
		diag "the boot exited $RC:" "$(tail -n 5 "$TMP/killed.log")"
	elif [ ! -e "$ftarget" ] && [ ! -L "$ftarget" ] && [ "$RC" -eq 137 ]; then
		pass "$desc: nothing served yet"
	elif served "$ftarget" "$fstate" && [ "$SERVED" = "$last" ]; then
		pass "$desc: serves complete version $SERVED"
	else
		fail "$desc"
		diag "${WHY:-serves version $SERVED, not $last}"
	fi

	gs fresh$i run --once -c "$TMP/fresh$i.yml"
	if [ "$GS_RC" -eq 0 ] && served "$ftarget" "$fstate" &&
	    [ "$SERVED" = "$last" ] && [ -z "$(leftovers "$fstate" "$ftarget")" ]
	then
		pass "first boot $i: run --once then converges"
	else
		fail "first boot $i: run --once then converges"
		diag "exit $GS_RC; ${WHY:-serves version $SERVED}" \
		    "left over: $(leftovers "$fstate" "$ftarget")" \
		    "$(tail -n 5 "$TMP/fresh$i.err")"
	fi
done

done_testing
