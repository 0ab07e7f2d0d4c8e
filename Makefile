# samba-asa: a thin wrapper around waf, as Samba's own Makefile is.
# The real build is in wscript; buildtools/bootstrap.sh installs what is
# missing (Debian packages, waf from Debian's samba source package).

WAF = buildtools/bin/waf
BOOTSTRAP = buildtools/bootstrap.sh
PYTHON = /usr/bin/python3
PREFIX ?= /usr
TESTS ?=

.PHONY: all bootstrap bootstrap-test configure build build-selftest test testenv demo install uninstall \
	clean distclean bench fuzz deb test-deb \
	debian13-root test-debian13 demo-debian13 bench-debian13 deb-debian13 \
	test-deb-debian13 test-deb-upgrade

all: build

# make builds as any user once the build's packages are there; the tests
# and the demo need root and install their own packages as well.
bootstrap:
	@bash $(BOOTSTRAP)

bootstrap-test:
	@bash $(BOOTSTRAP) --test

bin/c4che/_cache.py: wscript | bootstrap
	@$(WAF) configure --prefix=$(PREFIX) $(CONFIGURE_FLAGS) >/dev/null

configure: bootstrap
	$(WAF) configure --prefix=$(PREFIX) $(CONFIGURE_FLAGS)

# Only make test (and testenv) build the test suite's hooks in
# (--enable-selftest, tools/test_hooks.h); make, make install and the
# package never do: each reconfigures when the last build was the other
# kind (seconds: only tools/test_hooks.c is compiled again).
SELFTEST_ON = grep -qs '^SELFTEST = True' bin/c4che/_cache.py

build: bootstrap bin/c4che/_cache.py
	@! $(SELFTEST_ON) || \
		$(WAF) configure --prefix=$(PREFIX) $(CONFIGURE_FLAGS) >/dev/null
	@$(WAF) build

build-selftest: bootstrap bin/c4che/_cache.py
	@$(SELFTEST_ON) || $(WAF) configure --prefix=$(PREFIX) \
		$(CONFIGURE_FLAGS) --enable-selftest >/dev/null
	@$(WAF) build

test: bootstrap-test build-selftest
	@$(PYTHON) selftest/selftest.py $(if $(TESTS),--tests '$(TESTS)')

testenv: bootstrap-test build-selftest
	@bash selftest/testenv.sh $(or $(SELFTEST_TESTENV),ad_dc)

demo: bootstrap-test build
	@bash selftest/demo.sh

bench: bootstrap-test build
	@bash selftest/bench.sh

fuzz: bootstrap-test
	@bash buildtools/fuzz.sh $(or $(FUZZ_SECONDS),300)

install: build
	$(WAF) install --destdir=$(DESTDIR)

# On the live system (no DESTDIR) first what the package's prerm does:
# sam.ldb must not name the module, nor smb.conf the service, once they go.
uninstall: build
	@[ -n "$(DESTDIR)" ] || \
		SAMBA_ASA=bin/tools/samba-asa sh tools/before-remove.sh
	$(WAF) uninstall --destdir=$(DESTDIR)

# The Debian package samba-asa, in bin/deb/ (buildtools/deb.sh).
deb:
	@bash $(BOOTSTRAP) --deb
	@bash buildtools/deb.sh

# Build the package, then install, use and remove it in a throwaway
# Debian root with a DC inside (selftest/deb.sh; several minutes).
test-deb: deb
	@bash selftest/deb.sh

# The same tree on Debian 13 (Samba 4.22), from this Debian 12 host: a
# trixie root made once with debootstrap and cached in /var/cache/samba-asa
# (selftest/debian13.sh); the tree built and the suites run inside it.
# DEBIAN13_TESTS='regex' chooses suites (default: those listed there).
debian13-root:
	@bash selftest/debian13.sh root

test-debian13:
	@bash selftest/debian13.sh test $(if $(DEBIAN13_TESTS),'$(DEBIAN13_TESTS)')

demo-debian13:
	@bash selftest/debian13.sh demo

# make bench in the root (BENCH_ONLY and BENCH_FLEET_* as for make bench).
bench-debian13:
	@bash selftest/debian13.sh bench

# The package for Samba 4.22, built in the root, into bin/deb-trixie/;
# then test-deb's checks on it in a Debian 13 root of selftest/deb.sh's.
deb-debian13:
	@bash selftest/debian13.sh deb

test-deb-debian13: deb-debian13
	@bash selftest/deb.sh "$$(ls -t bin/deb-trixie/samba-asa_*.deb | head -1)"

# A Debian 12 DC with the package, dist-upgraded to Debian 13 with the
# package's Debian 13 build in a local repository (selftest/deb.sh
# --upgrade, selftest/deb_upgrade.sh; README: "Debian package").
test-deb-upgrade: deb deb-debian13
	@bash selftest/deb.sh --upgrade \
		"$$(ls -t bin/deb/samba-asa_*+deb12_*.deb | head -1)" \
		"$$(ls -t bin/deb-trixie/samba-asa_*+deb13_*.deb | head -1)"

clean:
	-$(WAF) clean 2>/dev/null
	rm -rf st

distclean: clean
	rm -rf bin bin-fuzz .cache .lock-waf* .waf*
