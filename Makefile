# Makefile - builds canary, its test fixture and its tests; installs missing Debian packages first.
#
#   make            build build/canary
#   make demo       run the daemon on the bundled demo API (foreground)
#   make test       build and run the Check suite, then tests/install.sh
#   make asan       the same suite built with AddressSanitizer + UBSan
#   make install    install under DESTDIR/PREFIX (see below); make uninstall
#   make clean

BUILD    ?= build
CC       ?= cc
OPT      ?= -O2 -g
WERROR   ?= -Werror
SAN      ?=

# Installation. PREFIX=/usr is what a package uses; /usr/local is searched by
# systemd (units, sysusers.d, tmpfiles.d), man and bash-completion as well.
# DESTDIR stages the whole tree (a package build, tests/install.sh).
PREFIX         ?= /usr/local
SYSCONFDIR     ?= /etc
BINDIR         ?= $(PREFIX)/bin
MANDIR         ?= $(PREFIX)/share/man
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR    ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR    ?= $(PREFIX)/lib/tmpfiles.d
BASHCOMPDIR    ?= $(PREFIX)/share/bash-completion/completions
INSTALL        ?= install

# Every dependency is a Debian package; `make deps` installs what is missing.
DEB_PKGS := libuv1-dev libcurl4-openssl-dev libjansson-dev libsqlite3-dev check pkg-config
# tests/install.sh needs more, so `make test` and `make install-test` install
# these too: groff-base and man-db check the man page (`systemd-analyze verify`
# also runs `man canary` for Documentation=), systemd has systemd-analyze,
# -sysusers and -tmpfiles, and procps has /bin/kill, the unit's ExecReload=,
# which `systemd-analyze verify` wants to exist. The fault suites make TLS
# certificates with openssl and a loopback-only network namespace with ip.
TEST_DEB_PKGS := groff-base man-db systemd procps openssl iproute2
PC_LIBS  := libuv libcurl jansson sqlite3

PC_CFLAGS = $(shell pkg-config --cflags $(PC_LIBS) 2>/dev/null)
PC_LDLIBS = $(shell pkg-config --libs $(PC_LIBS) 2>/dev/null)
CHECK_LDLIBS = $(shell pkg-config --libs check 2>/dev/null)

WARN     := -Wall -Wextra $(WERROR) -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wformat=2 -Wno-format-nonliteral -Wpointer-arith -Wvla
VERSION  := 0.1.0
CPPFLAGS += -std=c11 -D_GNU_SOURCE -DCANARY_VERSION=\"$(VERSION)\" -I. -MMD -MP
CFLAGS   += $(OPT) $(WARN) $(SAN) $(PC_CFLAGS)
LDFLAGS  += $(SAN)
LDLIBS   += $(PC_LDLIBS) -lpthread -lm

MODULES  := daemon probes config storage alerting cli
LIB_SRC  := $(filter-out cli/main.c,$(foreach m,$(MODULES),$(wildcard $(m)/*.c)))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
TEST_SRC := $(wildcard tests/*.c)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)
FIX_SRC  := $(wildcard tests/fixture/*.c)
FIX_OBJ  := $(FIX_SRC:%.c=$(BUILD)/%.o)

.PHONY: all deps demo test asan clean check-tests install uninstall install-test

all: $(BUILD)/canary $(BUILD)/fakeapi

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/libcanary.a: $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/canary: $(BUILD)/cli/main.o $(BUILD)/libcanary.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/fakeapi: $(FIX_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/check_canary: $(TEST_OBJ) $(BUILD)/libcanary.a
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LDLIBS) $(LDLIBS)

# Installs what is missing: with apt-get when root, otherwise prints the line to run.
deps:
	@missing=""; for p in $(DEB_PKGS) $(DEPS_MORE); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	  else \
	    echo "missing Debian packages; run:"; echo "  sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi

DEMO_PORT ?= 18181
demo: deps
	@$(MAKE) --no-print-directory all
	@echo "demo API on 127.0.0.1:$(DEMO_PORT); canary runs in the foreground (Ctrl-C stops both)"
	@# The API gets a session of its own: Ctrl-C stops canary, which then records its last runs.
	@setsid $(BUILD)/fakeapi --port $(DEMO_PORT) --password demo-password --demo & api=$$!; \
	trap 'kill $$api 2>/dev/null' EXIT INT TERM; \
	VITALS_PASSWORD=demo-password $(BUILD)/canary run -c examples/demo/canary.json --log-level debug; \
	status=$$?; kill $$api 2>/dev/null; exit $$status

# CK_DEFAULT_TIMEOUT is raised for sanitizer builds, which run several times
# slower; they leave out the cases tagged "slow" (a two-minute outage), which
# `make test` runs, so that CI stays within its 20 minutes.
test: DEPS_MORE = $(TEST_DEB_PKGS)
test: deps
	@$(MAKE) --no-print-directory all $(BUILD)/check_canary
	CANARY_BIN=$(BUILD)/canary FAKEAPI_BIN=$(BUILD)/fakeapi $(BUILD)/check_canary
	@$(MAKE) --no-print-directory install-test

# `make install` into a temp DESTDIR, checked: files and modes, config kept,
# systemd-analyze verify and security, the man page, bash completion.
install-test: DEPS_MORE = $(TEST_DEB_PKGS)
install-test: deps $(BUILD)/canary
	BUILD=$(BUILD) bash tests/install.sh

asan: deps
	@$(MAKE) --no-print-directory BUILD=build/asan OPT="-O1 -g -fno-omit-frame-pointer" \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" \
	  all build/asan/check_canary
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	CK_TIMEOUT_MULTIPLIER=3 CK_EXCLUDE_TAGS=slow CANARY_BIN=build/asan/canary FAKEAPI_BIN=build/asan/fakeapi \
	  build/asan/check_canary

# The unit names /usr/bin/canary and /etc/canary/canary.json; the installed
# copy names BINDIR and SYSCONFDIR (the commands' own default stays
# /etc/canary/canary.json: with another SYSCONFDIR, set CANARY_CONFIG). The
# config is never overwritten, nor its directory's mode changed: the example
# probes come only with a canary.json that was not there.
install: $(BUILD)/canary
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(SYSTEMDUNITDIR) \
	  $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR) $(DESTDIR)$(BASHCOMPDIR)
	$(INSTALL) -m 0755 $(BUILD)/canary $(DESTDIR)$(BINDIR)/canary
	sed -e '/^ExecStart=/s|/usr/bin/canary |$(BINDIR)/canary |' \
	    -e '/^ExecStart=/s|/etc/canary/canary.json|$(SYSCONFDIR)/canary/canary.json|' \
	    systemd/canary.service >$(DESTDIR)$(SYSTEMDUNITDIR)/canary.service.tmp
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/canary.service.tmp
	mv -f $(DESTDIR)$(SYSTEMDUNITDIR)/canary.service.tmp $(DESTDIR)$(SYSTEMDUNITDIR)/canary.service
	$(INSTALL) -m 0644 systemd/canary.sysusers $(DESTDIR)$(SYSUSERSDIR)/canary.conf
	$(INSTALL) -m 0644 systemd/canary.tmpfiles $(DESTDIR)$(TMPFILESDIR)/canary.conf
	$(INSTALL) -m 0644 cli/canary.1 $(DESTDIR)$(MANDIR)/man1/canary.1
	$(INSTALL) -m 0644 cli/canary.bash $(DESTDIR)$(BASHCOMPDIR)/canary
	[ -d $(DESTDIR)$(SYSCONFDIR)/canary ] || $(INSTALL) -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/canary
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/canary/canary.json ]; then \
	  echo "kept $(DESTDIR)$(SYSCONFDIR)/canary/canary.json and its probes (not overwritten)"; \
	else \
	  set -e; \
	  $(INSTALL) -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/canary/probes.d; \
	  for f in examples/etc/probes.d/*.json; do \
	    t=$(DESTDIR)$(SYSCONFDIR)/canary/probes.d/$${f##*/}; \
	    [ -e "$$t" ] || $(INSTALL) -m 0644 "$$f" "$$t"; \
	  done; \
	  $(INSTALL) -m 0644 examples/etc/canary.json $(DESTDIR)$(SYSCONFDIR)/canary/canary.json; \
	  echo "installed $(DESTDIR)$(SYSCONFDIR)/canary/canary.json and probes.d/"; \
	fi
	@if [ -z "$(DESTDIR)" ]; then \
	  echo "next: systemd-sysusers; systemd-tmpfiles --create $(TMPFILESDIR)/canary.conf;"; \
	  echo "      systemctl daemon-reload; systemctl enable --now canary"; \
	fi

# Leaves the config ($(SYSCONFDIR)/canary), the database and the user alone.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/canary $(DESTDIR)$(SYSTEMDUNITDIR)/canary.service \
	  $(DESTDIR)$(SYSUSERSDIR)/canary.conf $(DESTDIR)$(TMPFILESDIR)/canary.conf \
	  $(DESTDIR)$(MANDIR)/man1/canary.1 $(DESTDIR)$(BASHCOMPDIR)/canary
	@echo "kept $(DESTDIR)$(SYSCONFDIR)/canary and /var/lib/canary"

clean:
	rm -rf $(BUILD) build examples/demo/state

-include $(LIB_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(FIX_OBJ:.o=.d) $(BUILD)/cli/main.d

# Issue 5's targets live beside what they drive: bench/ (make bench, make
# soak) and tests/fuzz/ (make fuzz), tests/valgrind.mk (make valgrind).
include $(wildcard bench/bench.mk tests/fuzz/fuzz.mk tests/valgrind.mk)
