# tests/fuzz/fuzz.mk - libFuzzer harnesses for the config loader, assertions, templates and JSON paths.
#
#   make fuzz          replay regressions/, then fuzz each harness for FUZZ_SECONDS (30)
#   make fuzz-replay   only replay corpus/ and regressions/ once each (seconds; no fuzzing)
#
# Built with Debian's clang (libFuzzer comes in libclang-rt-14-dev) with ASan and
# UBSan, against the library sources compiled the same way under $(BUILD)/fuzz/.
# Fuzzing starts from a temp copy of corpus/<harness>/, so nothing new is written
# into the repository (TMPDIR points there too: fuzz_config writes each input as a
# main config file in a directory of its own). A crash fails the target and leaves
# its input in FUZZ_ARTIFACTS, printed in base64 too, so a CI log is enough to
# reproduce it.
# A crash becomes a regression test: once fixed, its input goes into
# regressions/<harness>/, replayed by both targets. Known, unfixed crashes wait in
# crashes-known/<harness>/, which no target runs.

FUZZ_CC        ?= clang
FUZZ_SECONDS   ?= 30
FUZZ_HARNESSES := config assert tmpl jpath
FUZZ_ARTIFACTS ?= $(BUILD)/fuzz/artifacts
# -fno-sanitize-recover: any UB report is a crash libFuzzer keeps the input of.
FUZZ_SAN       := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS    := -O1 -g -fno-omit-frame-pointer $(WARN) $(PC_CFLAGS)
# -timeout: an input slower than this is reported as a hang; the RSS limit likewise.
FUZZ_RUN_OPTS  ?= -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
FUZZ_DEB_PKGS  := clang libclang-rt-14-dev

FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/fuzz/%.o)
FUZZ_BINS    := $(FUZZ_HARNESSES:%=$(BUILD)/fuzz/fuzz_%)

.PHONY: fuzz fuzz-build fuzz-replay
# The harness objects are intermediates of a pattern rule: keep them (and their .d files).
.SECONDARY: $(FUZZ_HARNESSES:%=$(BUILD)/fuzz/tests/fuzz/fuzz_%.o)

# The library objects: instrumented for coverage (fuzzer-no-link) and sanitizers.
$(BUILD)/fuzz/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -c -o $@ $<

$(BUILD)/fuzz/libcanary.a: $(FUZZ_LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/fuzz/fuzz_%: $(BUILD)/fuzz/tests/fuzz/fuzz_%.o $(BUILD)/fuzz/libcanary.a
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(PC_LDLIBS) -lpthread -lm

fuzz-build: DEPS_MORE = $(FUZZ_DEB_PKGS)
fuzz-build: deps
	@$(MAKE) --no-print-directory $(FUZZ_BINS)

# Runs each file of corpus/ and regressions/ through its harness once; libFuzzer
# given files (not directories) runs exactly those and exits non-zero on a crash.
fuzz-replay: fuzz-build
	@set -e; for h in $(FUZZ_HARNESSES); do \
	  files=$$(find tests/fuzz/corpus/$$h tests/fuzz/regressions/$$h -type f 2>/dev/null | sort || true); \
	  [ -n "$$files" ] || continue; \
	  echo "fuzz-replay: $$h: $$(echo "$$files" | wc -l) inputs"; \
	  $(BUILD)/fuzz/fuzz_$$h -runs=1 $$files >$(BUILD)/fuzz/replay-$$h.log 2>&1 || \
	    { tail -n 60 $(BUILD)/fuzz/replay-$$h.log; echo "fuzz-replay: $$h: FAILED"; exit 1; }; \
	done; echo "fuzz-replay: ok"

# Replays first (a known regression fails fast), then fuzzes each harness in turn.
fuzz: fuzz-replay
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	mkdir -p $(FUZZ_ARTIFACTS); \
	for h in $(FUZZ_HARNESSES); do \
	  mkdir -p $$tmp/$$h; touch $$tmp/$$h.start; \
	  if [ -d tests/fuzz/corpus/$$h ]; then cp -R tests/fuzz/corpus/$$h/. $$tmp/$$h/; fi; \
	  echo "fuzz: $$h for $(FUZZ_SECONDS)s"; \
	  if TMPDIR=$$tmp $(BUILD)/fuzz/fuzz_$$h $(FUZZ_RUN_OPTS) -max_total_time=$(FUZZ_SECONDS) \
	       -artifact_prefix=$(FUZZ_ARTIFACTS)/$$h- $$tmp/$$h >$$tmp/$$h.log 2>&1; then \
	    grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)|^#[0-9]+.*DONE' $$tmp/$$h.log || true; \
	  else \
	    tail -n 80 $$tmp/$$h.log; \
	    for a in $$(find $(FUZZ_ARTIFACTS) -name "$$h-*" -newer $$tmp/$$h.start); do \
	      echo "fuzz: $$h: input $$a (base64):"; base64 "$$a"; \
	    done; \
	    echo "fuzz: $$h: FAILED (reproduce: $(BUILD)/fuzz/fuzz_$$h FILE)"; exit 1; \
	  fi; \
	done; echo "fuzz: ok"

-include $(FUZZ_LIB_OBJ:.o=.d) $(FUZZ_BINS:$(BUILD)/fuzz/fuzz_%=$(BUILD)/fuzz/tests/fuzz/fuzz_%.d)
