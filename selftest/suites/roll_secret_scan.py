#!/usr/bin/python3
# selftest/suites/roll_secret_scan.py: look for a roll's password and keys
# where they must not be (asa_roll_security.sh).
#
#   proc SECRETS PID            scan /proc/*/cmdline and environ of every
#                               process, repeatedly, while PID runs
#   files SECRETS MARKER [--keytab KT]... [--exclude PATH]... DIR...
#                               every regular file under DIR newer than
#                               MARKER: no password; no key, except in KTs
#   log SECRETS FILE... [--password PWFILE]...
#                               no password, no key (nor a password
#                               given in PWFILE, e.g. the bind's), in
#                               any form: as is, hex, base64, the bytes
#                               of a hex dump (libldap's packet dumps)
#   keytabs SECRETS --keytab KT...
#                               every KT holds every key (the scan is real)
#
# SECRETS: what the roll (or create) wrote on SAMBA_ASA_TEST_SECRET_FD,
# lines "password PW" and "key ENCTYPE HEX" (create: no key).  Exit 0
# when nothing was found.

import base64
import os
import re
import sys
import time


def password_forms(name, password):
    """A password as it may travel: UTF-8, unicodePwd's UTF-16LE."""
    return [(name, password.encode()),
            (name + ' as unicodePwd', ('"%s"' % password).encode(
                'utf-16-le')),
            (name + ' as UTF-16', password.encode('utf-16-le'))]


def read_secrets(path, keys_needed=True):
    password = None
    keys = []
    with open(path) as f:
        for line in f:
            parts = line.rstrip('\n').split(' ', 2)
            if parts[0] == 'password':
                password = line[len('password '):].rstrip('\n')
            elif parts[0] == 'key' and len(parts) == 3:
                keys.append(bytes.fromhex(parts[2]))
    if not password or (keys_needed and not keys):
        sys.exit('no password or keys in %s' % path)
    return password_forms('password', password), \
        [('key %d' % i, k) for i, k in enumerate(keys)]


def b64_forms(needle):
    """needle's base64 at each of the three alignments it can have in a
    longer encoded text (only the characters it alone determines)."""
    forms = []
    for off in range(3):
        enc = base64.b64encode(b'\0' * off + needle)
        end = (off + len(needle)) // 3 * 4
        forms.append(enc[4 if off else 0:end])
    return [f for f in forms if len(f) >= 8]


HEXDUMP = re.compile(rb'^[ \t]*[0-9a-fA-F]{4,8}:?[ \t]+'
                     rb'((?:[0-9a-fA-F]{2}(?:[ \t]{1,2}|$)){1,16})', re.M)


def hexdump_bytes(data):
    """The bytes of hex-dump lines ("0010:  30 0c 02 ..."), joined."""
    out = bytearray()
    for m in HEXDUMP.finditer(data):
        for pair in re.findall(rb'\b[0-9a-fA-F]{2}\b', m.group(1)):
            out.append(int(pair, 16))
    return bytes(out)


def find_any_form(data, needles):
    """needles found in data as is, as hex, base64 or in a hex dump."""
    found = []
    dumped = hexdump_bytes(data)
    lower = data.lower()
    for name, n in needles:
        if n in data:
            found.append(name)
        elif n.hex().encode() in lower:
            found.append(name + ' (hex)')
        elif any(f in data for f in b64_forms(n)):
            found.append(name + ' (base64)')
        elif n in dumped:
            found.append(name + ' (hex dump)')
    return found


def find(data, needles):
    return [name for name, n in needles if n in data]


def scan_proc(secrets, pid):
    pw, keys = read_secrets(secrets)
    hits = {}
    rounds = 0
    while True:
        alive = os.path.exists('/proc/%d' % pid)
        for p in os.listdir('/proc'):
            if not p.isdigit() or int(p) == os.getpid():
                continue
            for what in ('cmdline', 'environ'):
                try:
                    with open('/proc/%s/%s' % (p, what), 'rb') as f:
                        data = f.read()
                except OSError:
                    continue
                for name in find(data, pw + keys):
                    hits.setdefault((p, what, name), 0)
                    hits[(p, what, name)] += 1
        rounds += 1
        if not alive:
            break
        time.sleep(0.05)
    print('%d rounds over /proc while the roll ran' % rounds)
    for (p, what, name), n in sorted(hits.items()):
        print('FOUND %s in /proc/%s/%s (%d times)' % (name, p, what, n))
    if rounds < 3:
        print('too few rounds: the roll ended before the scan began')
        return 1
    return 1 if hits else 0


def scan_files(secrets, marker, keytabs, excludes, dirs):
    pw, keys = read_secrets(secrets)
    since = os.stat(marker).st_mtime
    found = 0
    scanned = 0
    excludes = [os.path.realpath(e) for e in excludes]
    keytabs = [os.path.realpath(k) for k in keytabs]
    for top in dirs:
        for root, subdirs, files in os.walk(top):
            if any(os.path.realpath(root) == e or
                   os.path.realpath(root).startswith(e + '/')
                   for e in excludes):
                subdirs[:] = []
                continue
            for name in files:
                path = os.path.realpath(os.path.join(root, name))
                if path in excludes:
                    continue
                try:
                    st = os.lstat(path)
                    if not os.path.isfile(path) or st.st_mtime < since:
                        continue
                    if st.st_size > 64 * 1024 * 1024:
                        continue
                    with open(path, 'rb') as f:
                        data = f.read()
                except OSError:
                    continue
                scanned += 1
                needles = pw if path in keytabs else pw + keys
                for what in find(data, needles):
                    print('FOUND %s in %s' % (what, path))
                    found += 1
    print('%d files written since the roll began, scanned' % scanned)
    return 1 if found or scanned == 0 else 0


def scan_logs(secrets, files, pwfiles):
    pw, keys = read_secrets(secrets, keys_needed=False)
    for f in pwfiles:
        with open(f) as fh:
            pw += password_forms('password of %s' % f,
                                 fh.readline().rstrip('\n'))
    found = 0
    size = 0
    for path in files:
        try:
            with open(path, 'rb') as f:
                data = f.read()
        except OSError:
            continue
        size += len(data)
        for what in find_any_form(data, pw + keys):
            print('FOUND %s in %s' % (what, path))
            found += 1
    print('%d bytes of log scanned' % size)
    return 1 if found or size == 0 else 0


def check_keytabs(secrets, keytabs):
    _, keys = read_secrets(secrets)
    bad = 0
    for kt in keytabs:
        with open(kt, 'rb') as f:
            data = f.read()
        for name, k in keys:
            if k not in data:
                print('%s lacks %s' % (kt, name))
                bad += 1
    print('%d keytabs hold all %d keys' % (len(keytabs) - bad, len(keys)))
    return 1 if bad else 0


def options(args):
    keytabs, excludes, pwfiles, rest = [], [], [], []
    i = 0
    while i < len(args):
        if args[i] == '--keytab':
            keytabs.append(args[i + 1])
            i += 2
        elif args[i] == '--exclude':
            excludes.append(args[i + 1])
            i += 2
        elif args[i] == '--password':
            pwfiles.append(args[i + 1])
            i += 2
        else:
            rest.append(args[i])
            i += 1
    return keytabs, excludes, pwfiles, rest


def main(argv):
    cmd, secrets = argv[1], argv[2]
    keytabs, excludes, pwfiles, rest = options(argv[3:])
    if cmd == 'proc':
        return scan_proc(secrets, int(rest[0]))
    if cmd == 'files':
        return scan_files(secrets, rest[0], keytabs, excludes, rest[1:])
    if cmd == 'log':
        return scan_logs(secrets, rest, pwfiles)
    if cmd == 'keytabs':
        return check_keytabs(secrets, keytabs)
    sys.exit('unknown command %s' % cmd)


if __name__ == '__main__':
    sys.exit(main(sys.argv))
