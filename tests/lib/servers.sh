# shellcheck shell=bash
# The variables the start functions set are for the sourcing script:
# shellcheck disable=SC2034
#
# servers.sh: real git and web servers on 127.0.0.1 for the integration
# tests and the demo.
#
# Source it after tap.sh (it sources tap.sh itself when needed for
# wait_for). Everything lives under $TMP, which the caller sets (setup_tmp
# does): repos in $TMP/git, one prefix dir per nginx, logs beside them.
#
#	make_bare_repo NAME		$TMP/git/NAME.git; prints its path
#	commit_tree BARE DIR MSG [BR]	commit DIR's content to branch BR (main)
#	make_data_tarball DIR OUT	DIR/cache_storage_for_open_qa -> OUT.tar.gz
#	start_git_daemon		git://, sets GIT_DAEMON_URL
#	start_http_git [--auth U:P]	smart HTTP, sets HTTP_GIT_URL and
#					HTTP_GIT_ACCESS_LOG
#	start_web DIR			static files, sets WEB_URL, WEB_ACCESS_LOG
#	start_hook_sink			records POSTed bodies, sets HOOK_URL
#					and HOOK_LOG (one body a line)
#	make_tls_cert			a CA and a cert for 127.0.0.1 in $TMP/tls
#	start_sshd			ssh:// for root, sets SSH_PORT and
#					SSH_KEY, SSH_KNOWN_HOSTS
#	start_fake_imds [OPTS]		fake instance metadata service
#					(fake-imds.py OPTS), sets IMDS_URL,
#					IMDS_LOG and IMDS_PID
#	stop_servers			stop every process recorded by track_pid
#
# and smaller helpers: free_port, port_open PORT, pid_alive PID,
# track_pid PID NAME, recorded_pids, http_log_count, http_log_mark.
#
# Every server is started in a session of its own and recorded in
# $TMP/server.pids as "PID NAME", so that stop_servers (which setup_tmp's
# exit trap calls) can stop it with its children, and so that another
# process (tools/demo stop) can do the same later. A start function that
# fails returns non-zero after printing the server's log as diagnostics.
#
# Access logs have one line per request:
#	METHOD URI STATUS BYTES "REMOTE_USER"
# e.g. "POST /data.git/git-upload-pack 200 1234 "-"", so tests can count
# requests with http_log_count.
#
# This file is sourced, so it sets no shell options of its own.

if ! declare -F wait_for >/dev/null; then
	# shellcheck source=tap.sh
	. "${BASH_SOURCE[0]%/*}/tap.sh"
fi

# Never let git stop to ask for a password: a wrong one must fail.
export GIT_TERMINAL_PROMPT=0

# Number of nginx instances started, to give each its own prefix dir.
GS_NGINX_COUNT=0

# ------------------------------------------------------------------
# processes

# pid_alive PID: is the process there (and not a zombie)?
pid_alive() {
	local stat

	kill -0 "$1" 2>/dev/null || return 1
	if [ -r "/proc/$1/stat" ] && read -r stat <"/proc/$1/stat"; then
		# The state is the field after "(comm)"; comm may hold spaces.
		stat=${stat##*) }
		[ "${stat%% *}" != Z ] || return 1
	fi
	return 0
}

# track_pid PID NAME: record a process, the leader of its own process
# group, to be stopped with its group by stop_servers. NAME is the
# process's command name (as in /proc/PID/comm), checked before signalling
# so that a recycled pid is never killed.
track_pid() {
	printf '%s %s\n' "$1" "$2" >>"$TMP/server.pids"
}

# _gs_group_alive PGID: does the process group have a live member left?
_gs_group_alive() {
	local pgid=$1 f stat state pgrp

	kill -0 -- "-$pgid" 2>/dev/null || return 1
	[ -d /proc/self ] || return 0
	# Zombies count for kill(2) but are gone for our purposes: children
	# orphaned by the group's leader wait for init to reap them, which
	# can take a while in a container.
	for f in /proc/[0-9]*/stat; do
		{ read -r stat <"$f"; } 2>/dev/null || continue
		read -r state _ pgrp _ <<<"${stat##*) }"
		if [ "$pgrp" = "$pgid" ] && [ "$state" != Z ]; then
			return 0
		fi
	done
	return 1
}

# _gs_ours PID NAME: is the group led by PID still the one we started?
_gs_ours() {
	local comm

	# While PID is alive it must be our program. Once it is gone, a group
	# with that id can only be ours: Linux does not hand out a pid that is
	# still in use as a process group id.
	if pid_alive "$1" && [ -r "/proc/$1/comm" ]; then
		read -r comm <"/proc/$1/comm" || return 1
		[ "$comm" = "${2:0:15}" ] || return 1
	fi
	return 0
}

# _gs_stop_group PID NAME: TERM the group, wait up to 5 s, then KILL it.
_gs_stop_group() {
	local pid=$1 name=$2

	_gs_group_alive "$pid" || return 0
	if ! _gs_ours "$pid" "$name"; then
		diag "not stopping pid $pid: it is no longer $name"
		return 0
	fi
	kill -TERM -- "-$pid" 2>/dev/null || :
	if ! wait_for -t 5 _gs_group_dead "$pid"; then
		diag "$name (pid $pid) ignored SIGTERM; killing it"
		kill -KILL -- "-$pid" 2>/dev/null || :
		wait_for -t 5 _gs_group_dead "$pid" || :
	fi
	# Reap it if it is our child, so no zombie lingers.
	wait "$pid" 2>/dev/null || :
}

_gs_group_dead() {
	! _gs_group_alive "$1" && ! pid_alive "$1"
}

# stop_servers: stop every recorded process, the last started first.
stop_servers() {
	local f=$TMP/server.pids i
	local -a lines

	[ -n "${TMP:-}" ] && [ -f "$f" ] || return 0
	mapfile -t lines <"$f"
	for ((i = ${#lines[@]} - 1; i >= 0; i--)); do
		# shellcheck disable=SC2086
		_gs_stop_group ${lines[i]}
	done
	rm -f -- "$f"
}

# recorded_pids: the pids stop_servers would stop, one a line.
recorded_pids() {
	[ -f "$TMP/server.pids" ] || return 0
	while read -r pid _; do
		printf '%s\n' "$pid"
	done <"$TMP/server.pids"
}

# _gs_spawn NAME LOG CMD [ARGS...]: start CMD in the background in a new
# session (so it and its children form one process group), with output
# appended to LOG; record it and set GS_PID.
_gs_spawn() {
	local name=$1 log=$2 pidf

	shift 2
	pidf=$(mktemp "$TMP/.spawn.XXXXXX") || return 1
	# setsid(1) forks when its caller leads a process group, so $! is not
	# always the server: have the shell that becomes the server say its
	# pid before it execs.
	# shellcheck disable=SC2016
	setsid sh -c 'echo $$ >"$0"; exec "$@"' "$pidf" "$@" \
	    </dev/null >>"$log" 2>&1 &
	if ! wait_for -t 10 test -s "$pidf"; then
		rm -f -- "$pidf"
		diag "$name: could not start $1"
		return 1
	fi
	read -r GS_PID <"$pidf"
	rm -f -- "$pidf"
	track_pid "$GS_PID" "$name"
}

# ------------------------------------------------------------------
# ports

# port_open PORT: does something accept connections on 127.0.0.1:PORT?
port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# free_port: print a port in 20000-60999 that nothing listens on. Another
# process may take it before the server binds it: callers retry.
free_port() {
	local i p

	for ((i = 0; i < 200; i++)); do
		p=$(( ((RANDOM << 15) | RANDOM) % 41000 + 20000 ))
		if ! port_open "$p"; then
			printf '%s\n' "$p"
			return 0
		fi
	done
	diag "free_port: no free port found"
	return 1
}

# _gs_up_or_dead PID PORT: done waiting, one way or the other.
_gs_up_or_dead() {
	! pid_alive "$1" || port_open "$2"
}

# _gs_wait_up PID PORT: wait until PID accepts connections on PORT; fail if
# it dies first (typically: the port was taken) or takes too long.
_gs_wait_up() {
	wait_for _gs_up_or_dead "$1" "$2" || :
	pid_alive "$1" && port_open "$2"
}

# ------------------------------------------------------------------
# repositories

# _gs_git ARGS...: git with a fixed identity, isolated from the user's and
# the system's configuration, so fixtures are the same on every machine.
_gs_git() {
	GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null \
	    GIT_AUTHOR_NAME="Gitstrap Test" \
	    GIT_AUTHOR_EMAIL=test@gitstrap.invalid \
	    GIT_COMMITTER_NAME="Gitstrap Test" \
	    GIT_COMMITTER_EMAIL=test@gitstrap.invalid \
	    git "$@"
}

# make_bare_repo NAME: create $TMP/git/NAME.git, an empty bare repo whose
# HEAD is main, served by both git daemon and smart HTTP (pushes over HTTP
# allowed, as on a typical hosting service). Prints its path.
make_bare_repo() {
	local dir=$TMP/git/$1.git

	mkdir -p "$TMP/git"
	_gs_git init -q --bare --initial-branch=main "$dir" || return 1
	_gs_git --git-dir="$dir" config http.receivepack true || return 1
	# Exported even by a git daemon started without --export-all.
	: >"$dir/git-daemon-export-ok"
	printf '%s\n' "$dir"
}

# commit_tree BARE DIR MESSAGE [BRANCH]: commit the content of DIR (all of
# it, nothing else) to BRANCH (default main) of the bare repo BARE, on top
# of the branch's current commit. Author, committer and dates are fixed
# (the date advances a minute per commit), so the same content gives the
# same commit ids on every run. Prints the new commit id.
commit_tree() {
	local bare=$1 dir=$2 msg=$3 branch=${4:-main}
	local idx parent n tree commit stamp

	idx=$TMP/.index.$$.$RANDOM
	parent=$(_gs_git --git-dir="$bare" rev-parse -q --verify \
	    "refs/heads/$branch^{commit}") || parent=
	n=0
	if [ -n "$parent" ]; then
		n=$(_gs_git --git-dir="$bare" rev-list --count "$parent") ||
		    return 1
	fi
	stamp="@$((1700000000 + 60 * n)) +0000"
	# A private index: the tree is exactly DIR, whatever the branch held.
	if ! GIT_INDEX_FILE=$idx _gs_git --git-dir="$bare" --work-tree="$dir" \
	    add -A . ||
	    ! tree=$(GIT_INDEX_FILE=$idx _gs_git --git-dir="$bare" write-tree)
	then
		rm -f -- "$idx"
		return 1
	fi
	rm -f -- "$idx"
	commit=$(printf '%s\n' "$msg" |
	    GIT_AUTHOR_DATE=$stamp GIT_COMMITTER_DATE=$stamp \
	    _gs_git --git-dir="$bare" commit-tree "$tree" \
	    ${parent:+-p "$parent"}) || return 1
	_gs_git --git-dir="$bare" update-ref "refs/heads/$branch" "$commit" ||
	    return 1
	printf '%s\n' "$commit"
}

# make_data_tarball DIR OUT [TOP]: pack DIR/TOP (default
# cache_storage_for_open_qa) into the gzipped tarball OUT, entries named
# "./TOP/...", as in the Open QA data repo (so strip_components is 2).
# Entry order, owners, times and the gzip header are fixed, so the same
# files give the same bytes.
make_data_tarball() {
	local dir=$1 out=$2 top=${3:-cache_storage_for_open_qa}
	local -

	set -o pipefail
	tar -C "$dir" --sort=name --mtime=@1700000000 --owner=0 --group=0 \
	    --numeric-owner -cf - "./$top" | gzip -n -9 >"$out"
}

# ------------------------------------------------------------------
# git daemon

# start_git_daemon: serve $TMP/git over git:// on a free port. Sets
# GIT_DAEMON_URL (repos at $GIT_DAEMON_URL/NAME.git) and GIT_DAEMON_PID;
# the daemon logs to $TMP/git-daemon.log.
start_git_daemon() {
	local port log=$TMP/git-daemon.log

	mkdir -p "$TMP/git"
	for _ in 1 2 3 4 5; do
		port=$(free_port) || return 1
		_gs_spawn git-daemon "$log" "$(git --exec-path)/git-daemon" \
		    --reuseaddr --base-path="$TMP/git" --export-all \
		    --listen=127.0.0.1 --port="$port" \
		    --pid-file="$TMP/git-daemon.pid" \
		    --verbose --informative-errors || return 1
		if _gs_wait_up "$GS_PID" "$port"; then
			GIT_DAEMON_URL=git://127.0.0.1:$port
			GIT_DAEMON_PID=$GS_PID
			return 0
		fi
		_gs_stop_group "$GS_PID" git-daemon
	done
	diag "git daemon did not start; the end of $log:" \
	    "$(tail -n 20 "$log")"
	return 1
}

# ------------------------------------------------------------------
# nginx

_gs_nginx_bin() {
	command -v nginx 2>/dev/null || printf '/usr/sbin/nginx\n'
}

# _gs_nginx_prefix KIND: make a fresh prefix dir for one nginx, in
# GS_PREFIX.
_gs_nginx_prefix() {
	GS_NGINX_COUNT=$((GS_NGINX_COUNT + 1))
	GS_PREFIX=$TMP/nginx-$1-$GS_NGINX_COUNT
	mkdir -m 0755 "$GS_PREFIX" "$GS_PREFIX/logs" "$GS_PREFIX/tmp"
}

# _gs_nginx_main PREFIX: the top of an nginx.conf for a foreground nginx
# that keeps all its files in PREFIX.
_gs_nginx_main() {
	local prefix=$1

	cat <<-EOF
	daemon off;
	worker_processes 1;
	pid $prefix/nginx.pid;
	error_log $prefix/logs/error.log notice;
	EOF
	# Run as root (a container, a CI job), nginx hands requests to
	# workers running as nobody, as a production server does: that keeps
	# the tests honest about files a web server must be able to read.
	# Its compiled-in default group ("nobody") does not exist everywhere,
	# so name nobody's own group.
	if [ "$(id -u)" -eq 0 ]; then
		printf 'user nobody %s;\n' "$(id -gn nobody)"
	fi
	cat <<-EOF
	events {
		worker_connections 256;
	}
	EOF
}

# _gs_nginx_http PREFIX: directives every http block here shares.
_gs_nginx_http() {
	local prefix=$1

	cat <<-EOF
		log_format gitstrap '\$request_method \$request_uri \$status \$body_bytes_sent "\$remote_user"';
		access_log $prefix/logs/access.log gitstrap;
		client_body_temp_path $prefix/tmp/client_body;
		fastcgi_temp_path $prefix/tmp/fastcgi;
		proxy_temp_path $prefix/tmp/proxy;
		uwsgi_temp_path $prefix/tmp/uwsgi;
		scgi_temp_path $prefix/tmp/scgi;
	EOF
}

# _gs_nginx_start PREFIX NAME CONFGEN: write PREFIX/nginx.conf with
# "CONFGEN PREFIX PORT" for a free port and start nginx on it, retrying
# with another port if it cannot bind. Sets GS_PID and GS_PORT.
_gs_nginx_start() {
	local prefix=$1 name=$2 gen=$3 port nginx
	local -a eflag=()

	nginx=$(_gs_nginx_bin)
	# -e (nginx 1.19.5) keeps an unprivileged nginx from complaining about
	# the compiled-in error log before it has read the config.
	if "$nginx" -h 2>&1 | grep -q -- '-e filename'; then
		eflag=(-e "$prefix/logs/error.log")
	fi
	for _ in 1 2 3 4 5; do
		port=$(free_port) || return 1
		"$gen" "$prefix" "$port" >"$prefix/nginx.conf" || return 1
		_gs_spawn nginx "$prefix/logs/stderr.log" "$nginx" \
		    -p "$prefix" -c "$prefix/nginx.conf" "${eflag[@]}" ||
		    return 1
		if _gs_wait_up "$GS_PID" "$port"; then
			GS_PORT=$port
			return 0
		fi
		_gs_stop_group "$GS_PID" nginx
	done
	diag "$name: nginx did not start; the end of its logs:" \
	    "$(tail -n 20 "$prefix/logs/stderr.log" "$prefix/logs/error.log" \
	    2>&1)"
	return 1
}

# ------------------------------------------------------------------
# smart HTTP: nginx + fcgiwrap + git-http-backend

# Config generator for start_http_git; GS_HTTP_SOCK and GS_HTTP_AUTH are
# set by the caller.
_gs_http_git_conf() {
	local prefix=$1 port=$2 auth='' tls=';'

	if [ -n "$GS_HTTP_AUTH" ]; then
		auth="auth_basic \"git\";
		auth_basic_user_file $prefix/htpasswd;"
	fi
	if [ -n "$GS_HTTP_TLS" ]; then
		tls="ssl;
			ssl_certificate ${GS_HTTP_TLS%%:*};
			ssl_certificate_key ${GS_HTTP_TLS#*:};"
	fi
	_gs_nginx_main "$prefix"
	cat <<-EOF
	http {
	$(_gs_nginx_http "$prefix")
		server {
			listen 127.0.0.1:$port $tls
			server_name localhost;
			# Pushes and big fetches: no body size limit.
			client_max_body_size 0;
			$auth

			location / {
				fastcgi_pass unix:$GS_HTTP_SOCK;
				fastcgi_param SCRIPT_FILENAME $(git --exec-path)/git-http-backend;
				fastcgi_param GIT_PROJECT_ROOT $TMP/git;
				fastcgi_param GIT_HTTP_EXPORT_ALL 1;
				fastcgi_param PATH_INFO \$uri;
				fastcgi_param QUERY_STRING \$query_string;
				fastcgi_param REQUEST_METHOD \$request_method;
				fastcgi_param CONTENT_TYPE \$content_type;
				fastcgi_param CONTENT_LENGTH \$content_length;
				fastcgi_param REMOTE_USER \$remote_user;
				fastcgi_param REMOTE_ADDR \$remote_addr;
				fastcgi_param SERVER_PROTOCOL \$server_protocol;
				# Protocol v2 for clients that ask, like a stock server.
				fastcgi_param GIT_PROTOCOL \$http_git_protocol;
			}
		}
	}
	EOF
}

# start_http_git [--auth USER:PASS] [--tls CERT:KEY]: serve $TMP/git over
# smart HTTP on a free port, with HTTP basic auth and HTTPS when asked. Sets HTTP_GIT_URL (repos at
# $HTTP_GIT_URL/NAME.git), HTTP_GIT_ACCESS_LOG and HTTP_GIT_PID (nginx).
# Each call starts a new server; save the variables to use several.
start_http_git() {
	local auth='' tls='' prefix fcgiwrap=/usr/sbin/fcgiwrap

	while [ $# -gt 0 ]; do
		case $1 in
		--auth)	auth=$2; shift 2 ;;
		--tls)	tls=$2; shift 2 ;;
		*)	diag "start_http_git: unknown option $1"; return 2 ;;
		esac
	done
	_gs_nginx_prefix git || return 1
	prefix=$GS_PREFIX
	mkdir -p "$TMP/git"

	# fcgiwrap runs git-http-backend for each request, as the user
	# running the tests, who owns the repos.
	GS_HTTP_SOCK=$prefix/fcgiwrap.sock
	_gs_spawn fcgiwrap "$prefix/logs/fcgiwrap.log" "$fcgiwrap" -f -c 4 \
	    -s "unix:$GS_HTTP_SOCK" || return 1
	if ! wait_for -t 10 test -S "$GS_HTTP_SOCK"; then
		diag "fcgiwrap did not create its socket:" \
		    "$(tail -n 20 "$prefix/logs/fcgiwrap.log")"
		return 1
	fi
	# Under root the nginx workers run as nobody (see _gs_nginx_main) and
	# must be able to connect: open the socket to everyone. It is the
	# robust choice over running the workers as root: only this socket
	# is opened up, and it lives in a private dir of the test.
	chmod 0666 "$GS_HTTP_SOCK"

	GS_HTTP_AUTH=$auth
	GS_HTTP_TLS=$tls
	if [ -n "$auth" ]; then
		printf '%s:%s\n' "${auth%%:*}" \
		    "$(openssl passwd -apr1 "${auth#*:}")" >"$prefix/htpasswd" ||
		    return 1
		chmod 0644 "$prefix/htpasswd"
	fi
	_gs_nginx_start "$prefix" start_http_git _gs_http_git_conf || return 1
	HTTP_GIT_URL=http${tls:+s}://127.0.0.1:$GS_PORT
	HTTP_GIT_ACCESS_LOG=$prefix/logs/access.log
	HTTP_GIT_PID=$GS_PID
	HTTP_GIT_PREFIX=$prefix
}

# stop_http_git / restart_http_git: take the last smart-HTTP server down
# (its nginx; fcgiwrap stays), and bring it back on the same port, as a
# server that goes away and comes back would.
stop_http_git() {
	_gs_stop_group "$HTTP_GIT_PID" nginx
}

restart_http_git() {
	local port=${HTTP_GIT_URL##*:}
	local -a eflag=()

	if "$(_gs_nginx_bin)" -h 2>&1 | grep -q -- '-e filename'; then
		eflag=(-e "$HTTP_GIT_PREFIX/logs/error.log")
	fi
	_gs_spawn nginx "$HTTP_GIT_PREFIX/logs/stderr.log" "$(_gs_nginx_bin)" \
	    -p "$HTTP_GIT_PREFIX" -c "$HTTP_GIT_PREFIX/nginx.conf" "${eflag[@]}" ||
	    return 1
	_gs_wait_up "$GS_PID" "$port" || return 1
	HTTP_GIT_PID=$GS_PID
}

# http_log_count METHOD URI_REGEX [LOG]: how many requests in the access
# log (default $HTTP_GIT_ACCESS_LOG) had METHOD and a URI matching the
# extended regular expression (anchored at both ends).
#	http_log_count POST '/data\.git/git-upload-pack'
http_log_count() {
	local log=${3:-$HTTP_GIT_ACCESS_LOG}

	[ -f "$log" ] || { printf '0\n'; return 0; }
	awk -v m="$1" -v re="^$2\$" '$1 == m && $2 ~ re { n++ }
	    END { print n + 0 }' "$log"
}

# http_log_mark [URL] [LOG]: request a marker URL from the server (default
# the smart-HTTP one) and wait for it to show in its access log. nginx
# logs a request once it is done, which can be a moment after the client
# has its answer: after a mark, every earlier request is in the log.
http_log_mark() {
	local url=${1:-$HTTP_GIT_URL} log=${2:-$HTTP_GIT_ACCESS_LOG} mark

	mark=/.mark-$$-$RANDOM$RANDOM
	curl -s -o /dev/null "$url$mark" || :
	wait_for grep -q -F " $mark " "$log"
}

# ------------------------------------------------------------------
# static web server

_gs_web_conf() {
	local prefix=$1 port=$2

	_gs_nginx_main "$prefix"
	cat <<-EOF
	http {
	$(_gs_nginx_http "$prefix")
		types {
			text/html html htm;
			text/css css;
			text/plain txt;
			application/json json;
			application/javascript js;
			image/png png;
			image/svg+xml svg;
		}
		default_type application/octet-stream;
		# The root is a symlink that gets switched: follow symlinks (the
		# default, said aloud) and cache no file lookups, so each request
		# sees the release the link points to now.
		disable_symlinks off;
		open_file_cache off;

		server {
			listen 127.0.0.1:$port;
			server_name localhost;
			root $GS_WEB_ROOT;
			index index.html;
		}
	}
	EOF
}

# start_web DIR: serve DIR (typically a symlink gitstrap switches) as
# static files on a free port. Sets WEB_URL, WEB_ACCESS_LOG and WEB_PID.
start_web() {
	local prefix

	GS_WEB_ROOT=$1
	_gs_nginx_prefix web || return 1
	prefix=$GS_PREFIX
	_gs_nginx_start "$prefix" start_web _gs_web_conf || return 1
	WEB_URL=http://127.0.0.1:$GS_PORT
	WEB_ACCESS_LOG=$prefix/logs/access.log
	WEB_PID=$GS_PID
}

# ------------------------------------------------------------------
# TLS and SSH

# make_tls_cert: a private CA ($TMP/tls/ca.pem) and a server certificate
# for localhost (and 127.0.0.1) signed by it ($TMP/tls/server.pem, server.key); also a
# self-signed certificate no one trusts ($TMP/tls/self.pem, self.key).
make_tls_cert() {
	local d=$TMP/tls

	mkdir -p "$d"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=gitstrap-test-ca \
	    -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null || return 1
	openssl req -newkey rsa:2048 -nodes -subj /CN=localhost \
	    -keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null || return 1
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$d/ext"
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
	    -CAcreateserial -days 2 -extfile "$d/ext" -out "$d/server.pem" \
	    2>/dev/null || return 1
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
	    -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
	    -keyout "$d/self.key" -out "$d/self.pem" 2>/dev/null || return 1
	chmod 0644 "$d"/*.key
}

# start_sshd: an sshd on 127.0.0.1 that lets the current user in with a
# fresh key (only root can run a full sshd). Sets SSH_PORT, SSH_KEY (the
# client's private key), SSH_KNOWN_HOSTS (a known_hosts naming the host
# key) and SSH_OTHER_KNOWN_HOSTS (the same host with another key).
start_sshd() {
	local d=$TMP/sshd port try

	mkdir -p "$d" /run/sshd
	chmod 0755 "$d"
	ssh-keygen -q -t ed25519 -N '' -f "$d/host_key" || return 1
	ssh-keygen -q -t ed25519 -N '' -f "$d/other_host_key" || return 1
	ssh-keygen -q -t ed25519 -N '' -f "$d/client_key" || return 1
	cp "$d/client_key.pub" "$d/authorized_keys"
	for try in 1 2 3 4 5; do
		port=$(free_port) || return 1
		cat >"$d/sshd_config" <<-EOF
		Port $port
		ListenAddress 127.0.0.1
		HostKey $d/host_key
		PidFile $d/sshd.pid
		AuthorizedKeysFile $d/authorized_keys
		StrictModes no
		UsePAM no
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		PermitRootLogin prohibit-password
		LogLevel VERBOSE
		EOF
		_gs_spawn sshd "$d/sshd.log" /usr/sbin/sshd -D -e -f "$d/sshd_config" ||
		    return 1
		if _gs_wait_up "$GS_PID" "$port"; then
			SSH_PORT=$port
			SSH_KEY=$d/client_key
			printf '[127.0.0.1]:%s %s\n' "$port" \
			    "$(cut -d' ' -f1,2 "$d/host_key.pub")" >"$d/known_hosts"
			printf '[127.0.0.1]:%s %s\n' "$port" \
			    "$(cut -d' ' -f1,2 "$d/other_host_key.pub")" >"$d/other_known_hosts"
			SSH_KNOWN_HOSTS=$d/known_hosts
			SSH_OTHER_KNOWN_HOSTS=$d/other_known_hosts
			return 0
		fi
		_gs_stop_group "$GS_PID" sshd
	done
	diag "sshd did not start:" "$(tail -n 20 "$d/sshd.log")"
	return 1
}

# ------------------------------------------------------------------
# webhook receiver: nginx + fcgiwrap running a CGI script that appends
# each request's body to $HOOK_LOG and answers 204

_gs_hook_conf() {
	local prefix=$1 port=$2

	_gs_nginx_main "$prefix"
	cat <<-EOF
	http {
	$(_gs_nginx_http "$prefix")
		server {
			listen 127.0.0.1:$port;
			location / {
				fastcgi_pass unix:$GS_HOOK_SOCK;
				fastcgi_param SCRIPT_FILENAME $prefix/hook.cgi;
				fastcgi_param REQUEST_METHOD \$request_method;
				fastcgi_param CONTENT_TYPE \$content_type;
				fastcgi_param CONTENT_LENGTH \$content_length;
			}
		}
	}
	EOF
}

start_hook_sink() {
	local prefix

	_gs_nginx_prefix hook || return 1
	prefix=$GS_PREFIX
	HOOK_LOG=$prefix/bodies.log
	: >"$HOOK_LOG"
	chmod 0666 "$HOOK_LOG"
	cat >"$prefix/hook.cgi" <<-EOF
	#!/bin/sh
	head -c "\${CONTENT_LENGTH:-0}" >>"$HOOK_LOG"
	echo >>"$HOOK_LOG"
	printf 'Status: 204 No Content\r\n\r\n'
	EOF
	chmod 0755 "$prefix/hook.cgi"
	GS_HOOK_SOCK=$prefix/fcgiwrap.sock
	_gs_spawn fcgiwrap "$prefix/logs/fcgiwrap.log" /usr/sbin/fcgiwrap -f -c 2 \
	    -s "unix:$GS_HOOK_SOCK" || return 1
	wait_for -t 10 test -S "$GS_HOOK_SOCK" || return 1
	chmod 0666 "$GS_HOOK_SOCK"
	_gs_nginx_start "$prefix" start_hook_sink _gs_hook_conf || return 1
	HOOK_URL=http://127.0.0.1:$GS_PORT/hooks/T0KEN-in-path
}

# ------------------------------------------------------------------
# instance metadata: fake-imds.py, a fake EC2 metadata service

GS_IMDS_COUNT=0

_gs_imds_up_or_dead() {
	! pid_alive "$1" || test -s "$2"
}

# start_fake_imds [fake-imds.py OPTIONS]: a fake metadata service on a free
# port of 127.0.0.1 (see fake-imds.py for the modes). Sets IMDS_URL,
# IMDS_PID and IMDS_LOG (one request a line: METHOD PATH STATUS
# token=yes|no). With --slow-start or --bind-when it returns at once: the
# port is chosen but refuses connections until the server binds it.
start_fake_imds() {
	local dir i port a slow=0

	for a; do
		case $a in
		--slow-start | --bind-when) slow=1 ;;
		esac
	done
	GS_IMDS_COUNT=$((GS_IMDS_COUNT + 1))
	dir=$TMP/imds-$GS_IMDS_COUNT
	mkdir -p "$dir"
	IMDS_LOG=$dir/requests.log
	: >"$IMDS_LOG"
	for ((i = 0; i < 5; i++)); do
		port=$(free_port) || return 1
		rm -f -- "$dir/port"
		_gs_spawn python3 "$dir/server.log" /usr/bin/python3 \
		    "${BASH_SOURCE[0]%/*}/fake-imds.py" --port "$port" \
		    --port-file "$dir/port" --log "$IMDS_LOG" "$@" || return 1
		IMDS_PID=$GS_PID
		IMDS_URL=http://127.0.0.1:$port
		[ "$slow" = 1 ] && return 0
		wait_for _gs_imds_up_or_dead "$IMDS_PID" "$dir/port" || :
		if pid_alive "$IMDS_PID" && test -s "$dir/port"; then
			return 0
		fi
	done
	diag "start_fake_imds: could not start" "$(cat "$dir/server.log")"
	return 1
}
