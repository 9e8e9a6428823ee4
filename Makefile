# Makefile - builds canary, its test fixture and its tests; installs missing Debian packages first.
#
#   make            build build/canary
#   make demo       run the daemon on the bundled demo API (foreground)
#   make test       build and run the Check suite
#   make asan       the same suite built with AddressSanitizer + UBSan
#   make clean

BUILD    ?= build
CC       ?= cc
OPT      ?= -O2 -g
WERROR   ?= -Werror
SAN      ?=

# Every dependency is a Debian package; `make deps` installs what is missing.
DEB_PKGS := libuv1-dev libcurl4-openssl-dev libjansson-dev libsqlite3-dev check pkg-config
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

.PHONY: all deps demo test asan clean check-tests

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
	@missing=""; for p in $(DEB_PKGS); do \
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

# CK_DEFAULT_TIMEOUT is raised for sanitizer builds, which run several times slower.
test: deps
	@$(MAKE) --no-print-directory all $(BUILD)/check_canary
	CANARY_BIN=$(BUILD)/canary FAKEAPI_BIN=$(BUILD)/fakeapi $(BUILD)/check_canary

asan: deps
	@$(MAKE) --no-print-directory BUILD=build/asan OPT="-O1 -g -fno-omit-frame-pointer" \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" \
	  all build/asan/check_canary
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	CK_TIMEOUT_MULTIPLIER=3 CANARY_BIN=build/asan/canary FAKEAPI_BIN=build/asan/fakeapi \
	  build/asan/check_canary

clean:
	rm -rf $(BUILD) build examples/demo/state

-include $(LIB_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(FIX_OBJ:.o=.d) $(BUILD)/cli/main.d
