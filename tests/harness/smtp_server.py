#!/usr/bin/python3
"""A throw-away SMTP submission server for Rampart's notify tests (Debian python3-aiosmtpd).

Listens on 127.0.0.1:PORT, offers STARTTLS with the given certificate, and, when a password
file is given, requires AUTH (PLAIN or LOGIN) after STARTTLS. Each accepted message is written
to OUT/N.eml (the bytes as received after the DATA dot-unstuffing) with OUT/N.json beside it
(the envelope, whether TLS was on, who logged in). The password comes from a file so that it
is never on a command line.
"""
import argparse
import asyncio
import json
import os
import ssl

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Recorder:
    def __init__(self, out):
        self.out = out
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = os.path.join(self.out, str(self.count))
        with open(base + ".eml", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        data = session.auth_data
        login = data.login.decode("utf-8", "replace") if isinstance(data, LoginPassword) else None
        with open(base + ".json.tmp", "w") as f:
            json.dump({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                       "tls": session.ssl is not None, "login": login}, f)
        os.rename(base + ".json.tmp", base + ".json")
        return "250 2.0.0 Message accepted"


class Authenticator:
    def __init__(self, user, password):
        self.user = user.encode()
        self.password = password.encode()

    def __call__(self, server, session, envelope, mechanism, auth_data):
        if (isinstance(auth_data, LoginPassword) and auth_data.login == self.user
                and auth_data.password == self.password):
            return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=False, handled=False)


async def serve(args):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)
    options = {"hostname": "localhost", "tls_context": context, "require_starttls": True}
    if args.password_file:
        with open(args.password_file) as f:
            password = f.read().rstrip("\n")
        options.update(authenticator=Authenticator(args.user, password), auth_required=True,
                       auth_require_tls=True)
    recorder = Recorder(args.out)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(recorder, **options), "127.0.0.1", args.port)
    async with server:
        await server.serve_forever()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--user", default="")
    p.add_argument("--password-file", default="")
    asyncio.run(serve(p.parse_args()))


if __name__ == "__main__":
    main()
