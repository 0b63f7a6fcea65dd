#!/bin/bash
# JSON log lines; progress only on a terminal; tar.xz, tar.zst and zip
# archives unpacked side by side with `to`; the state dir lock; the
# resident loop syncing on SIGUSR1 and stopping on SIGTERM.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/servers.sh"
. "$TOP_SRCDIR/tests/lib/fixtures.sh"

plan 19
setup_tmp

data_commit data 1 >/dev/null || bail_out "data repo"
start_http_git || bail_out "smart HTTP"

# --- JSON log lines
write_config "$TMP/json.yml" <<YML
state_dir: $TMP/state-json
log: { format: json, level: debug }
data:
  repo: $HTTP_GIT_URL/data.git
  target: $TMP/www-json/site
  unpack: [ { archive: cache_storage_for_open_qa.tar.gz, strip_components: 2 } ]
YML
gs json run --once -c "$TMP/json.yml"
is "$GS_RC" 0 "json: boot exits 0"
ok "json: every line is a JSON object with ts, level and ev" \
    jq -e -s 'length > 3 and all(.[]; has("ts") and has("level") and has("ev"))' "$TMP/json.err"
is "$(jq -r 'select(.ev == "publish") | .release' "$TMP/json.err")" \
    "$(basename "$(readlink "$TMP/www-json/site")")" "json: publish names the release"
like "$(jq -r .level "$TMP/json.err" | sort -u | tr '\n' ' ')" "debug" \
    "json: level debug is honoured"

# --- progress on a terminal, quiet otherwise
sed "s|state-json|state-tty|; s|www-json|www-tty|; /^log:/d" "$TMP/json.yml" >"$TMP/tty.yml"
script -qec "$GITSTRAP run --once -c $TMP/tty.yml" /dev/null >"$TMP/tty.out" 2>&1
like "$(cat "$TMP/tty.out")" "data: objects [0-9]+/[0-9]+" "progress is shown on a terminal"
unlike "$(cat "$TMP/json.err")" "objects [0-9]+/" "no progress when stderr is not a terminal"

# --- other archive formats, several archives in one release
src=$TMP/fmt/src; mkdir -p "$src/a" "$src/b" "$src/c"
echo xz >"$src/a/x.txt"; echo zst >"$src/b/z.txt"; echo zip >"$src/c/p.txt"
work=$TMP/work-fmt; mkdir -p "$work/arch"
tar -C "$src" -cJf "$work/arch/a.tar.xz" a
tar -C "$src" --zstd -cf "$work/arch/b.tar.zst" b
(cd "$src" && zip -qr "$work/arch/c.zip" c)
make_bare_repo fmt >/dev/null
commit_tree "$TMP/git/fmt.git" "$work" "formats" >/dev/null
write_config "$TMP/fmt.yml" <<YML
state_dir: $TMP/state-fmt
data:
  repo: $HTTP_GIT_URL/fmt.git
  target: $TMP/www-fmt/site
  unpack:
    - { archive: arch/a.tar.xz, strip_components: 1 }
    - { archive: arch/b.tar.zst, strip_components: 1, to: zst }
    - { archive: arch/c.zip, to: zip }
YML
gs fmt run --once -c "$TMP/fmt.yml"
is "$GS_RC" 0 "formats: boot exits 0"
is "$(cat "$TMP/www-fmt/site/x.txt")" xz "tar.xz unpacked"
is "$(cat "$TMP/www-fmt/site/zst/z.txt")" zst "tar.zst unpacked into its 'to' dir"
is "$(cat "$TMP/www-fmt/site/zip/c/p.txt")" zip "zip unpacked into its 'to' dir"

# --- the resident loop and the lock
write_config "$TMP/loop.yml" <<YML
state_dir: $TMP/state-loop
data:
  repo: $HTTP_GIT_URL/data.git
  target: $TMP/www-loop/site
  unpack: [ { archive: cache_storage_for_open_qa.tar.gz, strip_components: 2 } ]
  interval: 1h
YML
${GITSTRAP_WRAPPER:-} "$GITSTRAP" run -c "$TMP/loop.yml" 2>"$TMP/loop.err" &
loop=$!
on_exit "kill $loop 2>/dev/null"
ok "resident: the first publish happens" wait_for grep -q "ev=publish" "$TMP/loop.err"
ok "resident: the process stays up" kill -0 "$loop"

gs locked sync -c "$TMP/loop.yml"
is "$GS_RC" 1 "sync while the resident process holds the lock exits 1"
like "$(cat "$TMP/locked.err")" "in use by another gitstrap \\(pid $loop\\)" \
    "the error names the holder's pid"

data_commit data 2 >/dev/null
kill -USR1 "$loop"
ok "resident: SIGUSR1 syncs now" wait_for grep -q "data version 2" "$TMP/www-loop/site/index.html"
is "$(grep -c 'ev=publish' "$TMP/loop.err")" 2 "resident: published twice"

kill -TERM "$loop"
rc=0; wait "$loop" || rc=$?
is "$rc" 0 "resident: SIGTERM stops it with exit 0"
like "$(cat "$TMP/loop.err")" "ev=stop signal=TERM" "resident: the stop is logged"
ok "resident: no temp dirs left" test -z "$(ls "$(releases_of "$TMP/www-loop/site")" | grep '\.tmp$')"
