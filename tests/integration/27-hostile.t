#!/bin/bash
# Hostile archives end to end: a corpus built here with GNU tar, gzip, zip
# and python3's tarfile and zipfile (for what tar cannot express), each
# pushed to the data repo on a real git server and synced. Every one is
# refused with exit 1 and one exact error line; nothing outside the
# release dir changes (paths, types, modes, sizes and mtimes of the whole
# test tree); no partial release is left in the releases dir; and the previous
# release still serves through a real web server.
#
# Sockets: tar has no type for them (GNU tar skips them, and libarchive
# reads an unknown tar type as a regular file), so the socket entries are
# built with zipfile, whose Unix mode bits libarchive honours.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/servers.sh"
. "$TOP_SRCDIR/tests/lib/fixtures.sh"

command -v python3 >/dev/null || skip_all "python3 is needed to build the corpus"
plan 135
setup_tmp

A=cache_storage_for_open_qa.tar.gz
T=./cache_storage_for_open_qa

data_commit data 1 >/dev/null || bail_out "data repo"
start_git_daemon || bail_out "git daemon"
mkdir -p "$TMP/www" "$TMP/outside"
start_web "$TMP/www" || bail_out "web server"
echo sentinel >"$TMP/outside/sentinel"

write_config "$TMP/gitstrap.yml" <<YML
state_dir: $TMP/state
data:
  repo: $GIT_DAEMON_URL/data.git
  ref: main
  target: $TMP/www/site
  unpack: [ { archive: $A, strip_components: 2 } ]
  limits: { max_bytes: 8M, max_entries: 50 }
YML
gs boot run --once -c "$TMP/gitstrap.yml"
is "$GS_RC" 0 "a good release is published first"
good=$(readlink "$TMP/www/site")
page="<h1>data version 1</h1>"
is "$(curl -s "$WEB_URL/site/")" "$page" "and served"

# The whole test tree: path, type, mode, size and mtime of everything,
# but for what a failed sync legitimately changes (the state dir's status,
# metrics and lock, the git server's and the mirror's objects) and this
# script's own files. The mtimes of the dirs those live in go too.
snapshot() {
	find "$TMP" \( -path "$TMP/git" -o -path "$TMP/state/data.git" \
	    -o -path "$TMP/state/status.json" -o -path "$TMP/state/metrics.prom" \
	    -o -path "$TMP/state/last-error" -o -path "$TMP/state/lock" \
	    -o -name '.*.tmp' -o -path "$TMP/work-*" -o -path "$TMP/src-*" \
	    -o -path "$TMP/build" -o -path "$TMP/nginx-*" \
	    -o -path "$TMP/*.err" -o -path "$TMP/*.out" \
	    -o -path "$TMP/*.log" -o -path "$TMP/*.pid" \) -prune \
	    -o -printf '%P %y %m %s %T@\n' |
	    sed -E 's,^((|state|www|www/\.site\.releases) d [0-7]+ [0-9]+) .*,\1,' | sort
}

# evil NAME FILE WANT: push FILE as the data tarball and sync. WANT is the
# error of the ev=failure line, exactly.
evil() {
	local name=$1 file=$2 want=$3 before after got
	local work=$TMP/work-data

	cp "$file" "$work/$A"
	commit_tree "$TMP/git/data.git" "$work" "evil $name" >/dev/null
	before=$(snapshot)
	gs "evil-$name" sync -c "$TMP/gitstrap.yml"
	after=$(snapshot)
	is "$GS_RC" 1 "$name: exit 1"
	got=$(sed -n 's/^.* ev=failure err="\(.*\)"$/\1/p' "$TMP/evil-$name.err")
	is "$got" "$want" "$name: the error line"
	if [ "$after" = "$before" ]; then
		pass "$name: nothing changed outside the release dir"
	else
		fail "$name: nothing changed outside the release dir"
		diag "$(diff <(printf '%s\n' "$before") <(printf '%s\n' "$after"))"
	fi
	is "$(ls "$(releases_of "$TMP/www/site")")" "${good##*/}" \
	    "$name: no partial release left"
	is "$(curl -s "$WEB_URL/site/")" "$page" \
	    "$name: the previous release still serves"
}

# build NAME: a fresh dir $TMP/build/NAME to build an archive from
build() {
	rm -rf "$TMP/build/$1"
	mkdir -p "$TMP/build/$1"
	d=$TMP/build/$1
}

# py CODE: python3 with the archive helpers below
cat >"$TMP/arc.py" <<'PY'
import io, stat, sys, tarfile, zipfile

def _info(e):
    path, kind = e[0], e[1]
    arg = e[2] if len(e) > 2 else None
    ti = tarfile.TarInfo(path)
    ti.mtime = 1000000000
    data = None
    if kind == 'f':
        data = arg.encode(); ti.size = len(data); ti.mode = 0o644
    elif kind == 'd':
        ti.type = tarfile.DIRTYPE; ti.mode = 0o755
    elif kind == 'l':
        ti.type = tarfile.SYMTYPE; ti.linkname = arg
    elif kind == 'h':
        ti.type = tarfile.LNKTYPE; ti.linkname = arg
    return ti, data

# tar OUT ENTRIES: gzipped tar (pax, so names have no length limit)
def tar(out, entries):
    with tarfile.open(out, 'w:gz', format=tarfile.PAX_FORMAT) as t:
        for e in entries:
            ti, data = _info(e)
            t.addfile(ti, io.BytesIO(data) if data is not None else None)

# zip OUT ENTRIES: (path, 'f', data) or (path, 'l', target) or
# (path, 's') for a socket
def zip(out, entries):
    with zipfile.ZipFile(out, 'w') as z:
        for e in entries:
            zi = zipfile.ZipInfo(e[0], (2001, 9, 9, 1, 46, 40))
            zi.create_system = 3
            kind = e[1]
            if kind == 'f':
                zi.external_attr = (stat.S_IFREG | 0o644) << 16
                z.writestr(zi, e[2])
            elif kind == 'l':
                zi.external_attr = (stat.S_IFLNK | 0o777) << 16
                z.writestr(zi, e[2])
            elif kind == 's':
                zi.external_attr = (stat.S_IFSOCK | 0o755) << 16
                z.writestr(zi, '')
PY
py() {
	python3 -c "import sys; sys.path.insert(0, '$TMP'); from arc import *; $1"
}

Q='\"'	# the log line's escaped quote

# --- names

# 1. an absolute path
build abs; echo x >"$d/abs"
tar -C "$d" -czPf "$d.tgz" --transform "s,^abs,$TMP/outside/abs," abs
evil absolute "$d.tgz" "data: $A: entry $Q$TMP/outside/abs$Q: absolute path"

# 2-4. ".." at the top, inside the stripped prefix, and deep below it
build dotdot; echo x >"$d/evil"
tar -C "$d" -czPf "$d.tgz" --transform "s,^evil,../outside/evil," evil
evil dotdot-top "$d.tgz" "data: $A: entry $Q../outside/evil$Q: path escapes the release dir"
tar -C "$d" -czPf "$d.tgz" --transform "s,^evil,./../x/index.html," evil
evil dotdot-in-prefix "$d.tgz" "data: $A: entry $Q./../x/index.html$Q: path escapes the release dir"
tar -C "$d" -czPf "$d.tgz" \
    --transform "s,^evil,$T/a/b/c/../../../../../../outside/evil," evil
evil dotdot-deep "$d.tgz" "data: $A: entry $Q$T/a/b/c/../../../../../../outside/evil$Q: path escapes the release dir"

# 5. a name longer than PATH_MAX, in components the kernel would take
long=$(printf 'abcdefghijklmnopqrstuvwxyz/%.0s' $(seq 1 160))
long=$T/${long}f
py "tar('$TMP/build/long.tgz', [('$long', 'f', 'x')])"
evil long-name "$TMP/build/long.tgz" "data: $A: entry $Q${long:0:152}...$Q: path too long"

# 6. one component longer than NAME_MAX
py "tar('$TMP/build/longc.tgz', [('$T/' + 'n' * 300, 'f', 'x')])"
nnn=$T/$(printf 'n%.0s' $(seq 1 300))
evil long-component "$TMP/build/longc.tgz" "data: $A: entry $Q${nnn:0:152}...$Q: name too long"

# 7. deep nesting: a file 2100 directories down
deep=$T/$(printf 'd/%.0s' $(seq 1 2100))f
py "tar('$TMP/build/deep.tgz', [('$deep', 'f', 'x')])"
evil deep-nesting "$TMP/build/deep.tgz" "data: $A: entry $Q${deep:0:152}...$Q: path too long"

# --- links

# 8. a symlink to outside, then a file written through it (GNU tar)
build symthrough; mkdir -p "$d/c"
ln -s "$TMP/outside" "$d/c/link"
tar -C "$d" -cPf "$d.tar" --transform "s,^c,$T," c/link
echo pwned >"$d/file"
tar -C "$d" -rPf "$d.tar" --transform "s,^file,$T/link/pwned," file
gzip -n <"$d.tar" >"$d.tgz"
evil symlink-then-file "$d.tgz" "data: $A: entry $Q$T/link$Q: symlink target $Q$TMP/outside$Q is absolute"

# 9. a relative symlink climbing out
py "tar('$TMP/build/up.tgz', [('$T/up', 'l', '../../outside')])"
evil symlink-relative "$TMP/build/up.tgz" "data: $A: entry $Q$T/up$Q: symlink target $Q../../outside$Q leads outside the release dir"

# 10. a chain: each link looks local, together they climb out
py "tar('$TMP/build/chain.tgz', [('$T/a', 'l', '.'), ('$T/b', 'l', 'a/..'),
    ('$T/b/x', 'f', 'pwned')])"
evil symlink-chain "$TMP/build/chain.tgz" "data: $A: entry $Q$T/b$Q: symlink target ${Q}a/..$Q leads outside the release dir"

# 11. a hard link to a file outside, by absolute name (GNU tar)
build hard; mkdir -p "$d/c"; echo x >"$d/c/f"; ln "$d/c/f" "$d/c/g"
tar -C "$d" -czPf "$d.tgz" --transform "s,^c/f$,$TMP/outside/sentinel,h" \
    --transform "s,^c,$T," c/f c/g
evil hardlink-outside "$d.tgz" "data: $A: entry $Q$TMP/outside/sentinel$Q: absolute path"

# 12. a hard link to a file outside the stripped prefix: stripped away
py "tar('$TMP/build/hstrip.tgz', [('./index.html', 'f', 'x'),
    ('$T/h', 'h', './index.html')])"
evil hardlink-stripped "$TMP/build/hstrip.tgz" "data: $A: entry $Q$T/h$Q: hard link target $Q./index.html$Q is not a file extracted earlier from this archive"

# --- entry types

# 13-14. device nodes, char and block (mknod needs root)
if [ "$(id -u)" -eq 0 ]; then
	build dev; mkdir -p "$d/c"; mknod "$d/c/null" c 1 3
	mknod "$d/c/loop" b 7 0
	tar -C "$d" -czf "$d.chr.tgz" --transform "s,^c,$T," c/null
	evil char-device "$d.chr.tgz" "data: $A: entry $Q$T/null$Q: character device refused"
	tar -C "$d" -czf "$d.blk.tgz" --transform "s,^c,$T," c/loop
	evil block-device "$d.blk.tgz" "data: $A: entry $Q$T/loop$Q: block device refused"
else
	skip "device nodes need root to build" 10
fi

# 15. a fifo
build fifo; mkdir -p "$d/c"; mkfifo "$d/c/pipe"
tar -C "$d" -czf "$d.tgz" --transform "s,^c,$T," c/pipe
evil fifo "$d.tgz" "data: $A: entry $Q$T/pipe$Q: fifo refused"

# 16. a socket (zip: see the top)
py "zip('$TMP/build/sock.zip', [('$T/sock', 's')])"
evil socket "$TMP/build/sock.zip" "data: $A: entry $Q$T/sock$Q: socket refused"

# --- replacing

# 17. a directory, then a file of the same name
py "tar('$TMP/build/rdir.tgz', [('$T/json/', 'd'), ('$T/json/v.json', 'f', '{}'),
    ('$T/json', 'f', 'x')])"
evil dir-replaced-by-file "$TMP/build/rdir.tgz" "data: $A: entry $Q$T/json$Q: would replace a directory with a file"

# 18. duplicate entries: a directory, then a symlink of the same name
# (duplicate files are accepted, the last one wins: see the end)
py "tar('$TMP/build/dup.tgz', [('$T/d/', 'd'), ('$T/d', 'l', '.')])"
evil duplicate-dir-then-link "$TMP/build/dup.tgz" "data: $A: entry $Q$T/d$Q: would replace a directory with a symlink"

# --- sizes and damage

# 19. a gzip bomb: 256 MiB of zeros in a quarter of a MiB
build bomb; mkdir -p "$d/c"
head -c 256M /dev/zero >"$d/c/zeros"
tar -C "$d" -czf "$d.tgz" --transform "s,^c,$T," c
rm -f "$d/c/zeros"
evil gzip-bomb "$d.tgz" "data: $A: over the limit of 8388608 bytes (limits.max_bytes)"

# 20. more entries than limits.max_entries
build many; mkdir -p "$d/c"
for i in $(seq 1 80); do echo "$i" >"$d/c/f$i"; done
tar -C "$d" -czf "$d.tgz" --transform "s,^c,$T," c
evil max-entries "$d.tgz" "data: $A: over the limit of 50 entries (limits.max_entries)"

# 21. a truncated archive
build trunc; mkdir -p "$d/c"; head -c 300000 /dev/urandom >"$d/c/r"
tar -C "$d" -czf "$d.full.tgz" --transform "s,^c,$T," c
head -c 100000 "$d.full.tgz" >"$d.tgz"
evil truncated "$d.tgz" "data: $A: truncated gzip input"

# 22. corrupt gzip data
build corrupt; mkdir -p "$d/c"; seq 1 100000 >"$d/c/n"
tar -C "$d" -czf "$d.tgz" --transform "s,^c,$T," c
printf 'garbage-garbage-garbage' |
    dd of="$d.tgz" bs=1 seek=200 conv=notrunc 2>/dev/null
evil corrupt-gzip "$d.tgz" "data: $A: gzip decompression failed: invalid compressed data"

# --- zip: the same path rules

# 23-25. absolute, "..", a symlink out
py "zip('$TMP/build/zabs.zip', [('$TMP/outside/zabs', 'f', 'x')])"
evil zip-absolute "$TMP/build/zabs.zip" "data: $A: entry $Q$TMP/outside/zabs$Q: absolute path"
py "zip('$TMP/build/zdot.zip', [('$T/../../outside/zdot', 'f', 'x')])"
evil zip-dotdot "$TMP/build/zdot.zip" "data: $A: entry $Q$T/../../outside/zdot$Q: path escapes the release dir"
py "zip('$TMP/build/zlink.zip', [('$T/out', 'l', '$TMP/outside'),
    ('$T/out/pwned', 'f', 'x')])"
evil zip-symlink "$TMP/build/zlink.zip" "data: $A: entry $Q$T/out$Q: symlink target $Q$TMP/outside$Q is absolute"

# --- accepted: setuid, setgid and sticky bits are dropped; of duplicate
# entries the last one wins (as with tar), and a symlink replaced by a
# file is replaced, not written through
build modes; mkdir -p "$d/c/sticky"
printf '#!/bin/sh\n' >"$d/c/suid"; chmod 4755 "$d/c/suid"
printf '#!/bin/sh\n' >"$d/c/sgid"; chmod 2755 "$d/c/sgid"
cp "$TMP/src-data/cache_storage_for_open_qa/index.html" "$d/c/"
chmod 1777 "$d/c/sticky"
tar -C "$d" -cf "$d.tar" --transform "s,^c,$T," c
python3 - "$d.tar" "$T" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], 'a') as t:
    for path, kind, arg in [('dup', 'f', 'first'), ('dup', 'f', 'second'),
                            ('l', 'l', 'index.html'), ('l', 'f', 'replaced')]:
        ti = tarfile.TarInfo(sys.argv[2] + '/' + path)
        if kind == 'l':
            ti.type = tarfile.SYMTYPE
            ti.linkname = arg
            t.addfile(ti)
        else:
            ti.size = len(arg)
            t.addfile(ti, io.BytesIO(arg.encode()))
PY
gzip -n <"$d.tar" >"$d.tgz"
cp "$d.tgz" "$TMP/work-data/$A"
commit_tree "$TMP/git/data.git" "$TMP/work-data" "modes" >/dev/null
gs modes sync -c "$TMP/gitstrap.yml"
is "$GS_RC" 0 "s-bits: the release is published"
is "$(stat -c %a "$TMP/www/site/suid")" 755 "setuid bit dropped"
is "$(stat -c %a "$TMP/www/site/sgid")" 755 "setgid bit dropped"
is "$(stat -c %a "$TMP/www/site/sticky")" 755 "sticky bit dropped"
is "$(cat "$TMP/www/site/dup")" second "duplicate entries: the last one wins"
ok "a symlink replaced by a file: a file now" test ! -L "$TMP/www/site/l"
is "$(cat "$TMP/www/site/l")" replaced "with the file's content"
is "$(curl -s "$WEB_URL/site/")" "$page" \
    "and nothing written through the symlink: the new release serves the page"
