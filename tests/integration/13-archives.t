#!/bin/bash
# Malicious archives, built by tar (and zip) here, pushed to the data repo
# one by one: each is refused with a line naming the archive and the
# entry, nothing is written outside the release dir, and the previous
# release keeps serving.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/servers.sh"
. "$TOP_SRCDIR/tests/lib/fixtures.sh"

plan 51
setup_tmp

data_commit data 1 >/dev/null || bail_out "data repo"
start_http_git || bail_out "smart HTTP"
mkdir -p "$TMP/outside"
echo sentinel >"$TMP/outside/sentinel"

write_config "$TMP/gitstrap.yml" <<YML
state_dir: $TMP/state
data:
  repo: $HTTP_GIT_URL/data.git
  ref: main
  target: $TMP/www/site
  unpack: [ { archive: cache_storage_for_open_qa.tar.gz, strip_components: 2 } ]
  limits: { max_bytes: 8M, max_entries: 50 }
YML
gs boot run --once -c "$TMP/gitstrap.yml"
is "$GS_RC" 0 "a good release is published first"
good=$(readlink "$TMP/www/site")

# everything but what a sync legitimately changes: paths, types, modes
snapshot() {
	find "$TMP" \( -path "$TMP/git" -o -path "$TMP/state/data.git" \
	    -o -name 'work-*' -o -name 'src-*' -o -name 'build-*' \
	    -o -name '*.err' -o -name '*.out' -o -name 'nginx-*' \
	    -o -path "$TMP/state/last-error" -o -name '.*.tmp' \) -prune \
	    -o -printf '%P %y %m\n' | sort
}

# evil NAME ARCHIVE_FILE ERROR_REGEX: push ARCHIVE_FILE as the data
# tarball, sync, and check the refusal.
evil() {
	local name=$1 file=$2 want=$3 before after work=$TMP/work-data

	cp "$file" "$work/cache_storage_for_open_qa.tar.gz"
	commit_tree "$TMP/git/data.git" "$work" "evil $name" >/dev/null
	before=$(snapshot)
	gs "evil-$name" sync -c "$TMP/gitstrap.yml"
	after=$(snapshot)
	is "$GS_RC" 1 "$name: refused with exit 1"
	like "$(grep 'ev=failure' "$TMP/evil-$name.err")" "$want" \
	    "$name: the error names the archive and what is wrong"
	is "$after" "$before" "$name: nothing written outside the release dir"
	is "$(readlink "$TMP/www/site")" "$good" "$name: the previous release still serves"
}

# build DIR: a fresh dir to build an archive from
build() {
	rm -rf "$TMP/build-$1"
	mkdir -p "$TMP/build-$1"
	printf '%s\n' "$TMP/build-$1"
}

A=cache_storage_for_open_qa.tar.gz
T=./cache_storage_for_open_qa

# 1. an absolute path
d=$(build abs); echo x >"$d/abs"
tar -C "$d" -czPf "$d.tgz" --transform "s,^abs,$TMP/outside/abs," abs
evil absolute "$d.tgz" "$A: entry \\\\\"$TMP/outside/abs\\\\\""

# 2. ".." at the top
d=$(build dotdot); echo x >"$d/evil"
tar -C "$d" -czPf "$d.tgz" --transform "s,^evil,$T/x/../../../../outside/evil," evil
evil dotdot "$d.tgz" "$A: entry .*\\.\\./outside/evil"

# 3. ".." deeper, after the stripped prefix
d=$(build dotdot2); echo x >"$d/evil"
tar -C "$d" -czPf "$d.tgz" --transform "s,^evil,$T/a/b/../../../../../outside/evil2," evil
evil dotdot-deep "$d.tgz" "$A: entry .*outside/evil2"

# 4. a symlink to outside, then a file written through it
d=$(build symthrough); mkdir -p "$d/c"
ln -s "$TMP/outside" "$d/c/link"
tar -C "$d" -cPf "$d.tar" --transform "s,^c,$T," c/link
echo pwned >"$d/file"
tar -C "$d" -rPf "$d.tar" --transform "s,^file,$T/link/pwned," file
gzip -n <"$d.tar" >"$d.tgz"
evil symlink-through "$d.tgz" "$A: entry "

# 5. a relative symlink climbing out
d=$(build symup); mkdir -p "$d/c"
ln -s ../../../../outside "$d/c/up"
tar -C "$d" -czPf "$d.tgz" --transform "s,^c,$T," c/up
evil symlink-relative "$d.tgz" "$A: entry .*up"

# 6. a hard link to a file outside
d=$(build hard); mkdir -p "$d/c"; echo x >"$d/c/f"; ln "$d/c/f" "$d/c/g"
tar -C "$d" -czPf "$d.tgz" --transform "s,^c/f$,$TMP/outside/sentinel,h" \
    --transform "s,^c,$T," c/f c/g
evil hardlink-outside "$d.tgz" "$A: entry "

# 7. a fifo
d=$(build fifo); mkdir -p "$d/c"; mkfifo "$d/c/pipe"
tar -C "$d" -czPf "$d.tgz" --transform "s,^c,$T," c/pipe
evil fifo "$d.tgz" "$A: entry .*pipe"

# 8. a device node (needs root to build)
if [ "$(id -u)" -eq 0 ]; then
	d=$(build dev); mkdir -p "$d/c"; mknod "$d/c/null" c 1 3
	tar -C "$d" -czPf "$d.tgz" --transform "s,^c,$T," c/null
	evil device "$d.tgz" "$A: entry .*null"
else
	for i in 1 2 3 4; do skip "device nodes need root to build"; done
fi

# 9. more entries than limits.max_entries
d=$(build many); mkdir -p "$d/c"
for i in $(seq 1 80); do echo "$i" >"$d/c/f$i"; done
tar -C "$d" -czPf "$d.tgz" --transform "s,^c,$T," c
evil max-entries "$d.tgz" "max_entries"

# 10. a gzip bomb: 64 MiB of zeros, far over limits.max_bytes
d=$(build bomb); mkdir -p "$d/c"
head -c 64M /dev/zero >"$d/c/zeros"
tar -C "$d" -czPf "$d.tgz" --transform "s,^c,$T," c
evil gzip-bomb "$d.tgz" "max_bytes"

# 11. a truncated archive
d=$(build trunc); mkdir -p "$d/c"; head -c 300000 /dev/urandom >"$d/c/r"
tar -C "$d" -czPf "$d.full.tgz" --transform "s,^c,$T," c
head -c 100000 "$d.full.tgz" >"$d.tgz"
evil truncated "$d.tgz" "$A: "

# 12. corrupt gzip data
d=$(build corrupt); mkdir -p "$d/c"; seq 1 100000 >"$d/c/n"
tar -C "$d" -czPf "$d.tgz" --transform "s,^c,$T," c
printf 'garbage-garbage-garbage' | dd of="$d.tgz" bs=1 seek=200 conv=notrunc 2>/dev/null
evil corrupt-gzip "$d.tgz" "$A: "

# 13. a setuid file is accepted, without the bit
d=$(build suid); mkdir -p "$d/c"; printf '#!/bin/sh\n' >"$d/c/tool"; chmod 6755 "$d/c/tool"
tar -C "$d" -czPf "$d.tgz" --transform "s,^c,$T," c/tool
cp "$d.tgz" "$TMP/work-data/$A"
commit_tree "$TMP/git/data.git" "$TMP/work-data" "setuid" >/dev/null
gs suid sync -c "$TMP/gitstrap.yml"
is "$GS_RC" 0 "setuid file: the release is published"
is "$(stat -c %a "$TMP/www/site/tool")" 755 "setuid file: the s-bits are dropped"
