# bench/bench.mk - `make bench`: canary against nginx, wrk and blackbox_exporter on loopback; writes bench/results.json.
#
# Not part of `make test`. Durations and sizes are environment variables, see
# the top of bench/run.sh (defaults: about 8 minutes in all).

BENCH_DEB_PKGS := nginx libnginx-mod-http-echo prometheus-blackbox-exporter wrk sqlite3 time procps

.PHONY: bench

$(BUILD)/bench_seed: $(BUILD)/bench/seed.o $(BUILD)/libcanary.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

bench: DEPS_MORE = $(BENCH_DEB_PKGS)
bench: deps
	@$(MAKE) --no-print-directory all $(BUILD)/bench_seed
	BUILD=$(BUILD) bash bench/run.sh

-include $(BUILD)/bench/seed.d
