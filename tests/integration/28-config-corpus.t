#!/bin/bash
# Hostile configs: every tests/corpus/config/bad/NAME.yml (or the output of
# NAME.gen) makes `gitstrap check` exit 2 with exactly the one line in
# NAME.err on stderr, without crashing and in bounded memory.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"

CORPUS=$TOP_SRCDIR/tests/corpus/config/bad
MAX_RSS_KB=262144	# 256 MiB, sanitizers included; the parser needs little

names=()
for err in "$CORPUS"/*.err; do
	names+=("$(basename "$err" .err)")
done
[ "${#names[@]}" -ge 30 ] || bail_out "corpus: only ${#names[@]} cases"
plan $((${#names[@]} * 4))
setup_tmp
mkdir -p "$TMP/gen"

for name in "${names[@]}"; do
	if [ -f "$CORPUS/$name.yml" ]; then
		dir=$CORPUS
	elif [ -f "$CORPUS/$name.gen" ]; then
		dir=$TMP/gen
		sh "$CORPUS/$name.gen" >"$dir/$name.yml" || bail_out "$name.gen"
	else
		bail_out "$name.err has no $name.yml or $name.gen"
	fi
	# relative to the corpus dir, so that .err can name the file as is
	rc=0
	(cd "$dir" && /usr/bin/time -f %M -o "$TMP/$name.rss" \
	    "$GITSTRAP" check -c "$name.yml") >"$TMP/$name.out" \
	    2>"$TMP/$name.err" || rc=$?
	is "$rc" 2 "$name: exit 2"
	is "$(cat "$TMP/$name.err")" "$(cat "$CORPUS/$name.err")" \
	    "$name: exactly the expected line on stderr"
	is "$(cat "$TMP/$name.out")" "" "$name: nothing on stdout"
	# GNU time adds a line about the exit status before the figure
	rss=$(tail -n 1 "$TMP/$name.rss")
	if [ "$rss" -lt "$MAX_RSS_KB" ] 2>/dev/null; then
		pass "$name: max RSS ${rss} KiB"
	else
		fail "$name: max RSS ${rss} KiB (limit $MAX_RSS_KB)"
	fi
done
done_testing
