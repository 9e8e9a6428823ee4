# tests/valgrind.mk - `make valgrind` (canary check and a short canary run under memcheck) and `make soak`.
#
#   make valgrind   against the fixture API: `canary check` of a two-step probe, then
#                   `canary run` of four probes (one failing, alerting to a webhook)
#                   for VALGRIND_SECONDS (10), stopped with SIGTERM. Fails on any
#                   memcheck error or definitely-lost byte (exit 99), or a bad exit.
#   make soak       tests/soak.sh: SOAK_MINUTES (10) with SOAK_PROBES (2000) against
#                   failing targets, kill -9 every two minutes. Not in CI.
#
# The build is the normal one (no sanitizers). No suppressions are needed: the
# leak kinds that fail are "definite" only, and libcurl, OpenSSL and SQLite
# leave nothing definitely lost at exit. Logs stay in $(BUILD)/valgrind/.

VALGRIND_SECONDS ?= 10
VALGRIND_DIR      = $(BUILD)/valgrind
VALGRIND_CMD      = valgrind --leak-check=full --show-leak-kinds=definite \
		    --errors-for-leak-kinds=definite --error-exitcode=99 --num-callers=30
SOAK_MINUTES ?= 10
SOAK_PROBES  ?= 2000

.PHONY: valgrind soak

# The fixture's login password is its default, "secret"; the flow reads it from
# the environment, so the ${env:..} path is exercised too.
valgrind: DEPS_MORE = valgrind
valgrind: deps
	@$(MAKE) --no-print-directory all
	@set -e; d=$(VALGRIND_DIR); rm -rf $$d; mkdir -p $$d/probes.d; \
	$(BUILD)/fakeapi --port 0 --verbose >$$d/fakeapi.out 2>$$d/fakeapi.err & api=$$!; \
	trap 'kill $$api 2>/dev/null || true' EXIT; \
	for i in $$(seq 50); do grep -q '^PORT ' $$d/fakeapi.out && break; sleep 0.1; done; \
	port=$$(sed -n 's/^PORT //p' $$d/fakeapi.out); [ -n "$$port" ] || { echo "valgrind: fakeapi did not start"; exit 1; }; \
	base=http://127.0.0.1:$$port; \
	printf '{ "state_dir": "state", "probes_dir": "probes.d", "control_socket": "state/control.sock",\n  "defaults": { "every": "1s", "timeout": "2s",\n    "alert": { "after": 2, "recover_after": 1, "channels": ["hook"] } },\n  "channels": { "hook": { "type": "webhook", "url": "%s/hook/valgrind" } } }\n' $$base >$$d/canary.json; \
	printf '{ "url": "%s/health", "expect": ["status == 200", "json.status == ok", "latency < 2s"] }\n' $$base >$$d/probes.d/health.json; \
	printf '{ "url": "%s/status/503", "expect": ["status == 200"] }\n' $$base >$$d/probes.d/failing.json; \
	printf '{ "every": "2s", "url": "%s/delay/100", "expect": ["status == 200", "latency < 50ms"] }\n' $$base >$$d/probes.d/slow.json; \
	printf '{ "vars": { "base": "%s", "password": "$${env:VG_PASSWORD}" },\n  "steps": [\n    { "name": "login", "method": "POST", "url": "{{base}}/v1/login",\n      "json": { "username": "probe@example.org", "password": "{{password}}" },\n      "expect": ["status == 200", "json.token exists"], "extract": { "token": "json.token" } },\n    { "name": "submit", "method": "POST", "url": "{{base}}/v1/measurements",\n      "headers": { "Authorization": "Bearer {{token}}" },\n      "json": { "type": "heart_rate", "value": 72, "taken_at": "{{now}}" },\n      "expect": ["status in [200, 201]", "json.id exists"] } ] }\n' $$base >$$d/probes.d/flow.json; \
	echo "valgrind: canary check (two steps) against $$base"; \
	rc=0; VG_PASSWORD=secret $(VALGRIND_CMD) --log-file=$$d/check.vg \
	  $(BUILD)/canary check $$d/probes.d/flow.json >$$d/check.out 2>&1 || rc=$$?; \
	grep -E 'in use at exit|definitely lost|ERROR SUMMARY' $$d/check.vg || true; \
	if [ $$rc -ne 0 ]; then cat $$d/check.out $$d/check.vg; echo "valgrind: canary check exited $$rc"; exit 1; fi; \
	echo "valgrind: canary run for $(VALGRIND_SECONDS)s, then SIGTERM"; \
	rc=0; VG_PASSWORD=secret $(VALGRIND_CMD) --log-file=$$d/run.vg \
	  $(BUILD)/canary run -c $$d/canary.json --log-level info >$$d/run.out 2>&1 & vg=$$!; \
	sleep $(VALGRIND_SECONDS); kill -TERM $$vg; wait $$vg || rc=$$?; \
	grep -E 'in use at exit|definitely lost|ERROR SUMMARY' $$d/run.vg || true; \
	if [ $$rc -ne 0 ]; then tail -n 30 $$d/run.out; cat $$d/run.vg; echo "valgrind: canary run exited $$rc"; exit 1; fi; \
	runs=$$(grep -c 'GET /health\|POST /v1/login\|GET /status/503\|GET /delay/' $$d/fakeapi.err || true); \
	hooks=$$(grep -c '/hook/valgrind' $$d/fakeapi.err || true); \
	echo "valgrind: $$runs probe requests, $$hooks webhook deliveries"; \
	if [ "$$hooks" -eq 0 ]; then tail -n 30 $$d/run.out; echo "valgrind: no alert reached the webhook"; exit 1; fi; \
	echo "valgrind: ok (logs in $$d)"

soak: DEPS_MORE = sqlite3
soak: deps
	@$(MAKE) --no-print-directory all
	BUILD=$(BUILD) SOAK_MINUTES=$(SOAK_MINUTES) SOAK_PROBES=$(SOAK_PROBES) bash tests/soak.sh
