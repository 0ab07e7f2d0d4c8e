#!/usr/bin/env python3
# waf build of samba-asa: the unique_principal_names LDB module, the asa_roll
# server service, the samba-asa program, its shared core (common/) and the
# cmocka unit tests.  Run through buildtools/bin/waf (see the Makefile).

import os
from waflib import Options

APPNAME = 'samba-asa'
VERSION = '0.1.0'

top = '.'
out = 'bin'

# Every pkg-config dependency, with the name used in `use=`.
PKGS = [
    ('ldb', 'LDB'),
    ('tdb', 'TDB'),
    ('talloc', 'TALLOC'),
    ('tevent', 'TEVENT'),
    ('samba-util', 'SAMBA_UTIL'),
    ('samba-hostconfig', 'SAMBA_HOSTCONFIG'),
    ('samba-credentials', 'SAMBA_CREDENTIALS'),
    ('samdb', 'SAMDB'),
    ('krb5', 'KRB5'),
    ('mit-krb5-gssapi', 'GSSAPI'),
    ('ldap', 'LDAP'),
    ('icu-uc', 'ICUUC'),
    ('icu-i18n', 'ICUI18N'),
]

# What the shared core and the program link with.
CORE_USE = [uselib for _, uselib in PKGS]


def options(opt):
    opt.load('compiler_c')
    opt.add_option('--enable-sanitizers', action='store_true',
                   default=False, dest='sanitizers',
                   help='build with AddressSanitizer and UBSan')
    opt.add_option('--enable-fuzzing', action='store_true',
                   default=False, dest='fuzzing',
                   help='build the libFuzzer targets (needs clang)')
    opt.add_option('--with-ldb-modulesdir', default=None,
                   dest='ldb_modulesdir',
                   help='where ldb looks for modules '
                        '[pkg-config --variable=modulesdir ldb]')
    opt.add_option('--with-samba-modulesdir', default=None,
                   dest='samba_modulesdir',
                   help="Samba's MODULESDIR [from samba -b]")


def _samba_build_info(conf):
    """The running Samba's MODULESDIR and version (the service module uses
    private, per-build versioned symbols, so it is built for one Samba)."""
    modulesdir = None
    version = None
    try:
        out = conf.cmd_and_log(['samba', '-b'], quiet=0)
        for line in out.splitlines():
            line = line.strip()
            if line.startswith('MODULESDIR:'):
                modulesdir = line.split(':', 1)[1].strip()
        version = conf.cmd_and_log(['samba', '-V'], quiet=0).split()[-1]
    except Exception:
        pass
    return modulesdir, version


def configure(conf):
    conf.load('compiler_c')
    for pkg, uselib in PKGS:
        conf.check_cfg(package=pkg, args=['--cflags', '--libs'],
                       uselib_store=uselib, mandatory=True)
    conf.check_cfg(package='cmocka', args=['--cflags', '--libs'],
                   uselib_store='CMOCKA', mandatory=False)
    conf.check_cfg(package='ldb', variables=['modulesdir'],
                   uselib_store='LDB')

    conf.env.append_value('CFLAGS', ['-std=gnu11', '-g', '-O2', '-Wall',
                                     '-Wextra', '-Werror',
                                     '-Wno-unused-parameter',
                                     '-Wno-missing-field-initializers',
                                     '-fno-strict-aliasing'])
    conf.env.append_value('DEFINES', ['ASA_VERSION="%s"' % VERSION])
    if Options.options.sanitizers:
        san = ['-fsanitize=address,undefined', '-fno-omit-frame-pointer']
        conf.env.append_value('CFLAGS', san)
        conf.env.append_value('LINKFLAGS', san)
    conf.env.FUZZING = Options.options.fuzzing
    if conf.env.FUZZING:
        # Coverage instrumentation everywhere; only the fuzz_* programs
        # link libFuzzer's main().
        conf.env.append_value('CFLAGS', [
            '-fsanitize=fuzzer-no-link,address,undefined',
            '-fno-omit-frame-pointer'])
        conf.env.append_value('LINKFLAGS', ['-fsanitize=address,undefined'])

    conf.env.LDB_MODULESDIR = (Options.options.ldb_modulesdir or
                               conf.env.LDB_modulesdir)
    modulesdir, version = _samba_build_info(conf)
    conf.env.SAMBA_MODULESDIR = (Options.options.samba_modulesdir or
                                 modulesdir or
                                 '/usr/lib/x86_64-linux-gnu/samba')
    conf.env.SAMBA_VERSION = version or ''
    conf.msg('ldb module directory', conf.env.LDB_MODULESDIR)
    conf.msg('Samba module directory', conf.env.SAMBA_MODULESDIR)
    conf.msg('Samba version', conf.env.SAMBA_VERSION or 'unknown')
    conf.env.append_value('DEFINES', [
        'ASA_LDB_MODULESDIR="%s"' % conf.env.LDB_MODULESDIR,
    ])
    # samba-tool's front goes beside Samba's own python package.
    try:
        conf.env.SAMBA_PYTHONDIR = conf.cmd_and_log(
            ['/usr/bin/python3', '-c',
             'import os, samba; print(os.path.dirname(samba.__file__))'],
            quiet=0).strip()
    except Exception:
        conf.env.SAMBA_PYTHONDIR = '/usr/lib/python3/dist-packages/samba'
    conf.msg('Samba python package', conf.env.SAMBA_PYTHONDIR)
    conf.find_program('xsltproc', var='XSLTPROC', mandatory=False)
    manxsl = ('/usr/share/xml/docbook/stylesheet/docbook-xsl/'
              'manpages/docbook.xsl')
    if os.path.exists(manxsl):
        conf.env.MANXSL = manxsl
    conf.env.MANDIR = os.path.join(conf.env.PREFIX, 'share', 'man')
    # Loadable modules are named NAME.so, without the lib prefix.
    conf.env.cshlib_PATTERN = '%s.so'


def _glob(bld, pattern):
    return bld.path.ant_glob(pattern)


def build(bld):
    core = _glob(bld, 'common/*.c')
    bld(features='c cstlib', source=core, target='asa-core',
        includes='common', export_includes='common',
        cflags=['-fPIC'], use=CORE_USE)

    # The loadable modules go to bin/plugins/{ldb,service}/, away from
    # their object files: ldb tries to dlopen every file in a directory
    # named by LDB_MODULES_PATH.
    mod = _glob(bld, 'modules/ldb/*.c')
    if mod:
        bld(features='c cshlib', source=mod,
            target='plugins/ldb/unique_principal_names',
            use=['asa-core'] + CORE_USE,
            install_path=bld.env.LDB_MODULESDIR)

    svc = _glob(bld, 'modules/service/*.c')
    if svc:
        bld(features='c cshlib', source=svc,
            target='plugins/service/asa_roll',
            use=['asa-core'] + CORE_USE,
            install_path=os.path.join(bld.env.SAMBA_MODULESDIR, 'service'))

    tool = _glob(bld, 'tools/*.c')
    if tool:
        bld(features='c cprogram', source=tool, target='tools/samba-asa',
            use=['asa-core'] + CORE_USE,
            install_path='${PREFIX}/bin')

    # cmocka unit tests: one program per test/test_*.c; not installed.
    if bld.env.LIB_CMOCKA:
        for src in _glob(bld, 'test/test_*.c'):
            name = os.path.splitext(src.name)[0]
            bld(features='c cprogram', source=[src],
                target='test/' + name,
                use=['asa-core', 'CMOCKA'] + CORE_USE,
                install_path=None)

    # Programs the selftest suites drive (test/helper_*.c); not installed.
    for src in _glob(bld, 'test/helper_*.c'):
        name = os.path.splitext(src.name)[0]
        bld(features='c cprogram', source=[src], target='test/' + name,
            use=['asa-core'] + CORE_USE, install_path=None)

    # libFuzzer targets: test/fuzz_*.c, only with --enable-fuzzing (clang).
    if bld.env.FUZZING:
        for src in _glob(bld, 'test/fuzz_*.c'):
            name = os.path.splitext(src.name)[0]
            bld(features='c cprogram', source=[src],
                target='test/' + name,
                use=['asa-core'] + CORE_USE,
                linkflags=['-fsanitize=fuzzer'],
                install_path=None)

    # samba-tool asa: the front, and the hook that registers it (see
    # python/samba_asa_tool_hook.py for why a .pth file).
    bld.install_files('${SAMBA_PYTHONDIR}/netcmd',
                      ['python/samba/netcmd/asa.py'])
    bld.install_files(os.path.dirname(bld.env.SAMBA_PYTHONDIR),
                      ['python/samba_asa_tool_hook.py',
                       'python/samba-asa.pth'])

    # Man pages from DocBook (docs/manpages/NAME.8.xml), as Samba's.
    if bld.env.XSLTPROC and bld.env.MANXSL:
        for xml in _glob(bld, 'docs/manpages/*.xml'):
            man = xml.change_ext('')
            bld(rule='${XSLTPROC} --nonet -o ${TGT} ${MANXSL} ${SRC}',
                source=xml, target=man)
            bld.install_files('${MANDIR}/man8', man)
