#!/bin/bash
# Manual pages: each renders without a warning (mandoc's lint and man-db's
# groff), and gitstrap.yml(5) documents every key the config parser
# accepts (the known[] lists of src/config.c), and no key it refuses.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"

PAGES="gitstrap.8 gitstrap.yml.5 gitstrap-recipe.5"
YML5=$TOP_SRCDIR/docs/gitstrap.yml.5

# the keys of every known[] list in src/config.c, one a line
config_keys() {
	awk '
		/static const char \*const known\[\] = \{/ { inlist = 1 }
		inlist {
			s = $0
			while (match(s, /"[^"]*"/)) {
				print substr(s, RSTART + 1, RLENGTH - 2)
				s = substr(s, RSTART + RLENGTH)
			}
			if ($0 ~ /NULL *\};/)
				inlist = 0
		}' "$TOP_SRCDIR/src/config.c" | sort -u
}

# the keys gitstrap.yml(5) describes: its ".It Cm KEY :" items
documented_keys() {
	sed -n 's/^\.It Cm \([A-Za-z_][A-Za-z0-9_]*\) : .*/\1/p' "$YML5" | sort -u
}

keys=$(config_keys)
[ -n "$keys" ] || bail_out "no known[] key lists found in src/config.c"
nkeys=$(printf '%s\n' "$keys" | wc -l)

plan $((3 * 3 + 1 + nkeys + 1))
setup_tmp

for p in $PAGES; do
	f=$TOP_SRCDIR/docs/$p
	if command -v mandoc >/dev/null; then
		mandoc -T lint -W warning "$f" >"$TMP/lint" 2>&1
		is "$?:$(cat "$TMP/lint")" 0: "$p: mandoc -T lint has no warning"
	else
		skip "mandoc is not installed" 1
	fi
	if command -v man >/dev/null; then
		LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$f" \
		    >"$TMP/$p.txt" 2>"$TMP/$p.err"
		is "$?:$(cat "$TMP/$p.err")" 0: "$p: man -l renders it without a warning"
		name=${p%.[0-9]}
		like "$(sed -n '/^NAME/,/^[A-Z]/p' "$TMP/$p.txt")" "$name .* " \
		    "$p: the rendered page has its NAME"
	else
		skip "man is not installed (man-db)" 2
	fi
done

is "$(grep -c '^\.Dt GITSTRAP\.YML 5$' "$YML5")" 1 "gitstrap.yml.5 is section 5"
docs=$(documented_keys)
for k in $keys; do
	ok "gitstrap.yml(5) documents key $k" grep -qxF "$k" <<<"$docs"
done
extra=$(comm -13 <(printf '%s\n' "$keys") <(printf '%s\n' "$docs") | tr '\n' ' ')
is "$extra" "" "gitstrap.yml(5) documents no key the parser does not know"

done_testing
