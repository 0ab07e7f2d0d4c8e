# samba-tool asa: the administrator's front door to samba-asa.
#
# A thin front: every `samba-tool asa SUBCOMMAND ...` runs
# `samba-asa SUBCOMMAND ...` with the same arguments, standard input and
# terminal, and exits with its status.  samba-asa spells its options the way
# samba-tool does (-H, -U, -s, -k, -d, --realm), so nothing is translated and
# the two can never disagree about what a command does.
#
# This program is free software; you can redistribute it and/or modify
# it under the terms of the GNU General Public License as published by
# the Free Software Foundation; either version 3 of the License, or
# (at your option) any later version.

import os
import shutil
import sys

from samba.netcmd import Command, CommandError

SAMBA_ASA_ENV = 'SAMBA_ASA'
SUBCOMMANDS = [
    ('create', 'create an alternate service account and key its members'),
    ('member', 'add, remove, list members; install keys (member side)'),
    ('keytab', 'export the current keys of an ASA into a keytab'),
    ('verify', 'check a real ticket for every SPN on every member'),
    ('status', 'keys and rolls, per ASA and member'),
    ('roll', 'change the password of an ASA, members first'),
    ('secure', 'bring an ASA of an earlier version under the trust rule'),
    ('spn', 'query, add, remove, list and audit service principal names'),
    ('enable', 'add unique_principal_names to sam.ldb (samba stopped)'),
    ('disable', 'remove unique_principal_names from sam.ldb'),
]


def find_samba_asa():
    """The samba-asa program: $SAMBA_ASA, else next to samba-tool, else
    on PATH."""
    path = os.environ.get(SAMBA_ASA_ENV)
    if path:
        return path
    here = os.path.dirname(os.path.realpath(sys.argv[0] or ''))
    for d in (here, '/usr/bin', '/usr/sbin', '/usr/local/bin'):
        candidate = os.path.join(d, 'samba-asa')
        if os.access(candidate, os.X_OK):
            return candidate
    return shutil.which('samba-asa')


class cmd_asa(Command):
    """Alternate service accounts for load-balanced Kerberos services."""

    synopsis = "%prog <subcommand> [options]"
    long_description = "Subcommands:\n" + "".join(
        "  %-8s - %s\n" % (name, text) for name, text in SUBCOMMANDS) + (
        "\nEach runs samba-asa with the same arguments; "
        "see samba-asa(8).")

    def _run(self, *argv):
        # Samba 4.17 calls _run(name, args...); 4.21 and later resolve the
        # command first (Command._resolve() sets command_name) and call
        # _run(args...).
        if hasattr(Command, '_resolve'):
            myname, args = self.command_name, argv
        else:
            myname, args = argv[0], argv[1:]
        program = find_samba_asa()
        if program is None:
            raise CommandError("samba-asa is not installed (set %s to its "
                               "path)" % SAMBA_ASA_ENV)
        if not args or args[0] in ('-h', '--help', 'help'):
            self.outf.write("Usage: %s <subcommand> [options]\n\n%s\n" %
                            (myname, self.long_description))
            return 0
        sys.stdout.flush()
        sys.stderr.flush()
        # exec, so that prompts, exit status and signals are samba-asa's.
        os.execv(program, ['samba-asa'] + list(args))
