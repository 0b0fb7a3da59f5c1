#!/usr/bin/env python3
"""A Docker Hub-style token server for registry tests (the realm of distribution's
`auth: token`): GET /token?service=S&scope=repository:NAME:ACTIONS, with optional Basic
credentials. Anonymous callers get "pull" on repositories outside private/; the test user
gets what it asks for; wrong credentials get 401. Tokens are RS256 JWTs signed with the
openssl CLI; "kid" is the libtrust fingerprint distribution looks up in its rootcertbundle.
Loopback only, stdlib only. Not secure: a test fixture."""
import argparse, base64, hashlib, json, subprocess, sys, time, uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def kid_of(key):
    der = subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    s = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(s[i:i + 4] for i in range(0, len(s), 4))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    cfg = None

    def log_message(self, fmt, *args):
        sys.stderr.write("token: " + (fmt % args) + "\n")

    def reply(self, code, obj, headers=()):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        c = self.cfg
        u = urlparse(self.path)
        if u.path != "/token":
            return self.reply(404, {"error": "not found"})
        q = parse_qs(u.query)
        user = password = None
        ah = self.headers.get("Authorization", "")
        if ah.lower().startswith("basic "):
            user, _, password = base64.b64decode(ah[6:].strip()).decode().partition(":")
        if user is not None and c.users.get(user) != password:
            return self.reply(401, {"details": "incorrect username or password"},
                              [("WWW-Authenticate", 'Basic realm="token-server"')])
        with open(c.log, "a") as f:
            f.write(" ".join(q.get("scope", [])) + "\n")
        access = []
        for sc in (s for v in q.get("scope", []) for s in v.split(" ") if s):
            parts = sc.split(":")
            if len(parts) < 3:
                continue
            typ, name, actions = parts[0], ":".join(parts[1:-1]), parts[-1].split(",")
            if user is None:
                actions = [a for a in actions if a == "pull"] \
                    if typ == "repository" and not name.startswith("private/") else []
            access.append({"type": typ, "name": name, "actions": actions})
        now = int(time.time())
        hdr = {"typ": "JWT", "alg": "RS256", "kid": c.kid}
        claims = {"iss": c.issuer, "sub": user or "", "aud": q.get("service", [c.service])[0],
                  "exp": now + c.ttl, "nbf": now - 1, "iat": now, "jti": uuid.uuid4().hex,
                  "access": access}
        signing = (b64url(json.dumps(hdr).encode()) + "." + b64url(json.dumps(claims).encode()))
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", c.key],
                             input=signing.encode(), check=True, capture_output=True).stdout
        tok = signing + "." + b64url(sig)
        self.reply(200, {"token": tok, "access_token": tok, "expires_in": c.ttl})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", default="127.0.0.1:5003")
    ap.add_argument("--key", required=True)
    ap.add_argument("--issuer", default="berth-test-issuer")
    ap.add_argument("--service", default="berth-test-registry")
    ap.add_argument("--user", action="append", default=[])
    ap.add_argument("--ttl", type=int, default=300)
    ap.add_argument("--log", required=True, help="file that gets each request's scopes")
    a = ap.parse_args()
    host, port = a.listen.rsplit(":", 1)
    if host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("loopback only")
    a.users = dict(u.split(":", 1) for u in a.user)
    a.kid = kid_of(a.key)
    Handler.cfg = a
    ThreadingHTTPServer((host, int(port)), Handler).serve_forever()


if __name__ == "__main__":
    main()
