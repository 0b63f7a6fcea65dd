# fixtures.sh: service and data repos, configs and runs of gitstrap for
# the integration tests. Source after tap.sh and servers.sh.
#
#	make_service_repo NAME		service repo with gitstrap/recipe.yml
#	data_commit NAME VERSION	new data commit (tarball of version N)
#	write_config FILE <<EOF		config from stdin
#	gs OUTPREFIX ARGS...		run $GITSTRAP, stdout/stderr to files,
#					exit status in $GS_RC
#
# The recipe of the test service repo appends a line to $TMP/recipe-runs
# each time it runs, so tests can count runs.

# make_service_repo NAME: a service repo whose recipe copies site/ into
# $TMP/www-service and counts its runs.
make_service_repo() {
	local name=$1 bare work

	bare=$(make_bare_repo "$name") || return 1
	work=$TMP/work-$name
	mkdir -p "$work/gitstrap" "$work/site"
	cat >"$work/gitstrap/recipe.yml" <<'YML'
name: test-service
vars:
  runs: /nonexistent/runs
  docroot: /nonexistent/docroot
steps:
  - name: count this run
    run: "echo ran >> {{ runs }}"
  - copy: { from: site, to: "{{ docroot }}" }
  - template: { src: site/conf.in, dest: "{{ docroot }}/conf" }
YML
	printf 'service page\n' >"$work/site/about.html"
	printf 'email={{ email }}\n' >"$work/site/conf.in"
	commit_tree "$bare" "$work" "service v1" >/dev/null
}

# data_commit NAME VERSION [EXTRA_FILE_CONTENT]: commit a new tarball to
# the data repo NAME (created on first use) whose index.html says
# "data version VERSION". Prints the commit id.
data_commit() {
	local name=$1 version=$2 bare=$TMP/git/$1.git work
	local top

	[ -d "$bare" ] || make_bare_repo "$name" >/dev/null || return 1
	work=$TMP/work-$name
	top=$TMP/src-$name/cache_storage_for_open_qa
	rm -rf "$TMP/src-$name"
	mkdir -p "$work" "$top/json"
	printf '<h1>data version %s</h1>\n' "$version" >"$top/index.html"
	printf '{"version": %s}\n' "$version" >"$top/json/v.json"
	make_data_tarball "$TMP/src-$name" "$work/cache_storage_for_open_qa.tar.gz" ||
	    return 1
	printf 'data repo of version %s\n' "$version" >"$work/README"
	commit_tree "$bare" "$work" "data v$version"
}

# write_config FILE: the config from stdin
write_config() {
	cat >"$1"
}

# data_conf NAME URL [EXTRA] [REF]: $TMP/NAME.yml, a data-only config with
# its state in $TMP/state-NAME and its web root $TMP/www-NAME/site, the
# fixture's tarball unpacked there; REF (quoted) when given; EXTRA, YAML
# lines appended as they are (indented: more data keys; else top-level)
data_conf() {
	{
		printf 'state_dir: %s\n' "$TMP/state-$1"
		printf 'data:\n  repo: %s\n' "$2"
		[ -z "${4:-}" ] || printf '  ref: "%s"\n' "$4"
		printf '  target: %s\n' "$TMP/www-$1/site"
		printf '  unpack: [ { archive: cache_storage_for_open_qa.tar.gz, strip_components: 2 } ]\n'
		printf '%s\n' "${3:-}"
	} | write_config "$TMP/$1.yml"
}

# gs NAME ARGS...: run gitstrap; output in $TMP/NAME.out and $TMP/NAME.err,
# exit status in GS_RC. Always returns 0.
gs() {
	local name=$1

	shift
	GS_RC=0
	# GITSTRAP_WRAPPER: e.g. valgrind, for the leak check of these paths
	${GITSTRAP_WRAPPER:-} "$GITSTRAP" "$@" >"$TMP/$name.out" \
	    2>"$TMP/$name.err" || GS_RC=$?
	if [ "$GS_RC" -eq 99 ] && [ -n "${GITSTRAP_WRAPPER:-}" ]; then
		diag "$GITSTRAP_WRAPPER reported errors:" "$(cat "$TMP/$name.err")"
	fi
	if [ "${GS_VERBOSE:-0}" = 1 ]; then
		sed 's/^/# /' "$TMP/$name.err" >&2
	fi
	return 0
}

# jqr FILE FILTER: one raw value from a JSON file
jqr() {
	jq -r "$2" "$1"
}

# releases_of TARGET: where the releases of TARGET live by default (beside
# it: the web server must reach them)
releases_of() {
	printf '%s/.%s.releases\n' "${1%/*}" "${1##*/}"
}
