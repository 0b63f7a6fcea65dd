#!/bin/bash
# The cloud-init user-data examples in init/cloud-init: valid YAML and
# MIME, a gitstrap config that `gitstrap check` accepts inside each, the
# defaults file they write naming a source the units understand; and,
# with a gitstrap that reads user-data, each file (and its gzip) accepted
# by `gitstrap check --user-data`. The README's example is checked too.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"

EX=$TOP_SRCDIR/init/cloud-init
CLOUD_CONFIGS="baked-image.yml stock-debian.yml readme.yml"
MULTIPART=multipart.txt

# Debian's python3, where python3-yaml installs
PYTHON=python3
[ -x /usr/bin/python3 ] && PYTHON=/usr/bin/python3
"$PYTHON" -c 'import yaml' 2>/dev/null ||
    skip_all "python3 with the yaml module is not installed (python3-yaml)"

plan 33
setup_tmp

# the README's example, indented by 4 from "#cloud-config" to a blank line
mkdir "$TMP/ex"
cp "$EX"/*.yml "$EX/$MULTIPART" "$TMP/ex/"
sed -n '/^    #cloud-config$/,/^$/s/^    //p' "$TOP_SRCDIR/README.md" \
    >"$TMP/ex/readme.yml"
EX=$TMP/ex

# py SCRIPT ARGS...: run a python3 snippet
py() {
	local script=$1

	shift
	"$PYTHON" -c "$script" "$@"
}

# cloud_config FILE OUT: parse FILE as YAML, write its gitstrap key to OUT
# (as YAML) and print the other top-level keys
cloud_config() {
	py '
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
assert isinstance(doc, dict), "not a mapping"
g = doc.pop("gitstrap")
assert isinstance(g, dict), "gitstrap: not a mapping"
yaml.safe_dump(g, open(sys.argv[2], "w"))
print(" ".join(sorted(doc)))
' "$1" "$2"
}

# written FILE PATH: the content of the write_files entry for PATH
written() {
	py '
import sys, yaml
for f in yaml.safe_load(open(sys.argv[1])).get("write_files", []):
    if f["path"] == sys.argv[2]:
        sys.stdout.write(f["content"])
' "$1" "$2"
}

units_source='GITSTRAP_SOURCE_ARGS="--user-data /var/lib/cloud/instance/user-data.txt"'

for f in $CLOUD_CONFIGS; do
	is "$(head -1 "$EX/$f")" "#cloud-config" "$f: starts with #cloud-config"
	keys=$(cloud_config "$EX/$f" "$TMP/$f.gitstrap.yml" 2>"$TMP/$f.err")
	is "$?" 0 "$f: parses as YAML, with a gitstrap: mapping"
	[ -s "$TMP/$f.err" ] && diag "$(cat "$TMP/$f.err")"
	like "$keys" '(^| )write_files( |$)' "$f: beside cloud-init's own modules"
	out=$("$GITSTRAP" check -c "$TMP/$f.gitstrap.yml" 2>&1)
	is "$?" 0 "$f: gitstrap check accepts its gitstrap: config"
	is "$out" "" "$f: and says nothing"
	is "$(written "$EX/$f" /etc/default/gitstrap)" "$units_source" \
	    "$f: points the units at the saved user-data"
done

# the stock image installs the package and starts the units without
# waiting for them (they wait for the cloud-init stage running runcmd)
runcmd=$(py '
import sys, yaml
for c in yaml.safe_load(open(sys.argv[1]))["runcmd"]:
    print(" ".join(c) if isinstance(c, list) else c)
' "$EX/stock-debian.yml")
like "$runcmd" $'\napt-get install [^\n]*/run/gitstrap\\.deb' \
    "stock-debian.yml: installs the fetched .deb"
like "$runcmd" $'\nsystemctl start --no-block gitstrap\\.service$' \
    "stock-debian.yml: starts the units without waiting for them"

# the MIME multipart example: a shell script and a #gitstrap part
parts=$(py '
import email, sys
m = email.message_from_file(open(sys.argv[1]))
assert m.is_multipart(), "not multipart"
for i, p in enumerate(m.get_payload()):
    body = p.get_payload(decode=True).decode()
    open("%s/part%d" % (sys.argv[2], i), "w").write(body)
    print(p.get_content_type(), body.split("\n", 1)[0])
' "$EX/$MULTIPART" "$TMP" 2>"$TMP/mime.err")
is "$?" 0 "$MULTIPART: parses as MIME multipart"
is "$parts" $'text/x-shellscript #!/bin/sh\ntext/plain #gitstrap' \
    "$MULTIPART: an install script, then a #gitstrap part"
ok "$MULTIPART: the script is valid sh" sh -n "$TMP/part0"
out=$("$GITSTRAP" check -c "$TMP/part1" 2>&1)
is "$?" 0 "$MULTIPART: gitstrap check accepts the #gitstrap part"
is "$out" "" "$MULTIPART: and says nothing"

# --- the files themselves, as user-data
if ! "$GITSTRAP" check --help 2>&1 | grep -q -- '--user-data'; then
	skip "this gitstrap has no check --user-data" 8
	done_testing
fi
for f in $CLOUD_CONFIGS $MULTIPART; do
	out=$("$GITSTRAP" check --user-data "$EX/$f" 2>&1)
	is "$?:$out" 0: "check --user-data $f: exit 0, silent"
	gzip -c "$EX/$f" >"$TMP/$f.gz"
	out=$("$GITSTRAP" check --user-data "$TMP/$f.gz" 2>&1)
	is "$?:$out" 0: "check --user-data $f.gz: exit 0, silent"
done

done_testing
