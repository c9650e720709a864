"""A real SMTP server for the e-mail system test: aiosmtpd (Debian's
python3-aiosmtpd) serving on the listening socket passed as file
descriptor 3, so that the test picks the port by binding 127.0.0.1:0 and
nothing is closed and bound again.

    smtpd.py MAILDIR CERT KEY

Every mail it accepts goes to the Maildir MAILDIR (created). It offers
STARTTLS with CERT and KEY and requires it before anything else, and
requires AUTH (PLAIN or LOGIN, over TLS only) as SMTPD_USER with
SMTPD_PASSWORD from the environment. It prints "ready" once it accepts
connections and serves until it is killed.
"""

import asyncio
import os
import socket
import ssl
import sys

from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def main() -> None:
    maildir, cert, key = sys.argv[1:4]
    user = os.environ["SMTPD_USER"].encode()
    password = os.environ["SMTPD_PASSWORD"].encode()
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)

    def authenticator(server, session, envelope, mechanism, data):
        ok = isinstance(data, LoginPassword) and data.login == user and data.password == password
        return AuthResult(success=ok, handled=False)

    handler = Mailbox(maildir)

    def protocol() -> SMTP:
        return SMTP(handler, hostname="mx.test", tls_context=tls, require_starttls=True,
                    authenticator=authenticator, auth_required=True, auth_require_tls=True)

    loop = asyncio.new_event_loop()
    sock = socket.socket(fileno=3)
    loop.run_until_complete(loop.create_server(protocol, sock=sock))
    print("ready", flush=True)
    loop.run_forever()


if __name__ == "__main__":
    main()
