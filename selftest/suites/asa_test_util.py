# selftest/suites/asa_test_util.py: what the python suites run against a
# real DC (environment ad_dc) share.
#
# Copyright (C) samba-asa authors 2026
#
# This program is free software; you can redistribute it and/or modify
# it under the terms of the GNU General Public License as published by
# the Free Software Foundation; either version 3 of the License, or
# (at your option) any later version.

import os
import sys

from samba.samdb import SamDB
from samba.param import LoadParm
from samba.credentials import Credentials, DONT_USE_KERBEROS


def env(name, default=None):
    """The environment variable name, or default; without either, stop
    the suite (exit 2): it is not running inside env ad_dc."""
    v = os.environ.get(name, default)
    if v is None:
        sys.stderr.write("%s: %s is not set: run inside env ad_dc\n" %
                         (os.path.basename(sys.argv[0]), name))
        sys.exit(2)
    return v


def connect():
    """A SamDB over ldap:// to the DC, bound as the domain administrator
    with a simple bind (no Kerberos)."""
    lp = LoadParm()
    lp.load(env('SMB_CONF_PATH'))
    creds = Credentials()
    creds.guess(lp)
    creds.set_username(env('DC_USERNAME'))
    creds.set_password(env('DC_PASSWORD'))
    creds.set_realm(env('REALM').upper())
    creds.set_kerberos_state(DONT_USE_KERBEROS)
    return SamDB(url="ldap://%s" % env('SERVER_IP'), lp=lp,
                 credentials=creds)
