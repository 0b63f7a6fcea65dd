#!/bin/bash
# transport: insecure (allow | deny) for git remotes and notify.webhook,
# and ca_file, a private CA trusted by libgit2 and libcurl alike without
# SSL_CERT_FILE.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/servers.sh"
. "$TOP_SRCDIR/tests/lib/fixtures.sh"

plan 20
setup_tmp
unset SSL_CERT_FILE SSL_CERT_DIR

data_commit data 1 >/dev/null || bail_out "data repo"
make_tls_cert || bail_out "openssl"
start_git_daemon || bail_out "git daemon"

conf() {	# NAME URL [EXTRA]
	data_conf "$@"
}

# ---- deny: plain git:// and http:// remotes are config errors ----
conf denygit "$GIT_DAEMON_URL/data.git" "transport: { insecure: deny }"
gs denygit check -c "$TMP/denygit.yml"
is "$GS_RC" 2 "deny: a git:// remote is a config error"
is "$(cat "$TMP/denygit.err")" \
    "$TMP/denygit.yml:3:9: data.repo: git:// is an unauthenticated transport (transport.insecure: deny)" \
    "deny: the error names the place and the transport"

conf denyhttp "http://deploy:s3cret@127.0.0.1:1/data.git" \
    "notify: { webhook: \"http://127.0.0.1:1/hooks/T0KEN\" }
transport: { insecure: deny }"
gs denyhttp check -c "$TMP/denyhttp.yml"
is "$GS_RC" 2 "deny: an http:// remote and webhook are config errors"
is "$(cat "$TMP/denyhttp.err")" \
    "$TMP/denyhttp.yml:3:9: data.repo: http:// is an unauthenticated transport (transport.insecure: deny)
$TMP/denyhttp.yml:6:20: notify.webhook: http:// is an unauthenticated transport (transport.insecure: deny)" \
    "deny: both are named, in order"

gs denyrun run --once -c "$TMP/denygit.yml"
is "$GS_RC" 2 "deny: run refuses to start too"
ok "deny: nothing is fetched" test ! -e "$TMP/state-denygit/data.git"

# ---- allow (the default): a warning, and it works ----
conf allow "$GIT_DAEMON_URL/data.git"
gs allow check -c "$TMP/allow.yml"
is "$GS_RC" 0 "allow: a git:// remote passes the check"
is "$(cat "$TMP/allow.out")" "" "allow: check prints nothing on stdout"
like "$(cat "$TMP/allow.err")" \
    "level=warn ev=transport key=data.repo url=$GIT_DAEMON_URL/data.git msg=\"unauthenticated transport" \
    "allow: the unauthenticated transport is logged as a warning"

conf allowhttp "http://deploy:s3cret@127.0.0.1:1/data.git" \
    "notify: { webhook: \"http://127.0.0.1:1/hooks/T0KEN\" }"
gs allowhttp check -c "$TMP/allowhttp.yml"
is "$GS_RC" 0 "allow: http:// remote and webhook pass"
like "$(cat "$TMP/allowhttp.err")" "key=data.repo url=http://127.0.0.1:1/data.git " \
    "allow: the remote is logged without its credentials"
like "$(cat "$TMP/allowhttp.err")" "key=notify.webhook url=http:// " \
    "allow: the webhook is named by its key alone"
unlike "$(cat "$TMP/allowhttp.err")" "s3cret|T0KEN" "allow: no secret is logged"

# ---- ca_file: a private CA, without SSL_CERT_FILE ----
start_http_git --tls "$TMP/tls/server.pem:$TMP/tls/server.key" || bail_out "https"
url=${HTTP_GIT_URL/127.0.0.1/localhost}
conf ca "$url/data.git" "  health: { url: \"$url/data.git/info/refs\", expect: 200, retries: 0 }
transport: { ca_file: $TMP/tls/ca.pem, insecure: deny }"
gs ca run --once -c "$TMP/ca.yml"
is "$GS_RC" 0 "ca_file: https with a private CA deploys"
is "$(cat "$TMP/www-ca/site/index.html" 2>/dev/null)" "<h1>data version 1</h1>" \
    "ca_file: the page is served"
like "$(cat "$TMP/ca.err")" "ev=health.ok " "ca_file: libcurl trusts it too (health check)"

conf noca "$url/data.git"
gs noca run --once -c "$TMP/noca.yml"
is "$GS_RC" 1 "without ca_file the private CA is not trusted"
like "$(grep ev=failure "$TMP/noca.err")" "certificate" "the error names the certificate"

# the config key wins over SSL_CERT_FILE
conf cawins "$url/data.git" "  health: { url: \"$url/data.git/info/refs\", expect: 200, retries: 0 }
transport: { ca_file: $TMP/tls/ca.pem }"
SSL_CERT_FILE=$TMP/tls/self.pem gs cawins run --once -c "$TMP/cawins.yml"
is "$GS_RC" 0 "ca_file wins over SSL_CERT_FILE"

conf camissing "$url/data.git" "transport: { ca_file: $TMP/tls/none.pem }"
gs camissing run --once -c "$TMP/camissing.yml"
is "$(jqr "$TMP/state-camissing/status.json" .last_error)" \
    "transport.ca_file $TMP/tls/none.pem: No such file or directory" \
    "a missing ca_file is a runtime error naming it"
