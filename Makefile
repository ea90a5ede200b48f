# Kuvert: `make run` to try it, `make test` to check it.
SHELL := /bin/bash
SWIFT ?= swift
KUVERT := .build/debug/kuvert
# Debian packages the build, the tests and the local mail catcher need
# (systemd for systemd-analyze, which checks the units in Deploy/; Chromium, its
# driver and Selenium for the browser journey in Tests/Browser/; Postfix, Cyrus
# SASL's tools and openssl for the tests' own relay with STARTTLS and AUTH,
# Tests/Support/postfix_relay.sh: Postfix installs with "No configuration" and
# its system daemon is never started; dkimpy with PyNaCl and OpenDKIM's test
# mode, the independent DKIM verifiers of Tests/Support/dkim_verify.py: no
# daemon of theirs is started either, as policy-rc.d says while installing;
# PostgreSQL, whose throwaway clusters Tests/Support/postgres_cluster.sh starts:
# the system cluster Debian creates is never started; python3-venv for the
# tests' own Python packages, PYTHON_TEST_PACKAGES, in .build/pyenv; Dovecot's
# IMAP server, which Tests/Support/dovecot_imap.sh runs from a config of its own
# as the hosted bounce mailbox: its system daemon is never started; Sisimai, the
# independent bounce classifier of Tests/Support/sisimai_verdicts.pl; nginx, whose
# `nginx -t` checks the shipped configs in a private prefix, and which
# Benchmarks/slowclients.sh runs there: its system daemon is never started).
APT_PACKAGES := libcurl4-openssl-dev libssl-dev libsqlite3-dev libcmark-gfm-dev libcmark-gfm-extensions-dev python3-aiosmtpd systemd chromium chromium-driver python3-selenium \
  postfix sasl2-bin openssl python3-dkim python3-nacl opendkim opendkim-tools postgresql python3-venv \
  dovecot-imapd nginx-light libsisimai-perl \
  libidn12 libgnutls-dane0 libdb5.3 libnsl2 libpcre2-8-0 libevent-2.1-7 \
  dpkg-dev binutils lintian adduser gdb
# The last lines: the libraries of Exim and OpenSMTPD, which the tests run from
# their packages unpacked under .build/mta (Tests/Support/unpacked_mta.sh):
# installed, either would replace Postfix as the machine's MTA. What
# `make package` and `make package-test` use: dpkg-shlibdeps, strip, lintian.
# And gdb, with which Tests/Support/watchdog.sh shows where a hung test waits.
# From PyPI, for the tests: flufl.bounce, the independent DSN parser that
# Tests/Support/flufl_verdicts.py cross-checks Kuvert's verdicts with, and
# schemathesis, the fuzzer Tests/KuvertEndToEndTests/APIFuzzTests.swift runs over the API.
PYTHON_TEST_PACKAGES := flufl.bounce==6.0.0 schemathesis==4.32.5
PYENV := .build/pyenv
# Debian's aiosmtpd belongs to Debian's Python, which need not be first on PATH.
DEBIAN_PYTHON := /usr/bin/python3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: deps pyenv build install package package-test format lint test run mail bench bench-deps clean

## deps: install the Debian packages that are missing (nothing when all are there).
deps:
	@command -v $(SWIFT) >/dev/null || { echo "Swift 6 is needed: see https://www.swift.org/install/linux/"; exit 1; }
	@missing=""; \
	for package in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$package 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$package"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing$$missing"; \
	  echo "postfix postfix/main_mailer_type select No configuration" | $(SUDO) debconf-set-selections; \
	  policy=""; \
	  if [ ! -e /usr/sbin/policy-rc.d ]; then \
	    printf '#!/bin/sh\nexit 101\n' | $(SUDO) tee /usr/sbin/policy-rc.d >/dev/null; \
	    $(SUDO) chmod 755 /usr/sbin/policy-rc.d; policy=made; \
	  fi; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; status=$$?; \
	  if [ -n "$$policy" ]; then $(SUDO) rm -f /usr/sbin/policy-rc.d; fi; \
	  exit $$status; \
	fi

## pyenv: a virtual environment of Debian's Python with the tests' PyPI packages.
pyenv: deps
	@[ -x $(PYENV)/bin/python ] || $(DEBIAN_PYTHON) -m venv $(PYENV)
	@$(PYENV)/bin/pip install -q $(PYTHON_TEST_PACKAGES)

## build: compile the kuvert command (debug).
build: deps
	$(SWIFT) build --product kuvert

## install: build the release binary and install it as the Deploy files expect:
##          /usr/local/bin/kuvert, the templates in /usr/local/share/kuvert/Templates,
##          kuvert-admin in /usr/local/sbin (PREFIX=/usr/local to change it).
PREFIX ?= /usr/local
install: deps
	$(SWIFT) build -c release --product kuvert
	$(SUDO) install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/share/kuvert
	$(SUDO) install -m 755 .build/release/kuvert $(DESTDIR)$(PREFIX)/bin/kuvert
	$(SUDO) install -m 755 Deploy/kuvert-admin $(DESTDIR)$(PREFIX)/sbin/kuvert-admin
	$(SUDO) rm -rf $(DESTDIR)$(PREFIX)/share/kuvert/Templates
	$(SUDO) cp -r Templates $(DESTDIR)$(PREFIX)/share/kuvert/Templates
	@echo "Installed kuvert $$($(DESTDIR)$(PREFIX)/bin/kuvert --version | head -1 | cut -d' ' -f2) in $(DESTDIR)$(PREFIX)."

## package: the Debian package .build/package/kuvert_VERSION_amd64.deb: the release binary
##          with the Swift runtime linked in, the templates, the systemd units (Deploy/package.sh).
package: deps
	Deploy/package.sh

## package-test: build the package, check it with lintian, install it on this machine, run
##               migrate and doctor as the kuvert user, purge it (Deploy/package_test.sh).
package-test: deps
	@set -o pipefail; deb=$$(Deploy/package.sh | tail -1) && $(SUDO) bash Deploy/package_test.sh "$$deb"

## format: format Sources and Tests as .swift-format says (Hummingbird's configuration).
format:
	$(SWIFT) format format --in-place --recursive --parallel Sources Tests

## lint: fail on any file `make format` would change.
lint:
	$(SWIFT) format lint --strict --recursive --parallel Sources Tests

# A hung test fails the run within minutes, saying where it waits (the main
# suite takes about 2 minutes here, the other two about 1.5).
WATCHDOG := bash Tests/Support/watchdog.sh

## test: build and run the whole suite; the output is kept in .build/test.log and,
##       when something fails, what failed is listed again at the end. The
##       several-nodes test (four kuvert processes and a PostgreSQL cluster) and
##       the API fuzzer (schemathesis against kuvert serve) run on their own
##       afterwards, so that they do not compete for the two cores with the tests
##       that measure time.
test: deps pyenv lint
	@bash Tests/Support/unpacked_mta.sh ensure >/dev/null
	$(SWIFT) build --build-tests
	@set -o pipefail; { $(WATCHDOG) 1200 $(SWIFT) test --skip-build --disable-xctest --skip 'MultiNodeTests|APIFuzzTests' \
	  && $(WATCHDOG) 600 $(SWIFT) test --skip-build --disable-xctest --filter 'MultiNodeTests|APIFuzzTests'; } 2>&1 | tee .build/test.log || { \
	  echo; echo "== make test failed; what failed:"; grep -E '^(✘|error|Fatal error|== watchdog)' .build/test.log | head -60; exit 1; }

## run: start `kuvert serve` on http://127.0.0.1:8080 with data in ./data, a demo list,
##      and a local SMTP catcher on 127.0.0.1:2525 that keeps every mail in data/mail/new.
run: build
	@mkdir -p data/mail/tmp data/mail/new data/mail/cur
	@$(KUVERT) migrate > /dev/null
	@$(KUVERT) lists show | grep -q '^news ' || \
	  $(KUVERT) lists add news --name "Kuvert News" --terms Deploy/terms.example.md
	@$(DEBIAN_PYTHON) -m aiosmtpd -n --smtputf8 -l 127.0.0.1:2525 -c aiosmtpd.handlers.Mailbox data/mail & \
	  catcher=$$!; trap 'kill $$catcher 2>/dev/null' EXIT INT TERM; \
	  echo "Kuvert is starting on http://127.0.0.1:8080; mail it sends lands in data/mail/new (Ctrl-C stops both)."; \
	  KUVERT_SMTP_URL=smtp://127.0.0.1:2525 $(KUVERT) serve

## mail: print the newest mail the local catcher caught, decoded as a mail client shows it.
mail:
	@$(DEBIAN_PYTHON) -c 'import email, email.policy, glob, os; \
	files = sorted(glob.glob("data/mail/new/*"), key=os.path.getmtime); \
	m = email.message_from_binary_file(open(files[-1], "rb"), policy=email.policy.default) if files else None; \
	print("No mail caught yet." if m is None else "\n".join(f"{k}: {m[k]}" for k in ("Date", "From", "To", "Subject")) \
	      + "\n\n" + m.get_body(("plain",)).get_content())'

## bench: release build, then every benchmark in Benchmarks/ (see Benchmarks/RESULTS.md).
##        Needs wrk and Postfix's smtp-sink/smtp-source; Postfix is installed with
##        "No configuration" and its daemon is never started.
bench: deps bench-deps
	$(SWIFT) build -c release --product kuvert
	Benchmarks/run.sh

bench-deps:
	@missing=""; \
	for package in wrk postfix time; do \
	  dpkg-query -W -f='$${Status}' $$package 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$package"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing$$missing"; \
	  echo "postfix postfix/main_mailer_type select No configuration" | $(SUDO) debconf-set-selections; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

clean:
	rm -rf .build
