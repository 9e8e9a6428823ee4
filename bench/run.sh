#!/usr/bin/env bash
# run.sh - `make bench`: measures canary against nginx, wrk and blackbox_exporter on 127.0.0.1; prints a table, writes bench/results.json.
#
# Everything listens on 127.0.0.1 only. Every knob is an environment variable
# (defaults in brackets); the defaults take about 8 minutes on 2 cores.
#
#   BUILD [build]            where canary, fakeapi and bench_seed are
#   BENCH_OUT [bench/results.json]
#   BENCH_KEEP [0]           1: keep the temp dir (databases, logs) and say where
#   WRK_S [10]               seconds of each wrk run (nginx ceiling, blackbox)
#   WRK_CONN [64]            wrk connections (-c), two threads
#   PEAK_START [1000]        probes (every 1 s) of the first peak step; doubled until a step
#   PEAK_MAX [32000]           fails (or PEAK_MAX), then PEAK_REFINE bisections
#   PEAK_REFINE [3]
#   PEAK_STEP_S [15]         seconds each peak step runs
#   WARMUP_S [3]             runs in the first seconds after the first run are left out of lag figures
#   LAG_PROBES [10000]       the cost / schedule-accuracy scenario: LAG_PROBES probes every
#   LAG_EVERY_S [10]           LAG_EVERY_S (1,000 probes/s by default) for LAG_S seconds
#   LAG_S [60]
#   DELAY_MS [20]            the fixed delay of the /delay endpoint
#   DELAY_PROBES [50]        probes of /delay (every 1 s) in the honesty scenarios
#   HONEST_S [30]            seconds of each honesty scenario (idle, then at half of peak)
#   SEED_PROBES [1000]       the report scenario: probes at SEED_EVERY_S over SEED_DAYS days
#   SEED_EVERY_S [60]
#   SEED_DAYS [30]
set -u -o pipefail

BUILD=${BUILD:-build}
OUT=${BENCH_OUT:-bench/results.json}
WRK_S=${WRK_S:-10}
WRK_CONN=${WRK_CONN:-64}
PEAK_START=${PEAK_START:-1000}
PEAK_MAX=${PEAK_MAX:-32000}
PEAK_REFINE=${PEAK_REFINE:-3}
PEAK_STEP_S=${PEAK_STEP_S:-15}
WARMUP_S=${WARMUP_S:-3}
LAG_PROBES=${LAG_PROBES:-10000}
LAG_EVERY_S=${LAG_EVERY_S:-10}
LAG_S=${LAG_S:-60}
DELAY_MS=${DELAY_MS:-20}
DELAY_PROBES=${DELAY_PROBES:-50}
HONEST_S=${HONEST_S:-30}
SEED_PROBES=${SEED_PROBES:-1000}
SEED_EVERY_S=${SEED_EVERY_S:-60}
SEED_DAYS=${SEED_DAYS:-30}

CANARY=$PWD/$BUILD/canary
FAKEAPI=$PWD/$BUILD/fakeapi
SEED=$PWD/$BUILD/bench_seed
HZ=$(getconf CLK_TCK)
T=$(mktemp -d /tmp/canary-bench.XXXXXX)
RES=$T/results          # one JSON object per scenario
mkdir -p "$RES"
PIDS=()

say() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "error: $*"; exit 1; }

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	if [ "${BENCH_KEEP:-0}" = 1 ]; then say "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for b in "$CANARY" "$SEED" nginx wrk prometheus-blackbox-exporter sqlite3 jq; do
	command -v "$b" >/dev/null || die "$b not found (run it through make bench)"
done
ulimit -n "$(ulimit -Hn)" 2>/dev/null

# A free TCP port on 127.0.0.1, from $1 upwards.
free_port() {
	local p=$1
	while ss -Htln "sport = :$p" | grep -q .; do p=$((p + 1)); done
	echo "$p"
}

loadavg() { cut -d' ' -f1 /proc/loadavg; }
# utime+stime of pid $1 in ms.
cpu_ms() { awk -v hz="$HZ" '{ sub(/^.*\) /, ""); print ($12 + $13) * 1000 / hz }' "/proc/$1/stat"; }
# VmHWM / VmRSS of pid $1 in MB.
vm_mb() { awk -v k="$2:" '$1 == k { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

# ---------------------------------------------------------------- nginx
NGX=$T/nginx
NGX_PORT=$(free_port 18480)
mkdir -p "$NGX/tmp"
ECHO_MOD=/usr/lib/nginx/modules/ngx_http_echo_module.so
DELAY_URL=
if [ -f "$ECHO_MOD" ]; then
	LOAD_ECHO="load_module $ECHO_MOD;"
	DELAY_LOC="location = /delay { default_type application/json; echo_sleep $(awk -v d="$DELAY_MS" 'BEGIN { printf "%.3f", d / 1000 }'); echo '{\"ok\":true}'; }"
	DELAY_URL=http://127.0.0.1:$NGX_PORT/delay
	DELAY_BY="nginx echo_sleep"
else
	LOAD_ECHO=
	DELAY_LOC=
fi
cat >"$NGX/nginx.conf" <<EOF
$LOAD_ECHO
worker_processes 2;
worker_rlimit_nofile 20000;
pid $NGX/nginx.pid;
error_log $NGX/error.log warn;
events { worker_connections 16000; }
http {
	access_log off;
	client_body_temp_path $NGX/tmp/body;
	proxy_temp_path $NGX/tmp/proxy;
	fastcgi_temp_path $NGX/tmp/fastcgi;
	uwsgi_temp_path $NGX/tmp/uwsgi;
	scgi_temp_path $NGX/tmp/scgi;
	server {
		listen 127.0.0.1:$NGX_PORT backlog=4096;
		location = /api/ok.json {
			default_type application/json;
			return 200 '{"ok":true,"service":"canary-bench","items":[1,2,3]}';
		}
		$DELAY_LOC
	}
}
EOF
nginx -p "$NGX" -c "$NGX/nginx.conf" -g 'daemon off;' 2>>"$NGX/error.log" &
PIDS+=($!)
OK_URL=http://127.0.0.1:$NGX_PORT/api/ok.json
for _ in $(seq 50); do curl -sf "$OK_URL" >/dev/null && break; sleep 0.1; done
curl -sf "$OK_URL" >/dev/null || die "nginx did not start: $(cat "$NGX/error.log")"
if [ -z "$DELAY_URL" ]; then
	# No echo module: the repo's fixture serves /delay/MS.
	"$FAKEAPI" --port 0 >"$T/fakeapi.out" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 50); do grep -q '^PORT' "$T/fakeapi.out" && break; sleep 0.1; done
	DELAY_URL=http://127.0.0.1:$(awk '/^PORT/ { print $2 }' "$T/fakeapi.out")/delay/$DELAY_MS
	DELAY_BY="build/fakeapi /delay/MS"
fi
say "nginx on 127.0.0.1:$NGX_PORT; delay endpoint $DELAY_URL ($DELAY_BY, $DELAY_MS ms)"

# ---------------------------------------------------------------- wrk: the ceiling, then blackbox_exporter
# Runs wrk; prints "rps requests errors".
run_wrk() {
	local out
	out=$(wrk -t2 -c"$WRK_CONN" -d"${WRK_S}s" "$@" 2>&1)
	echo "$out" >>"$T/wrk.log"
	local rps req err
	rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
	req=$(awk '/requests in/ { print $1 }' <<<"$out")
	err=$(awk '/Socket errors:/ { gsub(/,/, ""); print $4 + $6 + $8 + $10 } /Non-2xx/ { print $NF }' <<<"$out" |
		awk '{ s += $1 } END { print s + 0 }')
	echo "${rps:-0} ${req:-0} ${err:-0}"
}

say "wrk -c$WRK_CONN -H 'Connection: close' against nginx for ${WRK_S}s (load $(loadavg))"
read -r WRK_RPS WRK_REQ WRK_ERR < <(run_wrk -H 'Connection: close' "$OK_URL")
say "  $WRK_RPS requests/s ($WRK_ERR errors)"
jq -n --argjson rps "$WRK_RPS" --argjson req "$WRK_REQ" --argjson err "$WRK_ERR" --arg load "$(loadavg)" \
	'{scenario: "wrk_close", rps: $rps, requests: $req, errors: $err, load_before: ($load | tonumber)}' >"$RES/wrk.json"

BB_PORT=$(free_port 18490)
cat >"$T/blackbox.yml" <<EOF
modules:
  http_2xx:
    prober: http
    timeout: 5s
    http:
      preferred_ip_protocol: ip4
      ip_protocol_fallback: false
EOF
prometheus-blackbox-exporter --config.file="$T/blackbox.yml" --web.listen-address="127.0.0.1:$BB_PORT" \
	>"$T/blackbox.log" 2>&1 &
BB_PID=$!
PIDS+=($BB_PID)
BB_URL="http://127.0.0.1:$BB_PORT/probe?module=http_2xx&target=$OK_URL"
for _ in $(seq 50); do curl -sf "$BB_URL" >/dev/null && break; sleep 0.1; done
curl -sf "$BB_URL" | grep -q '^probe_success 1' || die "blackbox_exporter does not probe: $(tail -3 "$T/blackbox.log")"
say "blackbox_exporter driven by wrk -c$WRK_CONN for ${WRK_S}s (load $(loadavg))"
c0=$(cpu_ms "$BB_PID")
read -r BB_RPS BB_REQ BB_ERR < <(run_wrk "$BB_URL")
c1=$(cpu_ms "$BB_PID")
BB_CPU=$(awk -v a="$c0" -v b="$c1" -v n="$BB_REQ" 'BEGIN { printf "%.3f", (n > 0 ? (b - a) / n : 0) }')
BB_RSS=$(vm_mb "$BB_PID" VmHWM)
say "  $BB_RPS probes/s, $BB_CPU ms CPU per probe, peak RSS $BB_RSS MB ($BB_ERR errors)"
jq -n --argjson rps "$BB_RPS" --argjson req "$BB_REQ" --argjson err "$BB_ERR" --argjson cpu "$BB_CPU" \
	--argjson rss "$BB_RSS" \
	'{scenario: "blackbox", probes_per_s: $rps, probes: $req, errors: $err, cpu_ms_per_probe: $cpu, peak_rss_mb: $rss}' \
	>"$RES/blackbox.json"
kill "$BB_PID"
wait "$BB_PID" 2>/dev/null

# ---------------------------------------------------------------- canary scenarios
# Writes a config in dir $1 with $2 probes of OK_URL and $4 of DELAY_URL, all every $3 s.
make_config() {
	local dir=$1 nok=$2 every=$3 ndelay=$4 i
	mkdir -p "$dir/probes.d" "$dir/state"
	printf '{ "state_dir": "state", "probes_dir": "probes.d", "control_socket": "state/control.sock",\n  "defaults": { "every": "%ss", "timeout": "5s" } }\n' \
		"$every" >"$dir/canary.json"
	for ((i = 0; i < nok; i++)); do
		printf '{ "url": "%s", "every": "%ss", "expect": ["status == 200", "json.ok == true"] }\n' \
			"$OK_URL" "$every" >"$dir/probes.d/o$(printf %05d "$i").json"
	done
	for ((i = 0; i < ndelay; i++)); do
		printf '{ "url": "%s", "every": "%ss", "expect": ["status == 200", "json.ok == true"] }\n' \
			"$DELAY_URL" "$every" >"$dir/probes.d/d$(printf %03d "$i").json"
	done
}

# One scalar from the scenario's database (null when none).
q() {
	local v
	v=$(sqlite3 -cmd '.timeout 5000' "$DB" "$1")
	echo "${v:-null}"
}

# The value at nearest rank ceil(p/100 * n) of column $1 over the runs matching $2 (joined with steps as s).
pct() {
	local col=$1 where=$2 p=$3
	q "SELECT $col FROM runs r JOIN probes p ON p.id = r.probe_id LEFT JOIN steps s ON s.run_id = r.id AND s.idx = 0
	   WHERE $where ORDER BY $col LIMIT 1 OFFSET (SELECT max(0, ($p * count(*) + 99) / 100 - 1)
	   FROM runs r JOIN probes p ON p.id = r.probe_id WHERE $where)"
}

#
# scenario NAME NOK EVERY_S NDELAY SECONDS: runs canary with those probes
# for SECONDS, stops it with SIGTERM and writes $RES/NAME.json with: runs,
# rate, lag percentiles and on-time share (of the ok probes' runs after the
# warm-up), CPU, RSS, the delay probes' latency, and the accounting of runs
# (the daemon's own "stopped after N runs (M skipped)" against the rows, and
# gaps or doubles in each probe's sequence of scheduled starts, started_ms - lag_us).
#
scenario() {
	local name=$1 nok=$2 every=$3 ndelay=$4 secs=$5
	local dir=$T/$name
	make_config "$dir" "$nok" "$every" "$ndelay"
	DB=$dir/state/canary.db
	local load
	load=$(loadavg)
	say "$name: $nok probes of ok.json + $ndelay of /delay, every ${every}s, ${secs}s (load $load)"
	"$CANARY" run -c "$dir/canary.json" >"$dir/canary.log" 2>&1 &
	local pid=$!
	PIDS+=($pid)
	sleep "$secs"
	kill -0 "$pid" 2>/dev/null || die "$name: canary exited early: $(tail -5 "$dir/canary.log")"
	local cpu hwm rss
	cpu=$(cpu_ms "$pid")
	hwm=$(vm_mb "$pid" VmHWM)
	rss=$(vm_mb "$pid" VmRSS)
	kill -TERM "$pid"
	wait "$pid"
	local rc=$?
	local line reported_runs reported_skipped
	line=$(grep -o 'stopped after [0-9]* runs ([0-9]* skipped)' "$dir/canary.log" | tail -1)
	reported_runs=$(awk '{ print $3 }' <<<"$line")
	reported_skipped=$(awk '{ gsub(/\(/, ""); print $5 }' <<<"$line")
	[ -n "$reported_runs" ] || die "$name: no 'stopped after' line (exit $rc): $(tail -5 "$dir/canary.log")"
	sqlite3 "$DB" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null

	local every_ms=$((every * 1000)) t0 t1 ok="p.name LIKE 'o%'" dl="p.name LIKE 'd%'"
	t0=$(($(q "SELECT min(started_ms) FROM runs") + WARMUP_S * 1000))
	t1=$(q "SELECT max(started_ms) FROM runs")
	local w="r.started_ms >= $t0"
	jq -n \
		--arg name "$name" --argjson nok "$nok" --argjson ndelay "$ndelay" --argjson every "$every" \
		--argjson secs "$secs" --argjson load "$load" --argjson exit "$rc" \
		--argjson cpu_ms "$cpu" --argjson hwm "$hwm" --argjson rss "$rss" \
		--argjson rep_runs "$reported_runs" --argjson rep_skipped "$reported_skipped" \
		--argjson rows "$(q "SELECT count(*) FROM runs")" \
		--argjson rows_done "$(q "SELECT count(*) FROM runs WHERE result < 2")" \
		--argjson rows_skipped "$(q "SELECT count(*) FROM runs WHERE result = 2")" \
		--argjson step_rows "$(q "SELECT count(*) FROM steps")" \
		--argjson gaps "$(q "SELECT coalesce(sum(abs(e - c)), 0) FROM (SELECT CAST(round((max(t) - min(t)) * 1.0 / $every_ms) AS INTEGER) + 1 AS e, count(*) AS c FROM (SELECT probe_id, started_ms - lag_us / 1000 AS t FROM runs) GROUP BY probe_id)")" \
		--argjson window_s "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1000 }')" \
		--argjson w_runs "$(q "SELECT count(*) FROM runs r JOIN probes p ON p.id = r.probe_id WHERE $w AND $ok")" \
		--argjson w_all "$(q "SELECT count(*) FROM runs r WHERE $w")" \
		--argjson w_ontime "$(q "SELECT count(*) FROM runs r JOIN probes p ON p.id = r.probe_id WHERE $w AND $ok AND r.result < 2 AND r.lag_us <= 10000")" \
		--argjson w_failed "$(q "SELECT count(*) FROM runs r JOIN probes p ON p.id = r.probe_id WHERE $w AND $ok AND r.result = 1")" \
		--argjson w_skipped "$(q "SELECT count(*) FROM runs r JOIN probes p ON p.id = r.probe_id WHERE $w AND $ok AND r.result = 2")" \
		--argjson lag50 "$(pct r.lag_us "$w AND $ok AND r.result < 2" 50)" \
		--argjson lag99 "$(pct r.lag_us "$w AND $ok AND r.result < 2" 99)" \
		--argjson lagmax "$(q "SELECT max(lag_us) FROM runs r JOIN probes p ON p.id = r.probe_id WHERE $w AND $ok AND r.result < 2")" \
		--argjson d_n "$(q "SELECT count(*) FROM runs r JOIN probes p ON p.id = r.probe_id WHERE $w AND $dl AND r.result < 2")" \
		--argjson d_failed "$(q "SELECT count(*) FROM runs r JOIN probes p ON p.id = r.probe_id WHERE $w AND $dl AND r.result = 1")" \
		--argjson d50 "$(pct s.total_us "$w AND $dl AND r.result < 2" 50)" \
		--argjson d99 "$(pct s.total_us "$w AND $dl AND r.result < 2" 99)" \
		--argjson dmax "$(q "SELECT coalesce(max(s.total_us), 0) FROM runs r JOIN probes p ON p.id = r.probe_id JOIN steps s ON s.run_id = r.id WHERE $w AND $dl AND r.result < 2")" \
		--argjson store_bytes "$(q "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name IN ('runs', 'steps', 'runs_by_probe')")" \
		--argjson file_bytes "$(stat -c %s "$DB")" \
		--argjson dropped "$(grep -o 'storage is behind: [0-9]*' "$dir/canary.log" | awk '{ s += $NF } END { print s + 0 }')" \
		'def n: if . == "" or . == null then 0 else . end;
		{scenario: $name, ok_probes: $nok, delay_probes: $ndelay, every_s: $every, seconds: $secs,
		 load_before: $load, exit_status: $exit,
		 cpu_ms: $cpu_ms, cpu_ms_per_probe: ($cpu_ms / ([$rep_runs, 1] | max)), peak_rss_mb: $hwm, rss_mb: $rss,
		 reported_runs: $rep_runs, reported_skipped: $rep_skipped,
		 rows: $rows, rows_done: $rows_done, rows_skipped: $rows_skipped, step_rows: $step_rows,
		 runs_lost: ((($rep_runs + $rep_skipped) - $rows | fabs) + $gaps), sequence_gaps: $gaps,
		 storage_drops_logged: $dropped,
		 window_s: $window_s, probes_per_s: (if $window_s > 0 then $w_all / $window_s else 0 end),
		 rows_per_s: (if $window_s > 0 then 2 * $w_all / $window_s else 0 end),
		 ok_runs: $w_runs, ontime_frac: (if $w_runs > 0 then $w_ontime / $w_runs else 0 end),
		 failed: $w_failed, skipped: $w_skipped,
		 lag_p50_ms: ($lag50 | n | . / 1000), lag_p99_ms: ($lag99 | n | . / 1000), lag_max_ms: ($lagmax | n | . / 1000),
		 delay_runs: $d_n, delay_failed: $d_failed,
		 delay_p50_ms: ($d50 | n | . / 1000), delay_p99_ms: ($d99 | n | . / 1000), delay_max_ms: ($dmax / 1000),
		 store_bytes: $store_bytes, db_file_bytes: $file_bytes,
		 bytes_per_step: (if $step_rows > 0 then $store_bytes / $step_rows else 0 end)}' >"$RES/$name.json" ||
		die "$name: could not summarise"
	jq -r '"  \(.probes_per_s | floor) probes/s, on time \(.ontime_frac * 10000 | floor / 100) %, lag p50/p99/max \(.lag_p50_ms)/\(.lag_p99_ms)/\(.lag_max_ms) ms, failed \(.failed), skipped \(.skipped), CPU \(.cpu_ms_per_probe * 1000 | floor / 1000) ms/probe, RSS \(.peak_rss_mb) MB, lost \(.runs_lost)"' \
		"$RES/$name.json" >&2
	[ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$dir/state"
}

# A peak step passes when >= 99 % of the ok probes' runs started within 10 ms, <= 1 % failed, none lost.
step_passes() {
	jq -e '.ontime_frac >= 0.99 and (.failed <= 0.01 * .ok_runs) and .runs_lost == 0 and .ok_runs > 0' \
		"$RES/$1.json" >/dev/null
}

# ---------------------------------------------------------------- 1. peak rate
PASS=0
FAIL=0
n=$PEAK_START
while :; do
	scenario "peak_$n" "$n" 1 0 "$PEAK_STEP_S"
	if step_passes "peak_$n"; then PASS=$n; else FAIL=$n; break; fi
	[ "$n" -ge "$PEAK_MAX" ] && break
	n=$((n * 2))
	[ "$n" -gt "$PEAK_MAX" ] && n=$PEAK_MAX
done
if [ "$FAIL" -gt 0 ]; then
	for ((i = 0; i < PEAK_REFINE; i++)); do
		n=$(((PASS + FAIL) / 2 / 100 * 100))
		[ "$n" -le "$PASS" ] && break
		scenario "peak_$n" "$n" 1 0 "$PEAK_STEP_S"
		if step_passes "peak_$n"; then PASS=$n; else FAIL=$n; fi
	done
fi
if [ "$PASS" -gt 0 ]; then
	PEAK=$(jq '.probes_per_s' "$RES/peak_$PASS.json")
else
	PEAK=0
fi
say "peak: $PASS probes at 1 s pass ($PEAK probes/s measured); first failing step: $FAIL"

# ---------------------------------------------------------------- 2 and 3. cost and schedule accuracy
scenario lag "$LAG_PROBES" "$LAG_EVERY_S" 0 "$LAG_S"

# ---------------------------------------------------------------- 4. measurement honesty
# The target's own latency as curl sees it, one request at a time: what nginx adds to the delay itself.
for ((i = 0; i < 200; i++)); do curl -s -o /dev/null -w '%{time_total}\n' "$DELAY_URL"; done |
	sort -n | awk -v d="$DELAY_MS" '{ v[NR] = $1 * 1000 - d } END { printf "{\"scenario\": \"curl_delay\", \"n\": %d, \"inflation_p50_ms\": %.3f, \"inflation_p99_ms\": %.3f}\n", NR, v[int((NR + 1) / 2)], v[int((NR * 99 + 99) / 100)] }' \
	>"$RES/curl_delay.json"
say "curl alone against /delay: $(jq -c '[.inflation_p50_ms, .inflation_p99_ms]' "$RES/curl_delay.json") ms over $DELAY_MS (p50, p99)"
scenario honest_idle 0 1 "$DELAY_PROBES" "$HONEST_S"
HALF=$((PASS / 2))
scenario honest_half "$HALF" 1 "$DELAY_PROBES" "$HONEST_S"

# ---------------------------------------------------------------- 5. the 30-day report
SD=$T/seeded
mkdir -p "$SD/probes.d" "$SD/state"
printf '{ "state_dir": "state", "probes_dir": "probes.d", "control_socket": "state/control.sock",\n  "retention": { "raw": "1h", "hourly": "400d" } }\n' >"$SD/canary.json"
for ((i = 0; i < SEED_PROBES; i++)); do
	printf '{ "url": "%s", "every": "%ss", "expect": ["status == 200", "json.ok == true"] }\n' \
		"$OK_URL" "$SEED_EVERY_S" >"$SD/probes.d/p$(printf %05d "$i").json"
done
say "seeding $SD: $SEED_PROBES probes every ${SEED_EVERY_S}s, 3 h raw rolled up by store_retention_run, copied over $SEED_DAYS days"
SEED_INFO=$("$SEED" "$SD/state/canary.db" "$SEED_PROBES" "$SEED_EVERY_S" "$SEED_DAYS" 3) || die "seeding failed"
say "  $SEED_INFO"
REPORT_TIMES=()
for i in 1 2 3; do
	s0=$(date +%s%N)
	"$CANARY" report -c "$SD/canary.json" --since "${SEED_DAYS}d" --json >"$T/report.json" || die "canary report failed"
	s1=$(date +%s%N)
	REPORT_TIMES+=("$(awk -v a="$s0" -v b="$s1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')")
done
REPORT_S=$(printf '%s\n' "${REPORT_TIMES[@]}" | sort -n | sed -n 2p)
REPORT_RUNS=$(jq '[.probes[].runs] | add' "$T/report.json")
REPORT_APPROX=$(jq '[.probes[] | select(.approx)] | length' "$T/report.json")
say "  canary report --since ${SEED_DAYS}d: ${REPORT_TIMES[*]} s (median $REPORT_S s); $REPORT_RUNS runs counted, $REPORT_APPROX probes from rollups"
jq -n --argjson info "$SEED_INFO" --argjson s "$REPORT_S" --argjson runs "$REPORT_RUNS" \
	--argjson approx "$REPORT_APPROX" --arg times "${REPORT_TIMES[*]}" \
	--argjson bytes "$(stat -c %s "$SD/state/canary.db")" \
	'{scenario: "report_30d", seconds_median_of_3: $s, seconds_each: ($times | split(" ") | map(tonumber)),
	  runs_counted: $runs, probes_from_rollups: $approx, db_bytes: $bytes, seed: $info}' >"$RES/report.json"

# ---------------------------------------------------------------- results
LOAD_END=$(loadavg)
jq -s \
	--argjson peak_n "$PASS" --argjson fail_n "$FAIL" --argjson peak "$PEAK" \
	--arg delay_by "$DELAY_BY" --argjson delay_ms "$DELAY_MS" --argjson load_end "$LOAD_END" \
	--arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg host "$(nproc) CPUs, $(uname -r)" \
	--arg cpu "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" \
	--arg knobs "WRK_S=$WRK_S WRK_CONN=$WRK_CONN PEAK_START=$PEAK_START PEAK_MAX=$PEAK_MAX PEAK_REFINE=$PEAK_REFINE PEAK_STEP_S=$PEAK_STEP_S WARMUP_S=$WARMUP_S LAG_PROBES=$LAG_PROBES LAG_EVERY_S=$LAG_EVERY_S LAG_S=$LAG_S DELAY_MS=$DELAY_MS DELAY_PROBES=$DELAY_PROBES HONEST_S=$HONEST_S SEED_PROBES=$SEED_PROBES SEED_EVERY_S=$SEED_EVERY_S SEED_DAYS=$SEED_DAYS" \
	'(map({key: .scenario, value: .}) | from_entries) as $s
	| [.[] | select(.runs_lost != null)] as $canary
	| ($s.wrk_close.rps) as $wrk | ($s.blackbox.probes_per_s) as $bb
	| {
	  peak_probes_per_s: $peak,
	  blackbox_probes_per_s: $bb,
	  wrk_close_rps: $wrk,
	  cpu_ms_per_probe: $s.lag.cpu_ms_per_probe,
	  rss_mb_10k: $s.lag.peak_rss_mb,
	  lag_p99_ms: $s.lag.lag_p99_ms,
	  inflation_p99_ms: ($s.honest_half.delay_p99_ms - $delay_ms),
	  bytes_per_step: $s.lag.bytes_per_step,
	  report_30d_s: $s.report_30d.seconds_median_of_3,
	  runs_lost: ($canary | map(.runs_lost) | add),
	  peak_vs_blackbox: (if $bb > 0 then $peak / $bb else null end),
	  peak_vs_wrk_close: (if $wrk > 0 then $peak / $wrk else null end),
	  peak_probes_configured: $peak_n, first_failing_probes: $fail_n,
	  blackbox_cpu_ms_per_probe: $s.blackbox.cpu_ms_per_probe,
	  cpu_ms_per_probe_at_peak: (if $peak_n > 0 then $s["peak_\($peak_n)"].cpu_ms_per_probe else null end),
	  peak_rss_mb_1000_per_s: $s.lag.peak_rss_mb,
	  lag_p50_ms: $s.lag.lag_p50_ms, lag_max_ms: $s.lag.lag_max_ms,
	  inflation_p50_ms: ($s.honest_half.delay_p50_ms - $delay_ms),
	  inflation_idle_p50_ms: ($s.honest_idle.delay_p50_ms - $delay_ms),
	  inflation_idle_p99_ms: ($s.honest_idle.delay_p99_ms - $delay_ms),
	  inflation_curl_p50_ms: $s.curl_delay.inflation_p50_ms, inflation_curl_p99_ms: $s.curl_delay.inflation_p99_ms,
	  rows_per_s_at_peak: (if $peak_n > 0 then $s["peak_\($peak_n)"].rows_per_s else null end),
	  rows_per_s_lag: $s.lag.rows_per_s,
	  runs_skipped: ($canary | map(.rows_skipped) | add),
	  runs_failed: ($canary | map(.failed + .delay_failed) | add),
	  delay_ms: $delay_ms, delay_endpoint: $delay_by,
	  machine: {cpu: $cpu, host: $host, load_end: $load_end,
	            busy: ([.[] | .load_before // 0] | max > 2),
	            note: "load average (1 min) before each scenario is in scenarios[].load_before; busy: some scenario started with a load above 2 (earlier steps of the bench itself leave up to about 1.7)"},
	  date: $date, knobs: $knobs,
	  scenarios: .
	}' "$RES"/*.json >"$T/final.json" || die "could not build results"
mkdir -p "$(dirname "$OUT")"
cp "$T/final.json" "$OUT"

# ---------------------------------------------------------------- the table
jq -r '
	def f(d): if . == null then "n/a" else (. * pow(10; d) | round / pow(10; d) | tostring) end;
	def yes(c): if c then "met" else "**missed**" end;
	. as $r | $r.scenarios as $sc |
	"| Measure | Result | Target | |",
	"|---|---|---|---|",
	"| Peak rate (1 s interval, fresh connection, 2 assertions, all stored; >= 99 % start within 10 ms) | \($r.peak_probes_per_s | f(0)) probes/s (\($r.peak_probes_configured) probes) | >= 4x blackbox | \(yes($r.peak_vs_blackbox >= 4)) |",
	"| blackbox_exporter driven by wrk, same run | \($r.blackbox_probes_per_s | f(0)) probes/s, \($r.blackbox_cpu_ms_per_probe | f(3)) ms CPU/probe | | |",
	"| nginx, wrk -c64 Connection: close, same run | \($r.wrk_close_rps | f(0)) requests/s | | |",
	"| Peak / blackbox, peak / wrk | \($r.peak_vs_blackbox | f(2))x, \($r.peak_vs_wrk_close | f(2))x | >= 4x, - | \(yes($r.peak_vs_blackbox >= 4)) |",
	"| CPU per probe at 1,000 probes/s | \($r.cpu_ms_per_probe | f(3)) ms (at peak: \($r.cpu_ms_per_probe_at_peak | f(3)) ms) | <= 0.1 ms | \(yes($r.cpu_ms_per_probe <= 0.1)) |",
	"| Peak RSS, 10,000 probes at 1,000 probes/s | \($r.rss_mb_10k | f(1)) MB | <= 48 MB | \(yes($r.rss_mb_10k <= 48)) |",
	"| Start lag p50 / p99 / max (10,000 probes, 1,000/s) | \($r.lag_p50_ms | f(2)) / \($r.lag_p99_ms | f(2)) / \($r.lag_max_ms | f(2)) ms | p99 <= 5 ms | \(yes($r.lag_p99_ms <= 5)) |",
	"| Latency over the true delay p50 / p99, curl alone (the target itself) | \($r.inflation_curl_p50_ms | f(2)) / \($r.inflation_curl_p99_ms | f(2)) ms | | |",
	"| Latency inflation p50 / p99, idle | \($r.inflation_idle_p50_ms | f(2)) / \($r.inflation_idle_p99_ms | f(2)) ms | | |",
	"| Latency inflation p50 / p99, at half of peak | \($r.inflation_p50_ms | f(2)) / \($r.inflation_p99_ms | f(2)) ms | p99 <= 1 ms | \(yes($r.inflation_p99_ms <= 1)) |",
	"| Database bytes per stored step (runs + steps + index) | \($r.bytes_per_step | f(0)) B | <= 200 B | \(yes($r.bytes_per_step <= 200)) |",
	"| Rows written per second (runs + steps), at peak / at 1,000/s | \($r.rows_per_s_at_peak | f(0)) / \($r.rows_per_s_lag | f(0)) | | |",
	"| canary report --since 30d (1,000 probes at 60 s, hourly rollups) | \($r.report_30d_s | f(3)) s | < 1 s | \(yes($r.report_30d_s < 1)) |",
	"| Runs lost (scheduled - recorded - skipped), all scenarios | \($r.runs_lost) (skipped: \($r.runs_skipped), failed: \($r.runs_failed)) | 0 | \(yes($r.runs_lost == 0)) |",
	"",
	"Peak steps (probes every 1 s: on-time share, lag p99, CPU/probe):",
	($sc[] | select(.scenario | startswith("peak_")) |
	  "  \(.ok_probes) probes: \(.probes_per_s | f(0))/s, \(.ontime_frac * 100 | f(2)) % on time, lag p99 \(.lag_p99_ms | f(2)) ms, failed \(.failed), skipped \(.skipped), CPU \(.cpu_ms_per_probe | f(3)) ms/probe, load before \(.load_before)"),
	"",
	"Load average before each scenario (the bench itself leaves about 1 behind) is in bench/results.json."
' "$OUT"
say "wrote $OUT"
