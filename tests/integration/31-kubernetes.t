#!/bin/bash
# The container and Kubernetes examples in init/kubernetes: the pod is
# valid YAML whose ConfigMap holds a config `gitstrap check` accepts, with
# the web root on the volume nginx mounts (at another path: the release
# link is relative) and the state dir on a volume of gitstrap's alone; the Containerfile builds in one stage and ships, in the other, the
# Debian package of every library the built binary links.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"

K=$TOP_SRCDIR/init/kubernetes
PYTHON=python3
[ -x /usr/bin/python3 ] && PYTHON=/usr/bin/python3
"$PYTHON" -c 'import yaml' 2>/dev/null ||
    skip_all "python3 with the yaml module is not installed (python3-yaml)"

plan 21
setup_tmp

# --- pod.yml: facts about it, one "key=value" a line
"$PYTHON" - "$K/pod.yml" "$TMP/gitstrap.yml" >"$TMP/pod.facts" \
    2>"$TMP/pod.err" <<'PY'
import sys, yaml
docs = list(yaml.safe_load_all(open(sys.argv[1])))
print("kinds=" + " ".join(d["kind"] for d in docs))
cms = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}
pod = [d for d in docs if d["kind"] == "Pod"][0]["spec"]
conf_text = cms["gitstrap-config"]["data"]["gitstrap.yml"]
open(sys.argv[2], "w").write(conf_text)
conf = yaml.safe_load(conf_text)
print("state_dir=" + conf["state_dir"])
print("target=" + conf["data"]["target"])
vols = {v["name"]: v for v in pod["volumes"]}
print("config_volume=" + vols["config"]["configMap"]["name"])
print("shared_volume=" + " ".join(sorted(vols["shared"])))
print("state_volume=" + " ".join(sorted(vols["state"])))
for kind in ("initContainers", "containers"):
    for c in pod[kind]:
        mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
        print("%s.%s.image=%s" % (kind, c["name"], c["image"]))
        print("%s.%s.args=%s" % (kind, c["name"], " ".join(c.get("args", []))))
        print("%s.%s.shared=%s" % (kind, c["name"], mounts.get("shared", "")))
        print("%s.%s.config=%s" % (kind, c["name"], mounts.get("config", "")))
        print("%s.%s.state=%s" % (kind, c["name"], mounts.get("state", "")))
nginx = cms["open-qa-nginx"]["data"]["default.conf"]
print("nginx_root=" + [l.split()[1].rstrip(";") for l in nginx.splitlines()
    if l.strip().startswith("root ")][0])
PY
is "$?" 0 "pod.yml parses as YAML"
[ -s "$TMP/pod.err" ] && diag "$(cat "$TMP/pod.err")"
fact() {
	sed -n "s/^$1=//p" "$TMP/pod.facts"
}

is "$(fact kinds)" "ConfigMap ConfigMap Pod" "a ConfigMap for each container's config, and the pod"
out=$("$GITSTRAP" check -c "$TMP/gitstrap.yml" 2>&1)
is "$?:$out" 0: "gitstrap check accepts the ConfigMap's gitstrap.yml"
is "$(fact config_volume)" gitstrap-config "the config volume is that ConfigMap"
is "$(fact shared_volume)" "emptyDir name" "the shared volume lives as long as the pod"

is "$(fact initContainers.first-publish.args)" \
    "run --once -c /etc/gitstrap/gitstrap.yml" \
    "init container: the first publish, once"
is "$(fact containers.gitstrap.args)" "run -c /etc/gitstrap/gitstrap.yml" \
    "sidecar: the resident loop, same config"
is "$(fact initContainers.first-publish.image)" "$(fact containers.gitstrap.image)" \
    "both run the same image"
for c in initContainers.first-publish containers.gitstrap; do
	is "$(fact "$c.config")" /etc/gitstrap "${c#*.}: config mounted where args say"
done

shared=$(fact containers.gitstrap.shared)
is "$(dirname "$(fact state_dir)")" "$(fact containers.gitstrap.state)" \
    "state_dir is a dir of its own on the state volume"
is "$(fact initContainers.first-publish.state)$(fact containers.nginx.state)" \
    "$(fact containers.gitstrap.state)" "the init container shares it; nginx does not see it"
is "$(fact state_volume)" "emptyDir name" "the state volume lives as long as the pod"
is "$(dirname "$(fact target)")" "$shared" \
    "data.target (and its releases beside it) is on the shared volume"
is "$(fact initContainers.first-publish.shared)" "$shared" \
    "the init container mounts it at the same path"
is "$(fact nginx_root)" "$(fact containers.nginx.shared)" \
    "nginx serves the shared volume where it mounts it: the relative release link resolves"

# --- Containerfile
CF=$K/Containerfile
is "$(grep -c '^FROM ' "$CF")" 2 "Containerfile: two stages"
like "$(grep '^FROM ' "$CF" | tail -1)" '^FROM debian:\$\{DEBIAN\}-slim$' \
    "Containerfile: a slim Debian run-time stage"
# the run-time stage: after its FROM
runtime=$(sed -n '/^FROM .*-slim$/,$p' "$CF")
unlike "$runtime" '-dev( |$)' "Containerfile: no -dev package at run time"
# every library the binary links, but libc and (without systemd in a
# container) libsystemd, must be installed at run time by its package
missing=
for lib in $(objdump -p "$GITSTRAP" | awk '$1 == "NEEDED" { print $2 }'); do
	pkg=$(dpkg -S "*/$lib" 2>/dev/null | sed -n '1s/:.*//p')
	case $pkg in
	# libc, libsystemd (no systemd in a container), and the sanitizer
	# runtimes of a test build are not the image's business
	libc6|libsystemd0|libasan*|libubsan*|liblsan*|"") continue ;;
	esac
	[[ $runtime =~ [[:space:]]$pkg([[:space:]]|$) ]] || missing="$missing $pkg"
done
is "$missing" "" "Containerfile: the run-time stage installs every linked library"
like "$(sed -n '/AS build$/,/^FROM .*-slim$/p' "$CF")" \
    '-t "\$\{DEBIAN\}-backports"[^A-Za-z]*libgit2-dev' \
    "Containerfile: libgit2-dev from backports in the build stage"

done_testing
