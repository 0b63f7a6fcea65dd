# shellcheck shell=bash
#
# build.sh: the build tree the tests run from. Source after tap.sh.
#
#	BUILDDIR		the build dir (that of $GITSTRAP)
#	make_var NAME		a variable of the build's Makefile, expanded
#				as make expands it (e.g. sbindir)

# make runs the tests from the build dir, where $GITSTRAP was built
BUILDDIR=$(cd "$(dirname "$GITSTRAP")" && pwd)

make_var() {
	make -s --no-print-directory -C "$BUILDDIR" -f - "print-$1" <<MK
include Makefile
print-$1:
	@echo '\$($1)'
MK
}
