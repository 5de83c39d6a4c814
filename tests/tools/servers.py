#!/usr/bin/env python3
"""Stand-ins for the servers kubectl and git talk to, for tests/tools.rs.

  servers.py kube --cert PEM --key PEM --userinfo URL
      A Kubernetes API server on https://127.0.0.1:PORT that answers `GET /api` with a
      minimal APIVersions document, for bearer tokens only.
  servers.py git --root DIR --userinfo URL [--reject-once FILE] [--log FILE]
      A smart-HTTP git server on http://127.0.0.1:PORT: `git http-backend` (CGI) over the
      bare repositories in DIR, for HTTP Basic credentials whose password is a token.
      While FILE exists, the next authenticated request is refused (401) and FILE removed,
      as a server that revoked the token would. Each accepted token is appended to --log.

A token is accepted when the provider's userinfo endpoint accepts it (GET with the
token as bearer answers 200). Listens on loopback only; prints one JSON line
{"url": ...} once it listens, then serves until killed.
"""

import argparse
import base64
import json
import os
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 16 * 1024 * 1024


def provider_accepts(userinfo, token):
    req = urllib.request.Request(userinfo, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status == 200
    except urllib.error.HTTPError:
        return False


class Handler(BaseHTTPRequestHandler):
    args = None

    def log_message(self, fmt, *a):  # quiet: the test reads stdout for the URL only
        sys.stderr.write("servers.py: " + (fmt % a) + "\n")

    def reply(self, status, body, headers=()):
        body = body if isinstance(body, bytes) else body.encode()
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
                if len(out) > MAX_BODY:
                    raise ValueError("body too large")
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            raise ValueError("body too large")
        return self.rfile.read(n)

    # ---- kube
    def kube(self):
        auth = self.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else ""
        if not token or not provider_accepts(self.args.userinfo, token):
            status = {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                      "reason": "Unauthorized", "code": 401, "message": "Unauthorized"}
            return self.reply(401, json.dumps(status), [("Content-Type", "application/json")])
        if self.path.split("?")[0] != "/api":
            return self.reply(404, "{}", [("Content-Type", "application/json")])
        host = f"127.0.0.1:{self.server.server_address[1]}"
        doc = {"kind": "APIVersions", "versions": ["v1"],
               "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": host}]}
        self.reply(200, json.dumps(doc), [("Content-Type", "application/json")])

    # ---- git
    def git(self):
        challenge = [("WWW-Authenticate", 'Basic realm="pixie-test"')]
        auth = self.headers.get("Authorization", "")
        token = None
        if auth.startswith("Basic "):
            try:
                _, _, token = base64.b64decode(auth[6:]).decode().partition(":")
            except ValueError:
                token = None
        if not token or not provider_accepts(self.args.userinfo, token):
            return self.reply(401, "unauthorized\n", challenge)
        if self.args.reject_once and os.path.exists(self.args.reject_once):
            os.remove(self.args.reject_once)
            return self.reply(401, "token revoked\n", challenge)
        if self.args.log:
            with open(self.args.log, "a") as f:
                f.write(token + "\n")
        path, _, query = self.path.partition("?")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": self.args.root,
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "REMOTE_USER": "pixie-test",
            "REMOTE_ADDR": "127.0.0.1",
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
        }
        for header, var in [("Git-Protocol", "HTTP_GIT_PROTOCOL"),
                            ("Content-Encoding", "HTTP_CONTENT_ENCODING")]:
            if self.headers.get(header):
                env[var] = self.headers[header]
        body = self.body() if self.command == "POST" else b""
        env["CONTENT_LENGTH"] = str(len(body))
        out = subprocess.run(["git", "http-backend"], input=body, env=env,
                             capture_output=True, check=False).stdout
        sep = out.find(b"\r\n\r\n")
        head, rest = (out[:sep], out[sep + 4:]) if sep >= 0 else out.split(b"\n\n", 1)
        status, headers = 200, []
        for line in head.decode("latin-1").splitlines():
            k, _, v = line.partition(":")
            if k.lower() == "status":
                status = int(v.strip().split()[0])
            elif k:
                headers.append((k, v.strip()))
        self.reply(status, rest, headers)

    def handle_one(self):
        try:
            (self.kube if self.args.mode == "kube" else self.git)()
        except Exception as e:  # a broken request must not kill the server
            sys.stderr.write(f"servers.py: {e!r}\n")
            self.reply(500, "error\n")

    do_GET = do_POST = handle_one


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["kube", "git"])
    p.add_argument("--userinfo", required=True)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--root")
    p.add_argument("--reject-once")
    p.add_argument("--log")
    Handler.args = p.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    scheme = "http"
    if Handler.args.mode == "kube":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(Handler.args.cert, Handler.args.key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    print(json.dumps({"url": f"{scheme}://127.0.0.1:{server.server_address[1]}"}), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
