#!/bin/bash
# HTTPS with verification always on, and ssh:// with a key and strict
# host key checking against a configured known_hosts file.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/servers.sh"
. "$TOP_SRCDIR/tests/lib/fixtures.sh"

plan 11
setup_tmp

data_commit data 1 >/dev/null || bail_out "data repo"
make_tls_cert || bail_out "openssl"

conf() {	# NAME URL [EXTRA]
	data_conf "$@"
}

# --- HTTPS: a certificate from a CA the system trusts (here: one we name
# with SSL_CERT_FILE, which OpenSSL reads) works; an untrusted one fails
start_http_git --tls "$TMP/tls/server.pem:$TMP/tls/server.key" || bail_out "https"
# the name, not the address: not every TLS library checks IP names
conf https "${HTTP_GIT_URL/127.0.0.1/localhost}/data.git"
SSL_CERT_FILE=$TMP/tls/ca.pem gs https run --once -c "$TMP/https.yml"
is "$GS_RC" 0 "https with a trusted certificate deploys"
is "$(cat "$TMP/www-https/site/index.html" 2>/dev/null)" "<h1>data version 1</h1>" \
    "https: the page is served"

start_http_git --tls "$TMP/tls/self.pem:$TMP/tls/self.key" || bail_out "https self-signed"
conf selfsigned "${HTTP_GIT_URL/127.0.0.1/localhost}/data.git"
SSL_CERT_FILE=$TMP/tls/ca.pem gs selfsigned run --once -c "$TMP/selfsigned.yml"
is "$GS_RC" 1 "https with an untrusted certificate exits 1"
like "$(grep ev=failure "$TMP/selfsigned.err")" "certificate" \
    "the error says the certificate is the problem"
ok "nothing switched" test ! -e "$TMP/www-selfsigned/site"

# --- ssh://
if [ "$(id -u)" -ne 0 ] || [ ! -x /usr/sbin/sshd ]; then
	for i in 1 2 3 4 5 6; do skip "sshd needs root and openssh-server"; done
	exit 0
fi
start_sshd || bail_out "sshd"
url="ssh://root@127.0.0.1:$SSH_PORT$TMP/git/data.git"

conf ssh "$url" "  auth: { ssh_key: $SSH_KEY, ssh_known_hosts: $SSH_KNOWN_HOSTS }"
gs ssh run --once -c "$TMP/ssh.yml"
is "$GS_RC" 0 "ssh with a key and a matching known_hosts deploys"
is "$(cat "$TMP/www-ssh/site/index.html" 2>/dev/null)" "<h1>data version 1</h1>" \
    "ssh: the page is served"

conf sshbad "$url" "  auth: { ssh_key: $SSH_KEY, ssh_known_hosts: $SSH_OTHER_KNOWN_HOSTS }"
gs sshbad run --once -c "$TMP/sshbad.yml"
is "$GS_RC" 1 "ssh with a different host key exits 1"
like "$(grep ev=failure "$TMP/sshbad.err")" "does not match" \
    "a host key mismatch is named"

: >"$TMP/empty_known_hosts"
conf sshunknown "$url" "  auth: { ssh_key: $SSH_KEY, ssh_known_hosts: $TMP/empty_known_hosts }"
gs sshunknown run --once -c "$TMP/sshunknown.yml"
is "$GS_RC" 1 "ssh to a host not in known_hosts exits 1"
like "$(grep ev=failure "$TMP/sshunknown.err")" "is not in .*strict host key checking" \
    "an unknown host is named"
