#!/usr/bin/python3
# selftest/samba_tool_front.py ARGS...: samba-tool with samba-asa's front
# (`samba-tool asa ...`) taken from this build tree, as `make install`
# would place it beside Samba's python package: the start-up hook that
# adds "asa" to samba-tool's command table, and samba/netcmd/asa.py.  The
# rest is /usr/bin/samba-tool's own main.  SAMBA_ASA names the program.
#
# Copyright (C) samba-asa authors 2026
#
# This program is free software; you can redistribute it and/or modify
# it under the terms of the GNU General Public License as published by
# the Free Software Foundation; either version 3 of the License, or
# (at your option) any later version.

import os
import signal
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYDIR = os.path.join(REPO, 'python')

sys.path.insert(0, PYDIR)
import samba_asa_tool_hook  # noqa: E402,F401  (what samba-asa.pth does)
import samba.netcmd  # noqa: E402

samba.netcmd.__path__.append(os.path.join(PYDIR, 'samba', 'netcmd'))

signal.signal(signal.SIGINT, signal.SIG_DFL)
from samba.netcmd.main import cmd_sambatool  # noqa: E402

cmd = cmd_sambatool()
try:
    if hasattr(cmd, '_resolve'):	# Samba 4.21 and later
        cmd, argv = cmd._resolve('samba-tool', *sys.argv[1:])
        retval = cmd._run(*argv)
    else:
        retval = cmd._run('samba-tool', *sys.argv[1:])
except SystemExit as e:
    retval = e.code
except Exception as e:
    cmd.show_command_error(e)
    retval = 1
sys.exit(retval)
