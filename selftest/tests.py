# selftest/tests.py: the test plan, read by selftest/selftest.py.
#
# One plansuite() per suite:
#
#   name        the suite's name; every test is reported as NAME.TEST, and
#               selftest/knownfail matches against that
#   env         "none", or the environment the suite runs in ("ad_dc",
#               "ad_dc_array": ad_dc plus the members of selftest/array.sh,
#               "ad_dc_pair": ad_dc plus a second DC, selftest/pair.sh, or
#               "ad_dc_pair_array": both): a fresh DC (or pair) started for
#               this suite alone and stopped after it;
#               the command then runs inside the DC's network namespace
#               with the variables of selftest/env.sh in its environment
#   command     a bash command line, run from the top of the tree; it must
#               write subunit v1 on standard output
#   timeout     seconds before the suite is killed and counted as failed
#   may_be_empty  a suite that reports no test at all is a failure, unless
#               this is set
#   smbconf     extra [global] lines for the suite's DC ("name = value")
#   model       samba's process model for the suite's DC (samba -M):
#               "single" (the default), "prefork" or "standard"
#
# $REPO is the top of the tree in the command's environment.

PYTHON = "/usr/bin/python3"	# python3 on PATH may lack samba's modules
SAMBA_TESTS = "/usr/lib/python3/dist-packages/samba/tests"

# How Samba's selftest runs its python tests against a DC.
SAMBA_TEST_ARGS = ('"$SERVER_IP" -U"$DC_USERNAME%$DC_PASSWORD" '
                   '--realm="$REALM" -s "$SMB_CONF_PATH"')


def samba_python_test(module):
    return ("SAMBA_SELFTEST=1 %s %s/%s.py %s" %
            (PYTHON, SAMBA_TESTS, module, SAMBA_TEST_ARGS))


plansuite("unit", env="none",
          command="bash selftest/unit.sh",
          timeout=120)

# configure refuses a Samba release wscript does not know; the asa_roll
# module asks for the installed Samba's private ABI tag.
plansuite("build_release", env="none",
          command="bash selftest/suites/build_release.sh",
          timeout=120)

# make builds as any user once the build's packages are installed, and
# names the missing ones.
plansuite("build_user", env="none",
          command="bash selftest/suites/build_user.sh",
          timeout=900)

plansuite("smoke", env="ad_dc",
          command="bash selftest/smoke.sh",
          timeout=60)

plansuite("samba.tests.ldap_spn", env="ad_dc",
          command=samba_python_test("ldap_spn"),
          timeout=300)

plansuite("samba.tests.ldap_upn_sam_account", env="ad_dc",
          command=samba_python_test("ldap_upn_sam_account"),
          timeout=300)

plansuite("array_smoke", env="ad_dc_array",
          command="bash selftest/suites/array_smoke.sh",
          timeout=180)

# The fleet of `make bench BENCH_ONLY=fleet` (selftest/fleet.sh), 10
# members: start, create/verify/roll on all, kvno -k, stop, failed start.
plansuite("fleet_smoke", env="ad_dc",
          command="bash selftest/suites/fleet_smoke.sh",
          timeout=240)

# Real clients of more than one implementation, Kerberos through the load
# balancer to both protocols of the array (HTTP: curl, chromium, python
# urllib; IMAP: curl, python imaplib; python through python3-gssapi),
# before, during and after two rolls; the members' logs name the user and
# the mechanism.
plansuite("array_clients", env="ad_dc_array",
          command="bash selftest/suites/array_clients.sh",
          timeout=600)

# The DC's push to the members and the member side (samba-asa member
# install / setup) with real sshd members: kvno -k, curl --negotiate.
plansuite("member_install", env="ad_dc_array",
          command="bash selftest/suites/member_install.sh",
          timeout=600)

# samba-asa-member, the member program: links libkrb5 and libc only,
# builds alone with one cc command; two keytabs from a config file; the
# after install command (reported, bounded); bad input; protocol versions.
plansuite("member_program", env="ad_dc_array",
          command="bash selftest/suites/member_program.sh",
          timeout=300)

# The admin guide's chapters 5-9 as written, on a DC that has met no
# member yet (empty known_hosts).
plansuite("admin_guide", env="ad_dc_array",
          command="bash selftest/suites/admin_guide.sh",
          timeout=300)

# What a monitoring system sees: status --check (OK, a stale member, an
# overdue roll held back by a member, keys lagging the directory, a DC
# that answers nothing), status/roll --due overdue lines and JSON.
plansuite("asa_monitoring", env="ad_dc_array",
          command="bash selftest/suites/asa_monitoring.sh",
          timeout=400)

# A new administrator's mistakes on the command line and in smb.conf,
# each answered with its reason.
plansuite("admin_input", env="ad_dc",
          command="bash selftest/suites/admin_input.sh",
          timeout=300)

plansuite("uniqueness_stress", env="ad_dc",
          command="%s selftest/suites/uniqueness_stress.py" % PYTHON,
          timeout=600)

plansuite("uniqueness_bad_input", env="ad_dc",
          command="%s selftest/suites/uniqueness_bad_input.py" % PYTHON,
          timeout=120)

plansuite("uniqueness_tools", env="ad_dc",
          command="bash selftest/suites/uniqueness_tools.sh",
          timeout=300)

# The module's own rules, once per mode of "asa:unique principal names".
# With -i, samba logs to standard output: the instance's samba.out.
plansuite("unique_principal_names", env="ad_dc",
          command="ASA_UPN_LOG=$PREFIX_ABS/samba.out "
                  "%s selftest/suites/unique_principal_names.py" % PYTHON,
          timeout=300)

plansuite("unique_principal_names.audit", env="ad_dc",
          smbconf=["asa:unique principal names = audit", "log level = 1"],
          command="ASA_UPN_MODE=audit ASA_UPN_LOG=$PREFIX_ABS/samba.out "
                  "%s selftest/suites/unique_principal_names.py" % PYTHON,
          timeout=300)

plansuite("unique_principal_names.off", env="ad_dc",
          smbconf=["asa:unique principal names = off"],
          command="ASA_UPN_MODE=off "
                  "%s selftest/suites/unique_principal_names.py" % PYTHON,
          timeout=300)

plansuite("samba_asa_spn", env="ad_dc",
          command="bash selftest/suites/samba_asa_spn.sh",
          timeout=300)

# --json with directory values that are not UTF-8 (issue 14).
plansuite("json_output", env="ad_dc",
          command="bash selftest/suites/json_output.sh",
          timeout=300)

# libFuzzer targets (test/fuzz_*.c), built with clang in bin-fuzz/ and run
# for a bounded time each; `make fuzz` runs them longer.
plansuite("fuzz", env="none",
          command="bash buildtools/fuzz.sh --subunit 20",
          timeout=600)

# samba-asa roll (issue 6): a roll against real members, clients holding
# tickets from before it, a member down, kill -9 at every step, two rolls
# at once; --due and the PDC emulator role check; secrets scanned for.
plansuite("asa_roll", env="ad_dc_array",
          command="bash selftest/suites/asa_roll.sh",
          timeout=900)

plansuite("asa_roll_due", env="ad_dc_array",
          command="bash selftest/suites/asa_roll_due.sh",
          timeout=600)

# Old keys leave the members: an SPN taken off the ASA, and the kvno a
# removed member held (member remove; roll --revoke-now, and roll --due
# after asa:revoke after), shown with real tickets from before.
plansuite("asa_retire", env="ad_dc_array",
          command="bash selftest/suites/asa_retire.sh",
          timeout=600)

plansuite("asa_roll_security", env="ad_dc_array",
          smbconf=["log level = 10"],
          command="bash selftest/suites/asa_roll_security.sh",
          timeout=600)

# The KDC's own keys (common/dckeys.c, samba-tool domain exportkeytab)
# equal the keys derived from a password the suite sets.
plansuite("asa_dckeys", env="ad_dc",
          command="bash selftest/suites/asa_dckeys.sh",
          timeout=120)

plansuite("asa_trust", env="ad_dc_array",
          command="bash selftest/suites/asa_trust.sh",
          timeout=600)

# samba-asa create, member add/remove/list and keytab, on a real array.
plansuite("asa_create", env="ad_dc_array",
          command="bash selftest/suites/asa_create.sh",
          timeout=600)

# samba-asa verify (real tickets decrypted with every member's keytab, the
# KDC's keys compared) and status (Latest / Previous per member).
plansuite("asa_verify", env="ad_dc_array",
          command="bash selftest/suites/asa_verify.sh",
          timeout=600)

# asa:member concurrency: verify and roll run at most that many ssh
# children at once (counted by a wrapper of ssh); a member that never
# answers costs its own asa:member timeout, named, the others done first.
plansuite("member_concurrency", env="ad_dc_array",
          command="bash selftest/suites/member_concurrency.sh",
          timeout=400)

# The asa_roll server service (modules/service/asa_roll.c) inside samba,
# with a stand-in for its command (selftest/asa_roll_standin.sh) whose
# output and exit status each test chooses; asa_roll_service.sh depends on
# the durations below.  -M single (every service in one process), the
# prefork model (samba's default) and standard; a bad option value.
import os  # noqa: E402
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ASA_ROLL_STANDIN = os.path.join(REPO, "selftest", "asa_roll_standin.sh")
ASA_ROLL_SMBCONF = [
    "server services = +asa_roll",
    "log level = 3",		# the service logs runs at NOTICE
    "asa:roll command = %s" % ASA_ROLL_STANDIN,
    "asa:roll start delay = 1s",
    "asa:roll check interval = 10s",
    "asa:roll retry = 2s",
    "asa:roll retry max = 6s",
    "asa:roll timeout = 25s",
]

plansuite("asa_roll_service", env="ad_dc",
          smbconf=ASA_ROLL_SMBCONF,
          command="ASA_ROLL_SUITE=single "
                  "bash selftest/suites/asa_roll_service.sh",
          timeout=400)

plansuite("asa_roll_service.prefork", env="ad_dc", model="prefork",
          smbconf=ASA_ROLL_SMBCONF,
          command="ASA_ROLL_SUITE=prefork "
                  "bash selftest/suites/asa_roll_service.sh",
          timeout=300)

plansuite("asa_roll_service.standard", env="ad_dc", model="standard",
          smbconf=ASA_ROLL_SMBCONF,
          command="ASA_ROLL_SUITE=standard "
                  "bash selftest/suites/asa_roll_service.sh",
          timeout=300)

plansuite("asa_roll_service.badopt", env="ad_dc",
          smbconf=ASA_ROLL_SMBCONF + ["asa:roll retry = 5 parsecs"],
          command="ASA_ROLL_SUITE=badopt "
                  "bash selftest/suites/asa_roll_service.sh",
          timeout=120)

# Rolls back to back while clients authenticate through the load balancer
# and one member's sshd restarts: 0 failed requests.  12 rolls in make test
# (the whole suite must stay well under 30 minutes on 2 cores); the
# 100-roll run is
#   ASA_ROLL_RELIABILITY_ROLLS=100 make test TESTS=asa_roll_reliability
plansuite("asa_roll_reliability", env="ad_dc_array",
          command="ASA_ROLL_RELIABILITY_ROLLS=${ASA_ROLL_RELIABILITY_ROLLS:-12} "
                  "bash selftest/suites/asa_roll_reliability.sh",
          timeout=2400)

# The service running the real `samba-asa roll --due` every 5 s, rolling
# each ASA after INTERVAL.
def real_roll_smbconf(interval):
    return ["server services = +asa_roll",
            "log level = 3",		# the service logs runs at NOTICE
            "asa:roll command = %s" %
            os.path.join(REPO, "bin", "tools", "samba-asa"),
            "asa:roll interval = %s" % interval,
            "asa:roll jitter = 0",
            "asa:roll check interval = 5s",
            "asa:roll start delay = 1s",
            "asa:roll retry = 5s"]


# The service with the real `samba-asa roll --due` on a real array: rolls
# on a short interval (logged, kvno up, members decrypt old and new
# tickets), idle when this DC is not the PDC emulator, a failed roll
# retried once the member is back.
plansuite("asa_roll_service.real", env="ad_dc_array",
          smbconf=real_roll_smbconf("20s"),
          command="bash selftest/suites/asa_roll_real.sh",
          timeout=900)

# unique_principal_names on two replicating DCs: originating duplicates
# refused on each, replicated ones never; audit finds what replication
# left, kvno shows why it matters, spn remove repairs it.
plansuite("pair_uniqueness", env="ad_dc_pair",
          command="bash selftest/suites/pair_uniqueness.sh",
          timeout=900)

# The roll on two replicating DCs with an array (ad_dc_pair_array): the
# service on both DCs, with the real samba-asa; only the PDC emulator
# rolls, also after `samba-tool fsmo transfer`; keys installed through one
# DC decrypt the other KDC's tickets; a roll while dc2 is down and dc2's
# catch-up, measured.  The suite makes the ASA due by editing "asa:roll
# interval" (samba-asa reads smb.conf on every run): 1h here.
plansuite("pair_roll", env="ad_dc_pair_array",
          smbconf=real_roll_smbconf("1h"),
          command="bash selftest/suites/pair_roll.sh",
          timeout=900)

# Modules built for another Samba release (ASA_FOREIGN_MODULES: make
# test-debian13 hands the Debian 12 build's to the Debian 13 run) are
# refused, and samba's log says why; skipped without them.
plansuite("release_guard", env="ad_dc",
          smbconf=["server services = +asa_roll", "log level = 5",
                   "asa:roll command = %s" % ASA_ROLL_STANDIN,
                   "asa:roll start delay = 1h"],
          command="bash selftest/suites/release_guard.sh",
          timeout=180)
