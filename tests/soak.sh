#!/usr/bin/env bash
# soak.sh - SOAK_PROBES probes for SOAK_MINUTES against the fixture API's failing routes, kill -9 every two minutes.
#
# `make soak` runs it after building. Each probe gets one target at random:
# most pass, the rest answer 500, are too slow for their latency assertion,
# reset the connection, send garbage, hang past the timeout, or run a
# login + submit flow whose two routes the script breaks and mends at random
# every few seconds (the fixture's /_control/mode), which makes those fail at
# random per run. Every probe alerts to a webhook on the fixture. The daemon
# is killed with SIGKILL every SOAK_KILL_EVERY seconds and restarted; the last
# stretch ends with SIGTERM. It prints runs scheduled (estimated from uptime and
# "every"), recorded and skipped (the database), alert events created (events)
# and delivered (outbox), and the daemon's RSS 5 s after its first start and
# before the end, and for each start (a restart resets RSS, so growth shows
# within a stretch).
#
# Environment: BUILD (build), SOAK_MINUTES (10), SOAK_PROBES (2000),
# SOAK_EVERY_S (15), SOAK_KILL_EVERY (120 seconds), SOAK_RATE_PER_MIN (the
# webhook's rate_per_min, 6000), SOAK_DIR (a new temp dir, kept).
set -euo pipefail

BUILD=${BUILD:-build}
MINUTES=${SOAK_MINUTES:-10}
PROBES=${SOAK_PROBES:-2000}
EVERY_S=${SOAK_EVERY_S:-15}
KILL_EVERY=${SOAK_KILL_EVERY:-120}
# The channel's limit (default 60 a minute) would hold back most of what 2,000 probes raise.
RATE=${SOAK_RATE_PER_MIN:-6000}
DIR=${SOAK_DIR:-$(mktemp -d /tmp/canary-soak.XXXXXX)}
CANARY=$BUILD/canary
FAKEAPI=$BUILD/fakeapi

for t in "$CANARY" "$FAKEAPI"; do
	[ -x "$t" ] || { echo "soak: $t is missing (make all)" >&2; exit 1; }
done
command -v sqlite3 >/dev/null || { echo "soak: sqlite3 is missing (apt-get install sqlite3)" >&2; exit 1; }

api= daemon= flipper=
cleanup() {
	for p in $flipper $daemon $api; do kill -9 "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

# ---------------------------------------------------------------- fixture

mkdir -p "$DIR/probes.d"
# The fixture gets up to 4096 descriptors if the hard limit allows: hung connections pile up there.
(ulimit -n 4096 2>/dev/null || true; exec "$FAKEAPI" --port 0 >"$DIR/fakeapi.out" 2>"$DIR/fakeapi.err") &
api=$!
for _ in $(seq 50); do grep -q '^PORT ' "$DIR/fakeapi.out" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/^PORT //p' "$DIR/fakeapi.out")
[ -n "$port" ] || { echo "soak: fakeapi did not start" >&2; exit 1; }
base=http://127.0.0.1:$port

# POSTs body to the fixture's /_control/mode with bash's /dev/tcp (no curl needed).
set_mode() {
	exec 3<>"/dev/tcp/127.0.0.1/$port" || return 0
	printf 'POST /_control/mode HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
		"${#1}" "$1" >&3
	cat <&3 >/dev/null || true
	exec 3<&-
}

# ---------------------------------------------------------------- config

cat >"$DIR/canary.json" <<EOF
{ "state_dir": "state", "probes_dir": "probes.d", "control_socket": "state/control.sock",
  "defaults": { "every": "${EVERY_S}s", "timeout": "3s",
    "alert": { "after": 2, "recover_after": 1, "channels": ["hook"] } },
  "channels": { "hook": { "type": "webhook", "url": "$base/hook/soak", "rate_per_min": $RATE } } }
EOF

declare -A kinds=()
for i in $(seq -w 1 "$PROBES"); do
	r=$((RANDOM % 100))
	if   [ $r -lt 55 ]; then k=ok;      body="{ \"url\": \"$base/health\", \"expect\": [\"status == 200\", \"json.status == ok\"] }"
	elif [ $r -lt 65 ]; then k=flow;    body="{ \"steps\": [
	  { \"name\": \"login\", \"method\": \"POST\", \"url\": \"$base/v1/login\",
	    \"json\": { \"username\": \"soak\", \"password\": \"secret\" },
	    \"expect\": [\"status == 200\"], \"extract\": { \"token\": \"json.token\" } },
	  { \"name\": \"submit\", \"method\": \"POST\", \"url\": \"$base/v1/measurements\",
	    \"headers\": { \"Authorization\": \"Bearer {{token}}\" }, \"json\": { \"value\": 72 },
	    \"expect\": [\"status in [200, 201]\"] } ] }"
	elif [ $r -lt 75 ]; then k=500;     body="{ \"url\": \"$base/status/500\", \"expect\": [\"status == 200\"] }"
	elif [ $r -lt 83 ]; then k=slow;    body="{ \"url\": \"$base/delay/150\", \"expect\": [\"latency < 100ms\"] }"
	elif [ $r -lt 89 ]; then k=reset;   body="{ \"url\": \"$base/reset\" }"
	elif [ $r -lt 95 ]; then k=garbage; body="{ \"url\": \"$base/garbage\" }"
	else                     k=hang;    body="{ \"url\": \"$base/hang\", \"timeout\": \"1s\" }"
	fi
	kinds[$k]=$(( ${kinds[$k]:-0} + 1 ))
	printf '%s\n' "$body" >"$DIR/probes.d/p$i.json"
done
"$CANARY" config check -c "$DIR/canary.json" >/dev/null

# ---------------------------------------------------------------- run

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

start_daemon() {
	(ulimit -n 8192 2>/dev/null || true; exec "$CANARY" run -c "$DIR/canary.json" --log-level notice \
		>>"$DIR/canary.log" 2>&1) &
	daemon=$!
}

# Breaks and mends the flow's routes at random every 3 to 12 seconds.
(
	modes=(ok ok ok 500 hang)
	while :; do
		set_mode "login=${modes[RANDOM % 5]}&measurements=${modes[RANDOM % 5]}"
		sleep $((3 + RANDOM % 10))
	done
) & flipper=$!

total=$((MINUTES * 60))
echo "soak: $PROBES probes (every ${EVERY_S}s) for ${MINUTES} min, kill -9 every ${KILL_EVERY}s; in $DIR"
echo "soak: targets: $(for k in "${!kinds[@]}"; do printf '%s=%s ' "$k" "${kinds[$k]}"; done)"
t0=$(date +%s)
uptime_s=0 starts=0 kills=0 rss_start=0 rss_end=0 stretches=
while :; do
	now=$(date +%s)
	left=$((t0 + total - now))
	[ $left -gt 0 ] || break
	start_daemon
	starts=$((starts + 1))
	seg=$(( left < KILL_EVERY ? left : KILL_EVERY ))
	seg_t0=$(date +%s)
	# RSS at start: once the config is loaded and the first runs are under way.
	sleep $((seg < 5 ? seg : 5))
	seg_rss=$(rss_kb "$daemon")
	[ $starts -gt 1 ] || rss_start=$seg_rss
	sleep $((seg > 5 ? seg - 5 : 0))
	kill -0 "$daemon" 2>/dev/null || { echo "soak: the daemon died on its own; see $DIR/canary.log" >&2; exit 1; }
	rss_end=$(rss_kb "$daemon")
	stretches="$stretches ${seg_rss}->${rss_end}"
	if [ $((t0 + total - $(date +%s))) -gt 0 ]; then
		kill -9 "$daemon"; wait "$daemon" 2>/dev/null || true
		kills=$((kills + 1))
	else
		kill -TERM "$daemon"; wait "$daemon" || { echo "soak: the daemon exited $? on SIGTERM" >&2; exit 1; }
	fi
	daemon=
	uptime_s=$((uptime_s + $(date +%s) - seg_t0))
done

# ---------------------------------------------------------------- report

q() { sqlite3 "$DIR/state/canary.db" "$1"; }
scheduled=$((uptime_s * PROBES / EVERY_S))
recorded=$(q "SELECT count(*) FROM runs WHERE result IN (0, 1)")
failed=$(q "SELECT count(*) FROM runs WHERE result = 1")
skipped=$(q "SELECT count(*) FROM runs WHERE result = 2")
events=$(q "SELECT count(*) FROM events")
kinds_ev=$(q "SELECT group_concat(kind || '=' || n, ' ') FROM (SELECT kind, count(*) n FROM events GROUP BY kind)")
delivered=$(q "SELECT count(*) FROM outbox WHERE state = 1")
outbox=$(q "SELECT group_concat(s || '=' || n, ' ') FROM (SELECT CASE state WHEN 0 THEN 'pending' WHEN 1 THEN 'delivered'
	WHEN 2 THEN 'gave_up' WHEN 3 THEN 'skipped' ELSE 'suppressed' END s, count(*) n FROM outbox GROUP BY state)")

echo "soak: ${MINUTES} min, $PROBES probes every ${EVERY_S}s, $starts starts, $kills kill -9"
echo "  runs scheduled  ~$scheduled (daemon uptime ${uptime_s}s x $PROBES / ${EVERY_S}s)"
echo "  runs recorded   $recorded ($failed failed)"
echo "  runs skipped    $skipped"
echo "  alert events    $events created (${kinds_ev:-none}); $delivered delivered (outbox: ${outbox:-empty})"
echo "  RSS             $((rss_start / 1024)) MiB at start, $((rss_end / 1024)) MiB at end (${rss_start} kB -> ${rss_end} kB)"
echo "  RSS per start   (kB, 5 s in -> before the kill)$stretches"
echo "  state and logs  $DIR"
