# Registers `samba-tool asa` without editing any of Samba's files.
#
# samba-tool's command table (samba.netcmd.main.cmd_sambatool.subcommands)
# is a fixed list in Samba's own main.py.  samba-asa.pth (installed beside
# this file) imports this module at interpreter start-up; it adds a
# meta-path hook that, only when samba.netcmd.main is imported, adds "asa"
# to that table once the module has been executed.  Every other program
# only pays for importing this small file.  Any failure here is swallowed:
# it must never break Python.

import importlib.abc
import importlib.machinery
import sys

_TARGET = 'samba.netcmd.main'


class _AsaLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        try:
            subcommands = module.cmd_sambatool.subcommands
            if 'asa' not in subcommands:
                subcommands['asa'] = None
        except Exception:
            pass


class _AsaFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname != _TARGET:
            return None
        try:
            spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        except Exception:
            return None
        if spec is None or spec.loader is None:
            return None
        spec.loader = _AsaLoader(spec.loader)
        return spec


def install():
    if not any(isinstance(f, _AsaFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _AsaFinder())


try:
    install()
except Exception:
    pass
