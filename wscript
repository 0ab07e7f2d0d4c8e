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
    ('lmdb', 'LMDB'),
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
    ('gnutls', 'GNUTLS'),	# SHA-256 of the key index's long keys
    ('jansson', 'JANSSON'),	# samba-asa --json, as Samba's audit logs
    ('popt', 'POPT'),		# samba-asa's options, as Samba's tools
]

# Only the program prints JSON and parses options.
TOOL_ONLY = ['JANSSON', 'POPT']

# What the shared core and the modules link with; the program adds its own.
CORE_USE = [uselib for _, uselib in PKGS if uselib not in TOOL_ONLY]
TOOL_USE = CORE_USE + TOOL_ONLY


def options(opt):
    opt.load('compiler_c')
    opt.add_option('--enable-sanitizers', action='store_true',
                   default=False, dest='sanitizers',
                   help='build with AddressSanitizer and UBSan')
    opt.add_option('--enable-selftest', action='store_true',
                   default=False, dest='selftest',
                   help="compile in the test suite's hooks "
                        '(tools/test_hooks.h); make test only')
    opt.add_option('--enable-fuzzing', action='store_true',
                   default=False, dest='fuzzing',
                   help='build the libFuzzer targets (needs clang)')
    opt.add_option('--with-ldb-modulesdir', default=None,
                   dest='ldb_modulesdir',
                   help='where ldb looks for modules '
                        '[pkg-config --variable=modulesdir ldb]')
    opt.add_option('--disable-rpath', action='store_true', default=False,
                   dest='disable_rpath',
                   help='no RUNPATH in the asa_roll module (samba, the '
                        'only program loading it, has loaded the private '
                        'libraries it needs already; Debian packages)')
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
    conf.env.SELFTEST = Options.options.selftest
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
    _configure_release(conf)
    _configure_service(conf)
    conf.msg('ldb module directory', conf.env.LDB_MODULESDIR)
    conf.msg('Samba module directory', conf.env.SAMBA_MODULESDIR)
    conf.msg('Samba version', '%s (release %s)' %
             (conf.env.SAMBA_VERSION, conf.env.SAMBA_RELEASE))
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
    # Where `make install` puts samba-asa: what asa_roll runs by default.
    conf.env.ASA_SAMBA_ASA_PATH = os.path.join(conf.env.PREFIX, 'bin',
                                               'samba-asa')
    # Loadable modules are named NAME.so, without the lib prefix.
    conf.env.cshlib_PATTERN = '%s.so'


# The Samba releases this tree builds against, and what differs between
# them.  Everything samba-asa takes from Samba beyond samba-dev's public
# headers is chosen here, per release:
#   service_layout  ASA_SAMBA_RELEASE: which modules/service/
#                   samba_service_<release>.h describes the server-service
#                   structures (4.22 adds before_loop to service_details)
#   service_libs    the private libraries holding what asa_roll calls
#                   (4.22 names them lib*-private-samba.so.0)
#   debian          the Debian release that ships it (docs, bootstrap)
# The LDB module's private pieces (the DSDB_* OIDs of samdb.h, samldb's
# refusal texts it translates) were compared in both releases' source and
# are the same; a release is added here only after that comparison.
SAMBA_RELEASES = {
    '4.17': {'service_layout': 417, 'debian': '12 (bookworm)',
             'service_libs': {'service': 'libservice-samba4.so.0',
                              'debug': 'libsamba-debug-samba4.so.0'}},
    '4.22': {'service_layout': 422, 'debian': '13 (trixie)',
             'service_libs': {'service': 'libservice-private-samba.so.0',
                              'debug':
                              'libsamba-debug-private-samba.so.0'}},
}


def _supported_releases():
    return ', '.join('%s (Debian %s)' % (r, SAMBA_RELEASES[r]['debian'])
                     for r in sorted(SAMBA_RELEASES))


# The private symbols the asa_roll service module uses, by library (the
# release's service_libs).  Samba versions every symbol of its private
# libraries with a tag of the build (SAMBA_4.17.12_DEBIAN_SAMBA4,
# SAMBA_4.22.11_DEBIAN_4.22.11_DFSG_0_DEB13U1_PRIVATE_SAMBA), so the module
# is linked against the installed libraries by file name and refers to that
# tag explicitly: another Samba build refuses to load it rather than run it
# against structures it was not written for
# (modules/service/samba_service.h).
SERVICE_PRIVATE_SYMBOLS = [
    ('service',
     ['register_server_service', 'task_server_terminate',
      'task_server_set_title']),
    ('debug',		# the DEBUG macros
     ['dbghdrclass', 'dbgtext', 'debuglevel_get_class']),
]


def _configure_release(conf):
    """The installed Samba's release (4.17, 4.22): one of SAMBA_RELEASES, or
    configure stops.  Nothing is ever built against guessed layouts."""
    version = conf.env.SAMBA_VERSION
    release = '.'.join(version.split('.')[:2]) if version else ''
    if release not in SAMBA_RELEASES:
        conf.fatal('Samba %s is not supported (found with `samba -V`); '
                   'samba-asa builds against Samba %s' %
                   (version or '(none: is the samba package installed?)',
                    _supported_releases()))
    conf.env.SAMBA_RELEASE = release
    conf.env.append_value('DEFINES', [
        'ASA_SAMBA_RELEASE=%d' % SAMBA_RELEASES[release]['service_layout'],
    ])


def _dynamic_symbol_versions(conf, path):
    """{symbol: version} of the symbols a shared library defines."""
    out = conf.cmd_and_log(['objdump', '-T', path], quiet=0)
    found = {}
    for line in out.splitlines():
        fields = line.split()
        # ADDRESS FLAGS... SECTION SIZE VERSION NAME
        if len(fields) < 4 or '*UND*' in fields:
            continue
        version, name = fields[-2], fields[-1]
        if version.startswith('(') or not version[:1].isalpha():
            continue
        found[name] = version
    return found


def _configure_service(conf):
    """Whether (and against what) to build the asa_roll service module."""
    conf.env.SERVICE_BUILD = False
    why = None
    libdir = conf.env.SAMBA_MODULESDIR
    abi = None
    libs = SAMBA_RELEASES[conf.env.SAMBA_RELEASE]['service_libs']
    for key, symbols in SERVICE_PRIVATE_SYMBOLS:
        if why:
            break
        lib = libs[key]
        path = os.path.join(libdir, lib)
        if not os.path.exists(path):
            why = '%s not found in %s' % (lib, libdir)
            break
        try:
            found = _dynamic_symbol_versions(conf, path)
        except Exception as e:
            why = 'cannot read the symbols of %s: %s' % (path, e)
            break
        for sym in symbols:
            if sym not in found:
                why = '%s does not define %s' % (path, sym)
                break
            if abi is None:
                abi = found[sym]
                if not abi.startswith('SAMBA_%s.' % conf.env.SAMBA_RELEASE):
                    why = ('%s is versioned %s, not Samba %s\'s' %
                           (sym, abi, conf.env.SAMBA_RELEASE))
                    break
            elif found[sym] != abi:
                why = ('%s is versioned %s, not %s' %
                       (sym, found[sym], abi))
                break
    if why:
        conf.msg('asa_roll service module', 'not built: ' + why,
                 color='YELLOW')
        return
    conf.env.SERVICE_BUILD = True
    conf.env.SAMBA_PRIVATE_ABI = abi
    conf.env.LIB_SAMBA_PRIVATE = [':' + libs[key] for key, _ in
                                  SERVICE_PRIVATE_SYMBOLS]
    conf.env.LIBPATH_SAMBA_PRIVATE = [libdir]
    if not Options.options.disable_rpath:
        conf.env.RPATH_SAMBA_PRIVATE = [libdir]
    conf.msg('Samba private ABI (asa_roll)', abi)


def _glob(bld, pattern):
    return bld.path.ant_glob(pattern)


# member/: samba-asa-member, libc and MIT Kerberos only.  Its keytab and
# protocol files are also part of the core, so that the DC and the member
# run one reader, merge and writer.
MEMBER_SHARED = 'member/kt_*.c member/protocol.c'


def build(bld):
    core = _glob(bld, 'common/*.c') + _glob(bld, MEMBER_SHARED)
    bld(features='c cstlib', source=core, target='asa-core',
        includes='common member', export_includes='common member',
        cflags=['-fPIC'], use=CORE_USE)

    # The member program: nothing of Samba, talloc or the core (the
    # member_program_libs check in selftest/suites/member_program.sh).
    bld(features='c cprogram', source=_glob(bld, 'member/*.c'),
        target='member/samba-asa-member', includes='member',
        use=['KRB5'], install_path='${PREFIX}/sbin')

    # The loadable modules go to bin/plugins/{ldb,service}/, away from
    # their object files: ldb tries to dlopen every file in a directory
    # named by LDB_MODULES_PATH.
    mod = _glob(bld, 'modules/ldb/*.c')
    if mod:
        bld(features='c cshlib', source=mod,
            target='plugins/ldb/unique_principal_names',
            use=['asa-core'] + CORE_USE,
            install_path=bld.env.LDB_MODULESDIR)

    # The asa_roll server service: only the libraries it calls, each
    # reference resolved at link time (-z defs), nothing else loaded into
    # samba (--as-needed: not MIT Kerberos next to samba's Heimdal).
    # Not in a fuzzing build: -z defs cannot resolve the sanitizers'
    # runtime, which only the fuzz programs link.
    svc = _glob(bld, 'modules/service/*.c')
    if svc and bld.env.SERVICE_BUILD and not bld.env.FUZZING:
        bld(features='c cshlib', source=svc,
            target='plugins/service/asa_roll',
            use=['asa-core', 'TALLOC', 'TEVENT', 'SAMBA_UTIL',
                 'SAMBA_HOSTCONFIG', 'SAMBA_PRIVATE'],
            defines=['ASA_SAMBA_PRIVATE_ABI="%s"' %
                     bld.env.SAMBA_PRIVATE_ABI,
                     'ASA_SAMBA_ASA_PATH="%s"' %
                     bld.env.ASA_SAMBA_ASA_PATH],
            linkflags=['-Wl,--as-needed', '-Wl,-z,defs',
                       '-Wl,--exclude-libs,ALL'],
            install_path=os.path.join(bld.env.SAMBA_MODULESDIR, 'service'))

    # The program; only tools/test_hooks.c differs between a test build
    # (--enable-selftest) and a release one.  A test build also links a
    # release copy (not installed), for the test that the hooks are gone.
    hooks = bld.path.find_node('tools/test_hooks.c')
    tool = [s for s in _glob(bld, 'tools/*.c') if s != hooks]
    if tool:
        bld.objects(source=tool, target='samba-asa-objects',
                    use=['asa-core'] + TOOL_USE)
        bld(features='c cprogram', source=[hooks],
            target='tools/samba-asa',
            use=['samba-asa-objects', 'asa-core'] + TOOL_USE,
            defines=['ASA_SELFTEST=1'] if bld.env.SELFTEST else [],
            install_path='${PREFIX}/bin')
        if bld.env.SELFTEST:
            bld(features='c cprogram', source=[hooks],
                target='test/samba-asa-release',
                use=['samba-asa-objects', 'asa-core'] + TOOL_USE,
                install_path=None)

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

    # What must hold before these files go (the Debian package's prerm,
    # make uninstall): tools/before-remove.sh.
    bld.install_as('${PREFIX}/libexec/samba-asa/before-remove',
                   'tools/before-remove.sh', chmod=0o755)

    # Man pages from DocBook (docs/manpages/NAME.8.xml), as Samba's.
    if bld.env.XSLTPROC and bld.env.MANXSL:
        for xml in _glob(bld, 'docs/manpages/*.xml'):
            man = xml.change_ext('')
            bld(rule='${XSLTPROC} --nonet -o ${TGT} ${MANXSL} ${SRC}',
                source=xml, target=man)
            bld.install_files('${MANDIR}/man8', man)
