#!/bin/bash
# gitstrap check: silent success, every error as FILE:LINE:COL, exit 2.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"

plan 14
setup_tmp

cat >"$TMP/good.yml" <<'YML'
state_dir: /var/lib/gitstrap
service:
  repo: https://github.com/eucalyptus/open-qa.git
  ref: master
  recipe: open-qa
  vars: { email: ops@example.com }
data:
  repo: https://github.com/eucalyptus/open-qa-frontend-data.git
  ref: master
  depth: 1
  target: /var/www/html/webcache
  unpack:
    - archive: cache_storage_for_open_qa.tar.gz
      strip_components: 2
  interval: 5m
YML
out=$("$GITSTRAP" check -c "$TMP/good.yml" 2>"$TMP/good.err"); rc=$?
is "$rc" 0 "a valid config exits 0"
is "$out" "" "and prints nothing on stdout"
is "$(cat "$TMP/good.err")" "" "nor on stderr"

cat >"$TMP/bad.yml" <<'YML'
data:
  repo: https://example.com/d.git
  target: relative/path
  tagret: x
  keep_releases: 0
YML
out=$("$GITSTRAP" check -c "$TMP/bad.yml" 2>"$TMP/bad.err"); rc=$?
is "$rc" 2 "an invalid config exits 2"
is "$out" "" "errors go to stderr, not stdout"
is "$(sed -n 1p "$TMP/bad.err")" "$TMP/bad.yml:3:11: data.target: must be an absolute path" \
    "relative target: FILE:LINE:COL: message"
is "$(sed -n 2p "$TMP/bad.err")" "$TMP/bad.yml:4:3: data: unknown key \"tagret\"" \
    "unknown key: FILE:LINE:COL: message"
is "$(sed -n 3p "$TMP/bad.err")" "$TMP/bad.yml:5:18: data.keep_releases: must be at least 1" \
    "keep_releases < 1: FILE:LINE:COL: message"
is "$(wc -l <"$TMP/bad.err")" 3 "every problem reported, one line each"

printf 'data: [unclosed\n' >"$TMP/syntax.yml"
"$GITSTRAP" check -c "$TMP/syntax.yml" 2>"$TMP/syntax.err"; rc=$?
is "$rc" 2 "a YAML syntax error exits 2"
like "$(cat "$TMP/syntax.err")" "^$TMP/syntax.yml:[0-9]+:[0-9]+: " \
    "a YAML syntax error has FILE:LINE:COL"

"$GITSTRAP" check -c "$TMP/missing.yml" 2>"$TMP/missing.err"; rc=$?
is "$rc" 2 "a missing config file exits 2"

sed 's/recipe: open-qa/recipe: no-such-recipe/' "$TMP/good.yml" >"$TMP/norecipe.yml"
"$GITSTRAP" check -c "$TMP/norecipe.yml" 2>"$TMP/norecipe.err"; rc=$?
is "$rc" 2 "an unknown shipped recipe is a config error"
like "$(cat "$TMP/norecipe.err")" "unknown recipe \"no-such-recipe\"" \
    "the unknown recipe is named"
