#!/usr/bin/python3
"""A fake EC2 instance metadata service for the integration tests.

It speaks the protocol as EC2 does, on 127.0.0.1 only:

  PUT /latest/api/token  with X-aws-ec2-metadata-token-ttl-seconds: 1..21600
                         -> 200, the token, echoing the TTL header;
                         without the TTL header -> 400; proxied
                         (X-Forwarded-For) -> 403
  GET /latest/...        with X-aws-ec2-metadata-token: the token; without
                         it -> 401 when tokens are required (IMDSv2 only),
                         a wrong token -> 401

Modes (--mode):
  v2         tokens required (http-tokens=required)
  optional   tokens accepted, not required (EC2's default before 2024)
  v1         no token endpoint: PUT -> 404 (older EC2 compatible clouds)
  v1-405     PUT -> 405 Method Not Allowed
  forbidden  PUT -> 403 (the metadata service is disabled)

--slow-start SECONDS binds the port only after that long, so connections
are refused until then, as at boot; --bind-when FILE binds it once FILE
exists, for tests that must not depend on timing. --no-user-data answers 404 for
/latest/user-data, as EC2 does for an instance launched without it.
Meta-data keys come from --meta KEY=VALUE (e.g. instance-id=i-0abc,
placement/region=us-east-1); keys not given answer 404.

Each request is appended to --log as one line:
  METHOD PATH STATUS token=yes|no
(the token itself is never written). The port is written to --port-file
once it is bound. --token-file FILE gets each token issued, so that a
test can check that none reached a log.
"""

import argparse
import http.server
import os
import secrets
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--mode", default="v2",
                    choices=["v2", "optional", "v1", "v1-405", "forbidden"])
    ap.add_argument("--user-data")
    ap.add_argument("--no-user-data", action="store_true")
    ap.add_argument("--meta", action="append", default=[])
    ap.add_argument("--slow-start", type=float, default=0)
    ap.add_argument("--bind-when",
                    help="bind only once this file exists")
    ap.add_argument("--token-file",
                    help="append each token issued, for leak checks")
    args = ap.parse_args()

    meta = {}
    for kv in args.meta:
        k, _, v = kv.partition("=")
        meta[k] = v.encode()
    user_data = None
    if args.user_data and not args.no_user_data:
        with open(args.user_data, "rb") as f:
            user_data = f.read()
    tokens = set()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "EC2ws"
        sys_version = ""

        def log_message(self, fmt, *a):
            pass

        def record(self, status):
            has = "yes" if self.headers.get(
                "X-aws-ec2-metadata-token") else "no"
            with open(args.log, "a") as f:
                f.write("%s %s %d token=%s\n" %
                        (self.command, self.path, status, has))

        def reply(self, status, body=b"", extra=()):
            self.record(status)
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Accept-Ranges", "none")
            for k, v in extra:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            self.close_connection = True

        def do_PUT(self):
            n = int(self.headers.get("Content-Length") or 0)
            if n:
                self.rfile.read(n)
            if self.path != "/latest/api/token":
                return self.reply(405 if args.mode != "v1" else 404)
            if args.mode == "v1":
                return self.reply(404, b"Not Found")
            if args.mode == "v1-405":
                return self.reply(405, b"Method Not Allowed")
            if args.mode == "forbidden":
                return self.reply(403, b"Forbidden")
            if self.headers.get("X-Forwarded-For"):
                return self.reply(403, b"Forbidden")
            ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
            try:
                ok = ttl is not None and 1 <= int(ttl) <= 21600
            except ValueError:
                ok = False
            if not ok:
                return self.reply(400, b"Bad Request")
            tok = "AQAEA" + secrets.token_urlsafe(40)
            tokens.add(tok)
            if args.token_file:
                with open(args.token_file, "a") as f:
                    f.write(tok + "\n")
            self.reply(200, tok.encode(),
                       [("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", ttl)])

        def do_GET(self):
            tok = self.headers.get("X-aws-ec2-metadata-token")
            if args.mode in ("v2", "optional") and tok is not None \
                    and tok not in tokens:
                return self.reply(401, b"Unauthorized")
            if args.mode == "v2" and tok is None:
                return self.reply(401, b"Unauthorized")
            if self.path == "/latest/user-data":
                if user_data is None:
                    return self.reply(404, b"Not Found")
                return self.reply(200, user_data)
            prefix = "/latest/meta-data/"
            if self.path.startswith(prefix) and \
                    self.path[len(prefix):] in meta:
                return self.reply(200, meta[self.path[len(prefix):]])
            self.reply(404, b"Not Found")

    if args.slow_start > 0:
        time.sleep(args.slow_start)
    while args.bind_when and not os.path.exists(args.bind_when):
        time.sleep(0.05)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    with open(args.port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(args.port_file + ".tmp", args.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
