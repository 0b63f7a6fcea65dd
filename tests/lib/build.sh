# shellcheck shell=bash
#
# build.sh: the build tree the tests run from. Source after tap.sh.
#
#	BUILDDIR		the build dir (that of $GITSTRAP)
#	make_var NAME		a variable of the build's Makefile, expanded
#				as make expands it (e.g. sbindir)

# make runs the tests from the build dir, where $GITSTRAP was built
BUILDDIR=$(cd "$(dirname "$GITSTRAP")" && pwd)

# A make of its own, not a sub-make of the one running the tests: without
# the caller's MAKEFLAGS (-w, the jobserver), so it prints the value alone.
make_var() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	    make -s --no-print-directory -C "$BUILDDIR" -f - "print-$1" <<MK
include Makefile
print-$1:
	@echo '\$($1)'
MK
}
