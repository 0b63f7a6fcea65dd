#!/bin/bash
# Bounded disk: a data repo whose 20 MB tarball changes on every commit,
# 20 updates later the state dir with the releases stays under 3 x (one release + one
# tarball): shallow fetches, pruned releases, repacked mirror.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/servers.sh"
. "$TOP_SRCDIR/tests/lib/fixtures.sh"

plan 4
setup_tmp

make_bare_repo data >/dev/null
start_http_git || bail_out "smart HTTP"
work=$TMP/work-data
src=$TMP/src-data/cache_storage_for_open_qa
mkdir -p "$work" "$src"

# version N: 20 files of 1 MiB of fresh random bytes (incompressible)
version() {
	local i
	for i in $(seq 1 20); do
		head -c 1048576 /dev/urandom >"$src/blob$i.bin"
	done
	printf '<h1>data version %s</h1>\n' "$1" >"$src/index.html"
	make_data_tarball "$TMP/src-data" "$work/cache_storage_for_open_qa.tar.gz"
	commit_tree "$TMP/git/data.git" "$work" "data v$1" >/dev/null
}

write_config "$TMP/d.yml" <<YML
state_dir: $TMP/state
data:
  repo: $HTTP_GIT_URL/data.git
  depth: 1
  target: $TMP/www/site
  unpack: [ { archive: cache_storage_for_open_qa.tar.gz, strip_components: 2 } ]
YML
version 0
gs boot run --once -c "$TMP/d.yml"
is "$GS_RC" 0 "boot exits 0"
failed=0
for n in $(seq 1 20); do
	version "$n"
	gs "u$n" sync -c "$TMP/d.yml"
	[ "$GS_RC" -eq 0 ] || failed=$((failed + 1))
done
is "$failed" 0 "20 updates, each synced"
is "$(cat "$TMP/www/site/index.html")" "<h1>data version 20</h1>" "the last one is served"
# the state dir and the releases beside the target, together
state=$(du -sk "$TMP/state" "$(releases_of "$TMP/www/site")" | awk '{ s += $1 } END { print s }')
release=$(du -skL "$TMP/www/site" | cut -f1)
tarball=$(du -sk "$work/cache_storage_for_open_qa.tar.gz" | cut -f1)
bound=$((3 * (release + tarball)))
diag "state and releases dirs ${state} KiB; one release ${release} KiB + one tarball ${tarball} KiB; bound ${bound} KiB"
ok "state and releases dirs ($state KiB) under 3 x (release + tarball) = $bound KiB" \
    test "$state" -lt "$bound"
