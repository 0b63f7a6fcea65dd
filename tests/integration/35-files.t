#!/bin/bash
# Files gitstrap makes: a private state dir (0700, ours, not a symlink),
# releases readable by the web server and never group- or world-writable
# whatever the umask, temp files that do not follow planted symlinks, and
# no following of symlinks planted as the releases dir or the switch's
# temp link.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/servers.sh"
. "$TOP_SRCDIR/tests/lib/fixtures.sh"

plan 23
setup_tmp

data_commit data 1 >/dev/null || bail_out "data repo"
start_git_daemon || bail_out "git daemon"

conf() {	# NAME
	data_conf "$1" "$GIT_DAEMON_URL/data.git" "" main
}

# --- a careless umask changes nothing
conf umask
mask=$(umask)
umask 000
gs umask run --once -c "$TMP/umask.yml"
umask "$mask"
is "$GS_RC" 0 "boot under umask 000"
is "$(stat -c %a "$TMP/state-umask")" 700 "the state dir is 0700"
is "$(stat -c %a "$(releases_of "$TMP/www-umask/site")")" 755 \
    "the releases dir is 0755"
is "$(find "$TMP/state-umask" "$(releases_of "$TMP/www-umask/site")" \
    -perm /022 ! -type l | wc -l)" 0 \
    "nothing in the state or releases dir is group- or world-writable"
is "$(find "$(releases_of "$TMP/www-umask/site")" ! -perm -0444 ! -type l |
    wc -l)" 0 "every release file is world-readable"
is "$(find "$(releases_of "$TMP/www-umask/site")" -type d ! -perm -0111 |
    wc -l)" 0 "every release dir is world-searchable"
is "$(stat -c %a "$TMP/state-umask/status.json")" 644 "status.json is 0644"

# --- an existing state dir too open is closed
conf open
mkdir -m 0777 "$TMP/state-open"
gs open run --once -c "$TMP/open.yml"
is "$GS_RC" 0 "boot with a 0777 state dir"
is "$(stat -c %a "$TMP/state-open")" 700 "the state dir is made 0700"

# --- a state dir that is a symlink is refused
conf link
mkdir "$TMP/elsewhere"
ln -s "$TMP/elsewhere" "$TMP/state-link"
gs link run --once -c "$TMP/link.yml"
is "$GS_RC" 1 "a symlinked state dir: exit 1"
like "$(cat "$TMP/link.err")" "$TMP/state-link: not a directory \\(a symlink\\?\\): refusing to use it" \
    "a symlinked state dir: the line says why"
is "$(ls -A "$TMP/elsewhere")" "" "nothing was written through the link"

# --- a state dir owned by someone else is refused
if [ "$(id -u)" -eq 0 ]; then
	conf other
	mkdir -m 0700 "$TMP/state-other"
	chown nobody "$TMP/state-other"
	gs other run --once -c "$TMP/other.yml"
	is "$GS_RC" 1 "a state dir owned by another user: exit 1"
	like "$(cat "$TMP/other.err")" "state-other: owned by uid $(id -u nobody), not by us" \
	    "a state dir owned by another user: the line says whose"
else
	skip 2 "not root: cannot hand a dir to another user"
fi

# --- a planted symlink as the releases dir is refused
conf planted
mkdir -p "$TMP/www-planted" "$TMP/victim"
ln -s "$TMP/victim" "$(releases_of "$TMP/www-planted/site")"
gs planted run --once -c "$TMP/planted.yml"
is "$GS_RC" 1 "a symlink planted as the releases dir: exit 1"
like "$(cat "$TMP/planted.err")" "not a directory \\(a symlink\\?\\)" \
    "a planted releases dir: the line says why"
is "$(ls -A "$TMP/victim")" "" "nothing was written where it pointed"
ok "and nothing was switched" test ! -e "$TMP/www-planted/site"

# --- planted temp names are replaced, never followed
conf tmp
mkdir -p "$TMP/www-tmp"
printf 'precious\n' >"$TMP/precious"
ln -s "$TMP/precious" "$TMP/www-tmp/site.gitstrap-tmp"
gs tmp run --once -c "$TMP/tmp.yml"
is "$GS_RC" 0 "a symlink planted at the switch's temp name: boot succeeds"
is "$(cat "$TMP/precious")" precious "the file it pointed at is untouched"
is "$(cat "$TMP/www-tmp/site/index.html")" "<h1>data version 1</h1>" \
    "and the page is published"

ln -s "$TMP/precious" "$TMP/state-tmp/.status.json.tmp"
data_commit data 2 >/dev/null
gs tmp2 sync -c "$TMP/tmp.yml"
is "$GS_RC" 0 "a symlink planted at status.json's temp name: sync succeeds"
is "$(cat "$TMP/precious")" precious "the file it pointed at is untouched"
