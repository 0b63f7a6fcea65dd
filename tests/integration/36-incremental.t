#!/bin/bash
# An update writes only what changed: files whose bytes, mode and time are
# those of the serving release are hard-links to it; an archive whose blob
# did not change is not inflated at all. Older releases keep their own
# content, rollback and pruning go on working.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/servers.sh"
. "$TOP_SRCDIR/tests/lib/fixtures.sh"

plan 21
setup_tmp

src=$TMP/src-data
top=$src/cache_storage_for_open_qa
work=$TMP/work-data
mkdir -p "$work"
make_bare_repo data >/dev/null || bail_out "data repo"

# 200 files of 1-9 KB in 10 dirs, plus an index
mkdir -p "$top"
for i in $(seq 0 199); do
	d=$top/d$((i % 10))
	mkdir -p "$d"
	awk -v i="$i" 'BEGIN { for (n = 0; n < 20 + i % 180; n++)
	    printf "{\"page\": %d, \"line\": %d}\n", i, n }' >"$d/page$i.json"
done
echo '<h1>v1</h1>' >"$top/index.html"

publish() {	# publish MESSAGE: tarball of $src, committed to data.git
	make_data_tarball "$src" "$work/cache_storage_for_open_qa.tar.gz" &&
	    commit_tree "$TMP/git/data.git" "$work" "$1" >/dev/null
}
publish "data v1" || bail_out "commit v1"
start_http_git || bail_out "smart HTTP"

write_config "$TMP/gitstrap.yml" <<YML
state_dir: $TMP/state
data:
  repo: $HTTP_GIT_URL/data.git
  ref: main
  target: $TMP/www/site
  keep_releases: 3
  unpack: [ { archive: cache_storage_for_open_qa.tar.gz, strip_components: 2 } ]
YML
gs boot run --once -c "$TMP/gitstrap.yml"
is "$GS_RC" 0 "first release published"
r1=$TMP/www/$(readlink "$TMP/www/site")

# inodes IN DIR: "path inode" of every regular file, sorted
inodes() {
	(cd "$1" && find . -type f -printf '%P %i\n' | sort)
}

# --- v2: 4 files changed (two keep their size), one made executable, one
# removed, one added; the rest (194 files and the index) unchanged
f=$top/d3/page3.json
sed 's/"page": 3,/"page": 9,/' "$f" >"$f.new" && mv "$f.new" "$f"
f=$top/d4/page4.json
sed 's/"page": 4,/"page": 5,/' "$f" >"$f.new" && mv "$f.new" "$f"
echo '{"more": 1}' >>"$top/d5/page5.json"
echo '{"more": 2}' >>"$top/d6/page16.json"
chmod +x "$top/d7/page7.json"
rm "$top/d8/page8.json"
echo '{"new": true}' >"$top/d9/added.json"
publish "data v2" || bail_out "commit v2"

gs v2 sync -c "$TMP/gitstrap.yml"
is "$GS_RC" 0 "second release published"
r2=$TMP/www/$(readlink "$TMP/www/site")
isnt "$r2" "$r1" "a new release"

join <(inodes "$r1") <(inodes "$r2") >"$TMP/both"
total=$(wc -l <"$TMP/both")
linked=$(awk '$2 == $3' "$TMP/both" | wc -l)
is "$total" 200 "200 paths in both releases"
ok "at least 95 % of the paths in both are links ($linked of $total)" \
    test $((linked * 100)) -ge $((total * 95))
is "$linked" 195 "every unchanged file is a link"
notlinked=$(awk '$2 != $3 { print $1 }' "$TMP/both" | tr '\n' ' ')
is "$notlinked" "d3/page3.json d4/page4.json d5/page5.json d6/page16.json d7/page7.json " \
    "the changed files are files of their own"
like "$(grep 'ev=unpack.done' "$TMP/v2.err")" "linked=195 " \
    "the log counts the links"
is "$(head -c 11 "$r2/d3/page3.json")" '{"page": 9,' "new content in the new release"
is "$(head -c 11 "$r1/d3/page3.json")" '{"page": 3,' "old content in the old release"
is "$(stat -c %a "$r2/d7/page7.json") $(stat -c %a "$r1/d7/page7.json")" "755 644" \
    "a mode change is a file of its own"
ok "a removed file is gone from the new release only" \
    test -f "$r1/d8/page8.json" -a ! -e "$r2/d8/page8.json"
is "$(cat "$r2/d9/added.json")" '{"new": true}' "an added file is there"
mkdir -p "$TMP/x"
tar -xzf "$work/cache_storage_for_open_qa.tar.gz" -C "$TMP/x" --strip-components=2
ok "the new release is what tar extracts" diff -r "$TMP/x" "$r2"

# --- v3: only the README beside the archive changes: same blob, nothing
# is inflated, the whole tree is linked
echo "readme v3" >"$work/README"
commit_tree "$TMP/git/data.git" "$work" "data v3" >/dev/null
gs v3 sync -c "$TMP/gitstrap.yml"
is "$GS_RC" 0 "third release published"
r3=$TMP/www/$(readlink "$TMP/www/site")
like "$(grep 'ev=unpack.same' "$TMP/v3.err")" "archive=cache_storage_for_open_qa.tar.gz" \
    "an unchanged blob is not unpacked"
is "$(inodes "$r3")" "$(inodes "$r2")" "the same files, every one a link"
is "$(cd "$r3" && find . -mindepth 1 -printf '%P %y %m %s %T@\n' | sort)" \
    "$(cd "$r2" && find . -mindepth 1 -printf '%P %y %m %s %T@\n' | sort)" \
    "the same tree: paths, types, modes, sizes, times"

# --- rollback: the releases are whole on their own
gs rb rollback --state-dir "$TMP/state"
is "$GS_RC" 0 "rollback exits 0"
is "$TMP/www/$(readlink "$TMP/www/site")" "$r2" "rollback serves the previous release"
gs rb1 rollback --to "$(basename "$r1")" --state-dir "$TMP/state"
is "$(head -c 11 "$TMP/www/site/d3/page3.json")" '{"page": 3,' \
    "rollback to the first release serves its own content"
