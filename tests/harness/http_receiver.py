#!/usr/bin/python3
"""A throw-away HTTP receiver for Rampart's webhook tests (Python's own http.server).

Listens on 127.0.0.1:PORT and records each POST as OUT/N.json: the path, the headers and the
body. POST /fail answers 500 with a long body; POST /moved answers 302 to /elsewhere; when a
token file is given, a request without "Authorization: Bearer <token>" answers 401; anything
else answers 200. The token comes from a file so that it is never on a command line.
"""
import argparse
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def make_handler(out, token):
    counter = {"n": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            counter["n"] += 1
            base = os.path.join(out, str(counter["n"]))
            with open(base + ".json.tmp", "w") as f:
                json.dump({"path": self.path, "headers": dict(self.headers.items()),
                           "body": body.decode("utf-8", "replace")}, f)
            os.rename(base + ".json.tmp", base + ".json")
            if token and self.headers.get("Authorization") != "Bearer " + token:
                self.answer(401, b"missing or wrong bearer token")
            elif self.path == "/fail":
                self.answer(500, b"internal trouble: " + b"x" * 400)
            elif self.path == "/moved":
                self.send_response(302)
                self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self.answer(200, b"ok")

        def answer(self, status, body):
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--token-file", default="")
    args = p.parse_args()
    token = ""
    if args.token_file:
        with open(args.token_file) as f:
            token = f.read().rstrip("\n")
    ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(args.out, token)).serve_forever()


if __name__ == "__main__":
    main()
