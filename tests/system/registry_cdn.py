#!/usr/bin/env python3
"""A stand-in for Docker Hub's blob CDN in registry tests: serves the registry's storage
root read-only, the target of distribution's `redirect` middleware. Like an S3 presigned URL
it answers 400 to any request that carries Authorization (a client that leaks the
registry's token across the redirect fails). Loopback only, stdlib only."""
import functools, sys
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer


class CDN(SimpleHTTPRequestHandler):
    def leak(self):
        if not self.headers.get("Authorization"):
            return False
        self.send_error(400, "Authorization must not be sent to the blob CDN")
        return True

    def do_GET(self):
        if not self.leak():
            super().do_GET()

    def do_HEAD(self):
        if not self.leak():
            super().do_HEAD()

    def list_directory(self, path):
        self.send_error(403, "no listing")

    def log_message(self, fmt, *args):
        sys.stderr.write("cdn: " + (fmt % args) + "\n")


if __name__ == "__main__":
    host, port = sys.argv[1].rsplit(":", 1)
    if host != "127.0.0.1":
        sys.exit("loopback only")
    ThreadingHTTPServer((host, int(port)),
                        functools.partial(CDN, directory=sys.argv[2])).serve_forever()
