#!/usr/bin/python3
# selftest/suites/gss_clients.py: Python clients of the array, Kerberos
# through python3-gssapi, for array_clients.sh and the demo.
#
#   gss_clients.py http URL [COUNT]
#       urllib (the standard library) with HTTP Negotiate (RFC 4559): a
#       GET, the 401 challenge answered with a SPNEGO token, the server's
#       mutual-authentication token checked;
#   gss_clients.py imap HOST [COUNT]
#       imaplib (the standard library) with AUTHENTICATE GSSAPI (RFC 4752),
#       then SELECT INBOX and LOGOUT.
#
# One line per attempt on standard output: "OK <detail>" or "FAIL
# <reason>" (for http the detail is the member the page names).  Exit 0
# when every attempt succeeded.  The ticket cache is the one KRB5CCNAME
# names; nothing here reads a password.

import imaplib
import sys


SPNEGO = "1.3.6.1.5.5.2"


def http_once(url):
    import base64
    import urllib.error
    import urllib.parse
    import urllib.request

    import gssapi

    try:
        urllib.request.urlopen(url, timeout=20)
        return "FAIL no challenge: the page came without authentication"
    except urllib.error.HTTPError as e:
        if e.code != 401 or e.headers.get("WWW-Authenticate") != "Negotiate":
            return "FAIL http %d %s" % (e.code,
                                        e.headers.get("WWW-Authenticate"))
    host = urllib.parse.urlsplit(url).hostname
    ctx = gssapi.SecurityContext(
        name=gssapi.Name("HTTP@" + host, gssapi.NameType.hostbased_service),
        mech=gssapi.OID.from_int_seq(SPNEGO), usage="initiate",
        flags=[gssapi.RequirementFlag.mutual_authentication])
    token = base64.b64encode(ctx.step()).decode()
    req = urllib.request.Request(
        url, headers={"Authorization": "Negotiate " + token})
    try:
        r = urllib.request.urlopen(req, timeout=20)
    except urllib.error.HTTPError as e:
        return "FAIL http %d with a token" % e.code
    # the server proves it has the key too
    answer = r.headers.get("WWW-Authenticate", "")
    if not answer.startswith("Negotiate "):
        return "FAIL no mutual authentication token"
    ctx.step(base64.b64decode(answer.split(" ", 1)[1]))
    if not ctx.complete:
        return "FAIL mutual authentication incomplete"
    # "array member m1 (m1.<domain>)"
    words = r.read().decode(errors="replace").split()
    member = words[2] if len(words) > 2 else "?"
    return "OK %s" % member


class GssapiSasl:
    """The client side of SASL GSSAPI (RFC 4752) for imaplib.authenticate:
    called with each server challenge (decoded), returns the response."""

    def __init__(self, host):
        import gssapi

        self.gssapi = gssapi
        name = gssapi.Name("imap@" + host,
                           gssapi.NameType.hostbased_service)
        self.ctx = gssapi.SecurityContext(
            name=name, usage="initiate",
            flags=[gssapi.RequirementFlag.mutual_authentication])
        self.started = False
        self.done = False

    def __call__(self, challenge):
        if not self.started:
            self.started = True
            return self.ctx.step()
        if not self.ctx.complete:
            token = self.ctx.step(challenge or None)
            return token or b""
        if self.done:
            return b""
        # The server's security layer offer: take none (bit 1), no
        # maximum size, no authorization identity.
        offer = self.ctx.unwrap(challenge).message
        if len(offer) != 4 or not offer[0] & 1:
            raise RuntimeError("server offers no 'no security layer'")
        self.done = True
        return self.ctx.wrap(b"\x01\x00\x00\x00", False).message


def imap_once(host):
    imap = imaplib.IMAP4(host, 143, timeout=20)
    try:
        if "AUTH=GSSAPI" not in imap.capabilities:
            return "FAIL no AUTH=GSSAPI in %s" % " ".join(imap.capabilities)
        typ, _ = imap.authenticate("GSSAPI", GssapiSasl(host))
        if typ != "OK":
            return "FAIL authenticate %s" % typ
        typ, _ = imap.select("INBOX")
        if typ != "OK":
            return "FAIL select %s" % typ
        return "OK imap"
    finally:
        try:
            imap.logout()
        except Exception:
            pass


def main(argv):
    if len(argv) < 3 or argv[1] not in ("http", "imap"):
        sys.stderr.write("usage: gss_clients.py http URL [COUNT] | "
                         "imap HOST [COUNT]\n")
        return 2
    once = http_once if argv[1] == "http" else imap_once
    count = int(argv[3]) if len(argv) > 3 else 1
    failed = 0
    for _ in range(count):
        try:
            line = once(argv[2])
        except Exception as e:
            line = "FAIL %s: %s" % (type(e).__name__,
                                    " ".join(str(e).split())[:200])
        print(line, flush=True)
        if not line.startswith("OK"):
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
