#!/bin/bash
# make install into a DESTDIR from the build tree: what lands where, the
# installed binary runs, the installed recipes are found by name, the
# installed units and init script name the installed binary; make
# uninstall takes it all away again.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/build.sh"

plan 24
setup_tmp

DEST=$TMP/dest
sbindir=$(make_var sbindir)
sysconfdir=$(make_var sysconfdir)
pkgdatadir=$(make_var pkgdatadir)
mandir=$(make_var mandir)
docdir=$(make_var docdir)
unitdir=$(make_var systemdsystemunitdir)
version=$(make_var PACKAGE_VERSION)

# make_in_build TARGET: make TARGET DESTDIR=$DEST in the build tree; its
# output in $TMP/TARGET.log
make_in_build() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	    make --no-print-directory -C "$BUILDDIR" "$1" DESTDIR="$DEST" \
	    >"$TMP/$1.log" 2>&1 || { diag "$(cat "$TMP/$1.log")"; return 1; }
}

ok "make install DESTDIR=... succeeds" make_in_build install
# what landed where, for the log
(cd "$DEST" && find . ! -type d | sed 's|^\.||' | sort) >"$TMP/installed"
diag "installed:" "$(cat "$TMP/installed")"

# installed PATH: PATH was installed (a file or a link)
installed() {
	grep -qxF -- "$1" "$TMP/installed"
}

ok "the binary is in sbindir ($sbindir)" test -x "$DEST$sbindir/gitstrap"
for r in nginx-static apache-php open-qa; do
	ok "recipe $r in $pkgdatadir/recipes" installed "$pkgdatadir/recipes/$r.yml"
done
ok "gitstrap(8) in man8" installed "$mandir/man8/gitstrap.8"
ok "gitstrap.yml(5) in man5" installed "$mandir/man5/gitstrap.yml.5"
ok "gitstrap-recipe(5) in man5" installed "$mandir/man5/gitstrap-recipe.5"
ok "the sysvinit script in $sysconfdir/init.d" \
    test -x "$DEST$sysconfdir/init.d/gitstrap"
ok "the defaults file as an example in $docdir" \
    installed "$docdir/examples/init/default/gitstrap"
ok "the cloud-init examples too" \
    installed "$docdir/examples/init/cloud-init/baked-image.yml"
if [ -n "$unitdir" ]; then
	for u in gitstrap.service gitstrap-boot.service; do
		ok "$u in $unitdir" installed "$unitdir/$u"
		like "$(sed -n 's/^ExecStart=//p' "$DEST$unitdir/$u")" \
		    "^$sbindir/gitstrap run " "$u runs the installed binary"
	done
else
	skip "built --without-systemdsystemunitdir" 4
fi
ok "the init script runs the installed binary" \
    grep -qF "$sbindir/gitstrap}" "$DEST$sysconfdir/init.d/gitstrap"
nok "nothing is installed under /etc of the build's sysconfdir but init.d" \
    grep -vE "^$sysconfdir/init\\.d/gitstrap\$" <(grep "^$sysconfdir/" "$TMP/installed")

# --- the installed binary
out=$("$DEST$sbindir/gitstrap" version 2>&1)
is "$?" 0 "the installed binary runs: version exits 0"
like "$out" "^gitstrap $version \\(libgit2 [0-9.]+\\)$" "and names this version"
ok "it looks for shipped recipes in $pkgdatadir/recipes" \
    grep -qaF "$pkgdatadir/recipes" "$DEST$sbindir/gitstrap"

# a shipped recipe, by name, from the installed tree (GITSTRAP_RECIPES_DIR
# stands for the compiled-in directory, which is not under DESTDIR)
cat >"$TMP/gitstrap.yml" <<YML
service:
  repo: https://git.example.com/service.git
  recipe: open-qa
  vars: { email: ops@example.com }
data:
  repo: https://git.example.com/data.git
  target: /var/www/html/webcache
YML
out=$(GITSTRAP_RECIPES_DIR=$DEST$pkgdatadir/recipes \
    "$DEST$sbindir/gitstrap" check -c "$TMP/gitstrap.yml" 2>&1)
is "$?:$out" 0: "the installed open-qa recipe is found by name"
sed 's/recipe: open-qa/recipe: no-such-recipe/' "$TMP/gitstrap.yml" >"$TMP/bad.yml"
GITSTRAP_RECIPES_DIR=$DEST$pkgdatadir/recipes \
    "$DEST$sbindir/gitstrap" check -c "$TMP/bad.yml" >/dev/null 2>&1
is "$?" 2 "an unknown recipe name there is a config error"

# --- and away again
ok "make uninstall DESTDIR=... succeeds" make_in_build uninstall
is "$(cd "$DEST" && find . ! -type d)" "" "uninstall leaves no file behind"

done_testing
