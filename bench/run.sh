#!/usr/bin/env bash
# bench/run.sh — GoTrack's reproducible bench: builds Release, then in one go measures
#   1. closed-loop throughput of the published Ingest as a ratio to BareGif (wrk, A/B alternating,
#      ../shared/bench/ratio.sh), OUTPUTS=log with ACK_MODE=memory and ACK_MODE=wal;
#   2. open-loop latency at fixed rates (GoTrack.Bench.Load: scheduled by the clock, measured from the
#      intended send time, HdrHistogram) against Ingest with OUTPUTS=log;
#   3. RSS (VmRSS) and GC counts at steady load, and time from process start to the first 2xx of /px.gif;
#   4. all three sinks (OUTPUTS=log,kafka,postgres, memory acks) against a mock Kafka broker
#      (GoTrack.DevKafka) and a throwaway PostgreSQL cluster: first open-loop latency and peak RSS at
#      SINK_OPEN_RATE (steady load, warmed at that rate), then the closed-loop ratio to BareGif, a sustained
#      open loop with each sink's queue depth sampled and every event counted in every sink afterwards,
#      and GoTrack.SinkWorker against a raw binary COPY;
#   5. with --micro, the BenchmarkDotNet PixelPathBenchmarks (minutes).
# and prints one table at the end. Everything it starts is stopped on exit. With --aot, Ingest is the
# Native AOT build (-r linux-x64 -p:PublishAot=true, a minute or two more to publish); with --trimmed, the
# trimmed self-contained JIT build (-r linux-x64 -p:PublishTrimmed=true); the title says which.
#
#   bench/run.sh [--sinks-only | --no-sinks] [--micro] [--aot | --trimmed]
#
# Overrides (environment): ROUNDS=3 SECS=6 CONNS=64 WARM_SECS=8 RATES="5000 10000 20000" RATE_SECS=10
#   LOAD_CONNS=64 LOAD_CLIENT=raw|http BAREGIF_SRC=<repo>/../shared/bench/BareGif (or /work/shared/bench/BareGif) PORT_BASE=18090
#   all sinks: SINK_RATE=25000 SINK_SECS=60 SINK_OPEN_RATE=10000 SINK_PARTITIONS=6 DRAIN_SECS=120
#   BACKLOG_MAX=<SINK_RATE> (most events a sink may still hold at the last sample to count as not growing)
#   COPY_BATCH=500 (rows per COPY, SinkWorker's PG_BATCH_SIZE default) SINKWORKER_SECS=300 PG_BIN=/usr/lib/postgresql/<newest>/bin
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
micro=0 base=1 sinks=1 aot=0 trimmed=0
for a in "$@"; do
  case $a in
    --micro) micro=1 ;;
    --aot) aot=1 ;;
    --trimmed) trimmed=1 ;;
    --sinks-only) base=0; sinks=1 ;;
    --no-sinks) base=1; sinks=0 ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $a" >&2; exit 2 ;;
  esac
done

ROUNDS=${ROUNDS:-3} SECS=${SECS:-6} CONNS=${CONNS:-64} WARM_SECS=${WARM_SECS:-8}
RATES=${RATES:-"5000 10000 20000"} RATE_SECS=${RATE_SECS:-10} LOAD_CONNS=${LOAD_CONNS:-64}
PORT_BASE=${PORT_BASE:-18090}
SINK_RATE=${SINK_RATE:-25000} SINK_SECS=${SINK_SECS:-60} SINK_OPEN_RATE=${SINK_OPEN_RATE:-10000} SINK_PARTITIONS=${SINK_PARTITIONS:-6}
DRAIN_SECS=${DRAIN_SECS:-120} BACKLOG_MAX=${BACKLOG_MAX:-$SINK_RATE} COPY_BATCH=${COPY_BATCH:-500} SINKWORKER_SECS=${SINKWORKER_SECS:-300}
if [[ -z ${BAREGIF_SRC:-} ]]; then
  for d in "$repo/../shared/bench/BareGif" /work/shared/bench/BareGif; do [[ -d $d ]] && { BAREGIF_SRC=$d; break; }; done
fi
[[ -d ${BAREGIF_SRC:-} ]] || { echo "run.sh: BareGif source not found; set BAREGIF_SRC" >&2; exit 2; }
RATIO_SH=${RATIO_SH:-$(dirname "$BAREGIF_SRC")/ratio.sh}
command -v wrk >/dev/null || { echo "run.sh: wrk not found (apt-get install -y wrk)" >&2; exit 2; }
if (( sinks )); then
  PG_BIN=${PG_BIN:-$(find /usr/lib/postgresql -path '*/bin/initdb' 2>/dev/null | sort -V | tail -1 | xargs -r dirname)}
  [[ -x ${PG_BIN:-}/initdb && -x $PG_BIN/pg_ctl && -x $PG_BIN/psql ]] ||
    { echo "run.sh: PostgreSQL binaries not found (apt-get install -y postgresql, or set PG_BIN)" >&2; exit 2; }
fi

tmp=$(mktemp -d /tmp/gotrack-bench.XXXXXX)
pids=()
pg_started=0
# initdb refuses root: as root the throwaway cluster runs as the postgres user (nobody without one), as GoTrack.Tests does.
if (( EUID == 0 )); then
  pg_user=postgres; id -u postgres >/dev/null 2>&1 || pg_user=nobody
  as_pg() { runuser -u "$pg_user" -- "$@"; }
else
  as_pg() { "$@"; }
fi
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if (( pg_started )); then as_pg "$PG_BIN/pg_ctl" -D "$tmp/pg/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
q='?e=pageview&url=https%3A%2F%2Fshop.example.com%2Fproducts%2F42%3Fcolor%3Dred&ref=https%3A%2F%2Fwww.google.com%2F&uid=u_1234567&utm_source=newsletter&utm_medium=email&utm_campaign=fall_sale&plan=pro'
ua='Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36'

# ---- build -------------------------------------------------------------------------------------------
flavor=""
(( aot )) && flavor="Native AOT"
(( trimmed )) && flavor="trimmed, self-contained JIT"
log "publishing Release: Ingest${flavor:+ ($flavor)}, BareGif, GoTrack.Bench.Load into $tmp"
ingest_publish=()
(( aot )) && ingest_publish=(-r linux-x64 -p:PublishAot=true)
(( trimmed )) && ingest_publish=(-r linux-x64 -p:PublishTrimmed=true)
dotnet publish "$repo/GoTrack.Ingest/GoTrack.Ingest.csproj" -c Release "${ingest_publish[@]}" -o "$tmp/ingest" -v q -nologo >"$tmp/build.log" 2>&1 ||
  { cat "$tmp/build.log" >&2; exit 1; }
cp -r "$BAREGIF_SRC" "$tmp/baregif-src"
rm -rf "$tmp/baregif-src/bin" "$tmp/baregif-src/obj"
dotnet publish "$tmp/baregif-src" -c Release -o "$tmp/baregif" -v q -nologo >>"$tmp/build.log" 2>&1 ||
  { cat "$tmp/build.log" >&2; exit 1; }
dotnet publish "$repo/GoTrack.Bench.Load/GoTrack.Bench.Load.csproj" -c Release -o "$tmp/load" -v q -nologo >>"$tmp/build.log" 2>&1 ||
  { cat "$tmp/build.log" >&2; exit 1; }
if (( sinks )); then
  log "publishing Release: GoTrack.DevKafka, GoTrack.SinkWorker"
  for p in DevKafka SinkWorker; do
    dotnet publish "$repo/GoTrack.$p/GoTrack.$p.csproj" -c Release -o "$tmp/${p,,}" -v q -nologo >>"$tmp/build.log" 2>&1 ||
      { cat "$tmp/build.log" >&2; exit 1; }
  done
fi

# ---- helpers -----------------------------------------------------------------------------------------
now_ms() { date +%s%3N; }

# start_ingest NAME PORT ACK_MODE [VAR=VALUE...]: starts Ingest (OUTPUTS=log unless a VAR says otherwise),
# sets $last_pid and $last_startup_ms (start to first 2xx of /px.gif).
start_ingest() {
  local name=$1 port=$2 ack=$3 dir="$tmp/$1"
  shift 3
  mkdir -p "$dir"
  local t0; t0=$(now_ms)
  ( cd "$dir" && exec env SERVER_ADDR="127.0.0.1:$port" OUTPUTS=log ACK_MODE="$ack" LOG_PATH="$dir/events.ndjson" \
      Logging__LogLevel__Default=Warning "$@" "$tmp/ingest/GoTrack.Ingest" >"$dir/stdout.log" 2>&1 ) &
  last_pid=$!; pids+=("$last_pid")
  wait_2xx "http://127.0.0.1:$port" "$name" "$last_pid"
  last_startup_ms=$(( $(now_ms) - t0 ))
}
start_baregif() {
  local port=$1 t0; t0=$(now_ms)
  "$tmp/baregif/BareGif" --urls "http://127.0.0.1:$port" >"$tmp/baregif.log" 2>&1 &
  last_pid=$!; pids+=("$last_pid")
  wait_2xx "http://127.0.0.1:$port" BareGif "$last_pid"
  last_startup_ms=$(( $(now_ms) - t0 ))
}
wait_2xx() {
  local base=$1 name=$2 pid=$3
  for _ in $(seq 3000); do
    curl -fs -o /dev/null "$base/px.gif$q" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { echo "run.sh: $name exited; its output:" >&2; cat "$tmp"/*/stdout.log "$tmp"/baregif.log 2>/dev/null >&2; exit 1; }
    sleep 0.01
  done
  echo "run.sh: $name gave no 2xx in 30 s" >&2; exit 1
}
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
warm() { wrk -t1 -c"$CONNS" -d"${WARM_SECS}s" -H "User-Agent: $ua" "$1/px.gif$q" >/dev/null; }
rss_mib() { awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }
# gc_snapshot BASE: "gen0 gen1 gen2 allocated_bytes pause_seconds" so far, from Ingest's Prometheus /metrics
# (.NET's System.Runtime meter: dotnet_gc_collections_total per generation, dotnet_gc_heap_total_allocated_bytes_total,
# dotnet_gc_pause_time_seconds_total). "n/a" when /metrics does not have them.
gc_snapshot() {
  curl -fs "$1/metrics" | awk '
    /^dotnet_gc_collections_total\{/ { g=$0; sub(/.*gc_heap_generation="/, "", g); sub(/".*/, "", g); v[g]=$NF; n++ }
    /^dotnet_gc_heap_total_allocated_bytes_total/ { a=$NF }
    /^dotnet_gc_pause_time_seconds_total/ { p=$NF }
    END { if (n==0) print "n/a"; else printf "%d %d %d %.0f %s\n", v["gen0"], v["gen1"], v["gen2"], a, (p==""?0:p) }'
}
# gc_delta BEFORE AFTER REQUESTS -> "gen0/gen1/gen2 collections, N B allocated/request, P ms GC pause"
gc_delta() {
  [[ $1 == n/a || $2 == n/a ]] && { echo "n/a (no GC metrics on /metrics)"; return; }
  awk -v a="$1" -v b="$2" -v r="$3" 'BEGIN { split(a,x," "); split(b,y," ");
    printf "%d/%d/%d, %.0f B alloc/req, %.1f ms GC pause", y[1]-x[1], y[2]-x[2], y[3]-x[3], (r>0 ? (y[4]-x[4])/r : 0), (y[5]-x[5])*1000 }'
}

rows=()
row() { rows+=("$(printf '| %-64s | %-60s |' "$1" "$2")"); }

# ratio_rows LABEL INGEST_PORT BARE_PORT: ratio.sh A/B against BareGif, two rows.
ratio_rows() {
  local label=$1 out med rps_a rps_b p99_a
  out=$(bash "$RATIO_SH" "http://127.0.0.1:$2" "http://127.0.0.1:$3" "$ROUNDS" "$SECS" "$CONNS" | tee -a /dev/stderr)
  med=$(awk '/median/ {print $4}' <<<"$out")
  rps_a=$(grep '^round' <<<"$out" | awk '{print $4}' | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
  rps_b=$(grep '^round' <<<"$out" | sed 's/.*| B \([0-9.]*\) .*/\1/' | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
  p99_a=$(grep '^round' <<<"$out" | awk '{print $7}' | tr '\n' ' ')
  row "closed loop, $label: Ingest/BareGif" "$med (median of $ROUNDS; Ingest $rps_a, BareGif $rps_b req/s median)"
  row "closed loop, $label: Ingest p99 per round" "$p99_a"
}

# open_loop RATE SECONDS BASE PID OUT [DEPTHS]: GoTrack.Bench.Load against BASE while PID's VmRSS is sampled
# every 0.5 s (peak in $peak) and, given DEPTHS, Ingest's gotrack_queue_depth every 5 s (appended to that
# file as "SECONDS sink=depth ..."). Sets $res (the RESULT line, or "RESULT failed") and r_* from it.
open_loop() {
  local rate=$1 secs=$2 base=$3 pid=$4 out=$5 depths=${6:-} i=0 lp r
  peak=0
  "$tmp/load/GoTrack.Bench.Load" "$base/px.gif$q" "$rate" "$secs" "$LOAD_CONNS" "--client=${LOAD_CLIENT:-raw}" >"$out" 2>&1 &
  lp=$!; pids+=("$lp")
  while kill -0 "$lp" 2>/dev/null; do
    r=$(rss_mib "$pid"); (( r > peak )) && peak=$r
    if [[ -n $depths ]] && (( i > 0 && i % 10 == 0 )); then echo "$((i / 2)) $(queue_depths "$base")" >>"$depths"; fi
    i=$((i + 1)); sleep 0.5
  done
  wait "$lp" || true
  cat "$out" >&2
  res=$(grep '^RESULT' "$out" || echo "RESULT failed")
  r_ok=0 r_errors=0 r_achieved="" r_p50="" r_p99="" r_p999="" r_max="" r_behind="" r_late="" r_client=""
  if [[ $res != "RESULT failed" ]]; then eval "$(sed 's/^RESULT //; s/\([a-z0-9]*\)=\([^ ]*\)/r_\1=\2;/g' <<<"$res")"; fi
}
# result_rows LABEL: the rate, latency and schedule rows of the last open_loop run.
result_rows() {
  if [[ $res == "RESULT failed" ]]; then
    row "$1" "failed (see output above)"
  else
    row "$1: achieved req/s, errors" "$r_achieved, $r_errors errors"
    row "$1: p50 / p99 / p99.9 / max (ms)" "$r_p50 / $r_p99 / $r_p999 / $r_max"
    row "$1: generator fell behind?" "$r_behind ($r_late requests released >2 ms late; $r_client client, $LOAD_CONNS conns)"
  fi
}
# open_rows LABEL RATE SECONDS GC0 GC1: the rows of one open_loop run.
open_rows() {
  local label=$1 rate=$2 secs=$3 served served_all
  result_rows "$label"
  # Requests Ingest served during the run: the generator's warm-up and measured run (errors included).
  served=$(( ${r_ok:-0} + ${r_errors:-0} ))
  served_all=$(awk -v s="$served" -v w="$secs" -v r="$rate" 'BEGIN { ws=(w/5<2?w/5:2); printf "%.0f", s + ws*r }')
  row "$label: peak RSS (MiB)" "$peak"
  row "$label: GC gen0/1/2, alloc/req, pause" "$(gc_delta "$4" "$5" "$served_all")"
}

if (( base )); then
# ---- 1. closed-loop ratio to BareGif ---------------------------------------------------------------------
bare_port=$PORT_BASE
start_baregif "$bare_port"; bare_pid=$last_pid; bare_start=$last_startup_ms
log "warming BareGif (${WARM_SECS}s)"; warm "http://127.0.0.1:$bare_port"
row "startup to first 2xx, BareGif (ms)" "$bare_start"

port=$((PORT_BASE + 1))
for ack in memory wal; do
  start_ingest "ingest-$ack" "$port" "$ack"; pid=$last_pid
  row "startup to first 2xx, Ingest OUTPUTS=log ACK_MODE=$ack (ms)" "$last_startup_ms"
  log "warming Ingest ACK_MODE=$ack (${WARM_SECS}s)"; warm "http://127.0.0.1:$port"
  log "ratio Ingest ACK_MODE=$ack / BareGif: $ROUNDS rounds of ${SECS}s, $CONNS connections"
  ratio_rows "OUTPUTS=log ACK_MODE=$ack" "$port" "$bare_port"
  if [[ $ack == memory ]] && command -v nginx >/dev/null; then
    # nginx's empty_gif with a JSON access log (bench/nginx-empty-gif.conf), the same ratio.sh run with nginx as B.
    nginx_port=$((PORT_BASE + 9)); mkdir -p "$tmp/nginx"
    sed -e "s|@DIR@|$tmp/nginx|g" -e "s|@PORT@|$nginx_port|g" "$repo/bench/nginx-empty-gif.conf" >"$tmp/nginx/nginx.conf"
    nginx -e "$tmp/nginx/error.log" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" >"$tmp/nginx/stdout.log" 2>&1 &
    nginx_pid=$!; pids+=("$nginx_pid")
    wait_2xx "http://127.0.0.1:$nginx_port" nginx "$nginx_pid"
    log "warming nginx (${WARM_SECS}s)"; warm "http://127.0.0.1:$nginx_port"
    log "ratio Ingest ACK_MODE=memory / nginx empty_gif: $ROUNDS rounds of ${SECS}s, $CONNS connections"
    out=$(bash "$RATIO_SH" "http://127.0.0.1:$port" "http://127.0.0.1:$nginx_port" "$ROUNDS" "$SECS" "$CONNS" | tee -a /dev/stderr)
    rps_b=$(grep '^round' <<<"$out" | sed 's/.*| B \([0-9.]*\) .*/\1/' | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
    row "closed loop, OUTPUTS=log ACK_MODE=memory: Ingest/nginx empty_gif" "$(awk '/median/ {print $4}' <<<"$out") (median of $ROUNDS; nginx $rps_b req/s median, JSON access log)"
    stop "$nginx_pid"
  elif [[ $ack == memory ]]; then
    row "closed loop, Ingest/nginx empty_gif" "not run: nginx not installed (apt-get install -y nginx-light)"
  fi
  stop "$pid"; port=$((port + 1))
done
stop "$bare_pid"

# ---- 2 and 3. open loop, RSS and GC at steady load ----------------------------------------------------------
start_ingest ingest-open "$port" memory; pid=$last_pid; base_url="http://127.0.0.1:$port"
log "warming Ingest for the open loop (${WARM_SECS}s)"; warm "$base_url"
row "RSS after warm-up, Ingest OUTPUTS=log memory (MiB)" "$(rss_mib "$pid")"
for rate in $RATES; do
  gc0=$(gc_snapshot "$base_url")
  log "open loop: $rate req/s for ${RATE_SECS}s, $LOAD_CONNS connections"
  open_loop "$rate" "$RATE_SECS" "$base_url" "$pid" "$tmp/open-$rate.txt"
  open_rows "open loop $rate req/s" "$rate" "$RATE_SECS" "$gc0" "$(gc_snapshot "$base_url")"
done
stop "$pid"
fi

# ---- 4. all three sinks ---------------------------------------------------------------------------------------
# queue_depths BASE: "log=N kafka=N postgres=N" from Ingest's gotrack_queue_depth{sink}.
queue_depths() {
  curl -fs "$1/metrics" | awk '/^gotrack_queue_depth\{/ { s=$0; sub(/.*sink="/, "", s); sub(/".*/, "", s); v[s]+=$NF }
    END { for (k in v) printf "%s=%.0f\n", k, v[k] }' | sort | paste -sd' ' -
}
# accepted_total BASE: gotrack_events_total{outcome="accepted"}, every event Ingest answered 2xx for and kept.
accepted_total() {
  curl -fs "$1/metrics" | awk '/^gotrack_events_total\{/ && /outcome="accepted"/ { n+=$NF } END { printf "%.0f", n }'
}
# wait_drained BASE SECONDS: until every sink's queue depth is 0; prints the seconds it took, or "timeout".
wait_drained() {
  local t0 d; t0=$(now_ms)
  while :; do
    d=$(queue_depths "$1")
    if [[ -n $d ]] && ! grep -q '=[1-9]' <<<"$d"; then awk -v ms=$(( $(now_ms) - t0 )) 'BEGIN { printf "%.1f", ms/1000 }'; return; fi
    (( $(now_ms) - t0 > $2 * 1000 )) && { echo "timeout ($d)"; return; }
    sleep 0.2
  done
}
psql_q() { "$PG_BIN/psql" -X -A -t -q -h 127.0.0.1 -p "$pg_port" -U postgres -d "${2:-gotrack}" -v ON_ERROR_STOP=1 -c "$1"; }
# rows_reached TABLE N PID SECONDS T0_MS: polls TABLE (max(id) every 0.1 s, then count(*) once it can be N)
# until it holds N rows, PID died, or SECONDS passed. Prints "SECONDS_TO_N SECONDS_TO_FIRST_ROW", or "failed: why".
rows_reached() {
  local table=$1 n=$2 pid=$3 limit=$4 t0=$5 first="" m c
  while :; do
    m=$(psql_q "SELECT coalesce(max(id), 0) FROM $table" 2>/dev/null || echo 0)
    if [[ -z $first ]] && (( m > 0 )); then first=$(( $(now_ms) - t0 )); fi
    if (( m >= n )); then
      c=$(psql_q "SELECT count(*) FROM $table")
      (( c >= n )) && { awk -v a=$(( $(now_ms) - t0 )) -v b="${first:-0}" 'BEGIN { printf "%.3f %.3f", a/1000, b/1000 }'; return; }
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      c=$(psql_q "SELECT count(*) FROM $table")
      (( c >= n )) && { awk -v a=$(( $(now_ms) - t0 )) -v b="${first:-0}" 'BEGIN { printf "%.3f %.3f", a/1000, b/1000 }'; return; }
      echo "failed: the process exited with $c of $n rows"; return
    fi
    (( $(now_ms) - t0 > limit * 1000 )) && { echo "failed: $(psql_q "SELECT count(*) FROM $table") of $n rows after ${limit}s"; return; }
    sleep 0.1
  done
}
rate_of() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }'; }
# copy_load FILE TABLE N: GoTrack.Bench.Load --copy of FILE into TABLE, COPY_BATCH rows per COPY; prints what
# rows_reached prints for N rows (its output goes to stderr).
copy_load() {
  local t0 p; t0=$(now_ms)
  "$tmp/load/GoTrack.Bench.Load" --copy "$1" "$pg_dsn" "$2" "$COPY_BATCH" >"$tmp/$2.txt" 2>&1 &
  p=$!
  rows_reached "$2" "$3" "$p" "$SINKWORKER_SECS" "$t0"
  wait "$p" || true
  cat "$tmp/$2.txt" >&2
}
# rate_row LABEL RESULT N: a loader's rows per second from rows_reached's RESULT ("SECONDS FIRST_ROW" or "failed: ...").
rate_row() {
  if [[ $2 == failed* ]]; then row "$1" "$2"; return; fi
  local s f; read -r s f <<<"$2"
  row "$1" "$(rate_of "$3" "$s") ($3 rows in ${s}s from start; 1st row at ${f}s)"
}
# ratio_row LABEL RESULT_A N_A RESULT_B N_B: A's rows per second over B's, from the start and from each one's first row.
ratio_row() {
  [[ $2 == failed* || $4 == failed* ]] && return
  local a fa b fb; read -r a fa <<<"$2"; read -r b fb <<<"$4"
  row "$1" "$(awk -v a="$a" -v fa="$fa" -v n="$3" -v b="$b" -v fb="$fb" -v m="$5" 'BEGIN {
    printf "%.3f from start; %.3f after each one'"'"'s first row", (n / a) / (m / b), (a - fa > 0 && b - fb > 0 ? (n / (a - fa)) / (m / (b - fb)) : 0) }')"
}

if (( sinks )); then
  s_port=$((PORT_BASE + 4)) s_bare_port=$((PORT_BASE + 5)) kafka_port=$((PORT_BASE + 6)) pg_port=$((PORT_BASE + 7)) sw_port=$((PORT_BASE + 8))
  topic=gotrack.events

  log "throwaway PostgreSQL ($PG_BIN) on 127.0.0.1:$pg_port, fsync=on"
  mkdir -p "$tmp/pg"
  if (( EUID == 0 )); then chmod 711 "$tmp"; chown "$pg_user" "$tmp/pg"; fi
  as_pg "$PG_BIN/initdb" -D "$tmp/pg/data" -U postgres -A trust -E UTF8 --no-locale --no-sync >"$tmp/pg-initdb.log" 2>&1 ||
    { cat "$tmp/pg-initdb.log" >&2; exit 1; }
  pg_started=1
  as_pg "$PG_BIN/pg_ctl" -D "$tmp/pg/data" -l "$tmp/pg/log" -w -t 60 \
    -o "-p $pg_port -k $tmp/pg -c listen_addresses=127.0.0.1 -c fsync=on" start >/dev/null ||
    { cat "$tmp/pg/log" >&2; exit 1; }
  psql_q "CREATE DATABASE gotrack" postgres
  pg_dsn="postgres://postgres@127.0.0.1:$pg_port/gotrack?sslmode=disable"

  log "mock Kafka broker (GoTrack.DevKafka) on 127.0.0.1:$kafka_port, topic $topic with $SINK_PARTITIONS partitions"
  "$tmp/devkafka/GoTrack.DevKafka" --port "$kafka_port" --topic "$topic" --partitions "$SINK_PARTITIONS" >"$tmp/devkafka.log" 2>&1 &
  kafka_pid=$!; pids+=("$kafka_pid")
  for _ in $(seq 300); do grep -q 'mock broker on' "$tmp/devkafka.log" && break; kill -0 "$kafka_pid" 2>/dev/null || break; sleep 0.1; done
  grep -q 'mock broker on' "$tmp/devkafka.log" || { echo "run.sh: GoTrack.DevKafka did not start:" >&2; cat "$tmp/devkafka.log" >&2; exit 1; }

  # One file for the whole run (no rotation), so its lines are every event the log sink wrote.
  start_ingest ingest-sinks "$s_port" memory OUTPUTS=log,kafka,postgres KAFKA_BROKERS="127.0.0.1:$kafka_port" KAFKA_TOPIC="$topic" \
    PG_DSN="$pg_dsn" LOG_ROTATE_MB=1048576 LOG_BACKUPS=0
  pid=$last_pid; s_base="http://127.0.0.1:$s_port"
  row "startup to first 2xx, Ingest OUTPUTS=log,kafka,postgres (ms)" "$last_startup_ms"

  # Steady load first: open loop and RSS at SINK_OPEN_RATE (issue 13: p99 at most 10 ms, RSS at most 150 MiB
  # at steady load with all sinks). Warmed at that same rate, before any closed-loop overload: what an
  # overload leaves behind (a backlog, grown GC budgets) is not steady load.
  log "warming Ingest with all sinks: open loop at $SINK_OPEN_RATE req/s for ${WARM_SECS}s"
  open_loop "$SINK_OPEN_RATE" "$WARM_SECS" "$s_base" "$pid" "$tmp/sinks-warm.txt"
  gc0=$(gc_snapshot "$s_base")
  log "open loop, all sinks: $SINK_OPEN_RATE req/s for ${RATE_SECS}s, $LOAD_CONNS connections"
  open_loop "$SINK_OPEN_RATE" "$RATE_SECS" "$s_base" "$pid" "$tmp/sinks-open.txt"
  open_rows "all sinks, open loop $SINK_OPEN_RATE req/s" "$SINK_OPEN_RATE" "$RATE_SECS" "$gc0" "$(gc_snapshot "$s_base")"
  row "all sinks: drained after the open loop (s)" "$(wait_drained "$s_base" "$DRAIN_SECS")"

  start_baregif "$s_bare_port"; s_bare_pid=$last_pid
  log "warming BareGif (${WARM_SECS}s)"; warm "http://127.0.0.1:$s_bare_port"
  log "warming Ingest with all sinks (${WARM_SECS}s)"; warm "$s_base"
  log "ratio Ingest all sinks / BareGif: $ROUNDS rounds of ${SECS}s, $CONNS connections"
  ratio_rows "OUTPUTS=log,kafka,postgres" "$s_port" "$s_bare_port"
  stop "$s_bare_pid"
  log "waiting for the sinks to catch up (at most ${DRAIN_SECS}s)"
  row "all sinks: drained after the closed loop (s)" "$(wait_drained "$s_base" "$DRAIN_SECS")"

  # Sustained open loop with the queue depths sampled.
  log "sustained open loop, all sinks: $SINK_RATE req/s for ${SINK_SECS}s, queue depths every 5 s"
  : >"$tmp/depths.txt"
  open_loop "$SINK_RATE" "$SINK_SECS" "$s_base" "$pid" "$tmp/sinks-sustained.txt" "$tmp/depths.txt"
  cat "$tmp/depths.txt" >&2
  label="all sinks, sustained $SINK_RATE req/s ${SINK_SECS}s"
  result_rows "$label"
  row "$label: peak RSS (MiB)" "$peak"
  for sink in log kafka postgres; do
    v=$(awk -v k="$sink" -v bound="$BACKLOG_MAX" '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) { d = kv[2] + 0; if (n++ == 0) f = d; l = d; if (d > m) m = d } } }
      END { if (n == 0) print "no samples"; else printf "%d / %d / %d (%d samples); %s\n", f, l, m, n, (l <= bound ? "not growing" : "GROWING") }' "$tmp/depths.txt")
    row "queue depth $sink, sustained: first / last / max" "$v"
  done
  drained=$(wait_drained "$s_base" "$DRAIN_SECS")
  row "all sinks: drained after the sustained run (s)" "$drained"

  # Every event in every sink: the 2xx Ingest gave (warm-ups and closed loop included) against each sink.
  expected=$(accepted_total "$s_base")
  stop "$pid"
  found_log=$(cat "$tmp/ingest-sinks"/events*.ndjson | wc -l)
  topic_line=$("$tmp/load/GoTrack.Bench.Load" --count-topic "127.0.0.1:$kafka_port" "$topic" || echo "TOPIC failed")
  log "$topic_line"
  found_kafka=$(sed -n 's/.* high=\([0-9]*\).*/\1/p' <<<"$topic_line")
  held=$(sed -n 's/.* held=\([0-9]*\).*/\1/p' <<<"$topic_line")
  found_pg=$(psql_q "SELECT count(*) FROM events_json" || echo "?")
  check() { if [[ $1 == "$2" ]]; then echo "expected $1, found $2: all there"; else echo "expected $1, found ${2:-?}: MISMATCH"; fi; }
  row "every event: log (NDJSON lines)" "$(check "$expected" "$found_log")"
  row "every event: kafka (sum of high watermarks)" "$(check "$expected" "$found_kafka")"
  row "every event: postgres (count(*) of events_json)" "$(check "$expected" "$found_pg")"

  # ---- SinkWorker against a raw binary COPY of the same events ----
  # The mock broker keeps only the newest ~5 MB per partition (librdkafka's mock log limit), so SinkWorker
  # gets what the topic still holds, N messages; COPY loads the NDJSON file's last N lines, the same events
  # as near as the order allows (the same count and shape).
  if [[ ${held:-0} -gt 0 ]]; then
    # Two fresh tables with GoTrack's own DDL (PostgresSchema.Ddl): the same columns and indexes as events_json.
    for t in events_sinkworker events_copy events_copy_kafka_order; do
      "$tmp/load/GoTrack.Bench.Load" --ddl "$t" >"$tmp/$t.sql"
      "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$pg_port" -U postgres -d gotrack -v ON_ERROR_STOP=1 -f "$tmp/$t.sql" >/dev/null
    done
    tail -n "$held" "$tmp/ingest-sinks/events.ndjson" >"$tmp/copy.ndjson"

    log "SinkWorker: $held messages from $topic into events_sinkworker"
    mkdir -p "$tmp/sinkworker-run"
    sw_t0=$(now_ms)
    ( cd "$tmp/sinkworker-run" && exec env SERVER_ADDR="127.0.0.1:$sw_port" KAFKA_BROKERS="127.0.0.1:$kafka_port" KAFKA_TOPIC="$topic" \
        KAFKA_GROUP_ID="gotrack-bench-$$" PG_DSN="$pg_dsn" PG_TABLE=events_sinkworker DLQ_FALLBACK_PATH="$tmp/sinkworker-run/dlq.ndjson" \
        Logging__LogLevel__Default=Warning "$tmp/sinkworker/GoTrack.SinkWorker" >"$tmp/sinkworker-run/stdout.log" 2>&1 ) &
    sw_pid=$!; pids+=("$sw_pid")
    sw=$(rows_reached events_sinkworker "$held" "$sw_pid" "$SINKWORKER_SECS" "$sw_t0")
    stop "$sw_pid"
    [[ $sw == failed* ]] && cat "$tmp/sinkworker-run/stdout.log" >&2

    log "raw binary COPY: $held lines into events_copy, $COPY_BATCH rows per COPY"
    cp=$(copy_load "$tmp/copy.ndjson" events_copy "$held")
    rate_row "SinkWorker -> Postgres, rows/s" "$sw" "$held"
    rate_row "raw binary COPY of the same events, rows/s" "$cp" "$held"
    ratio_row "SinkWorker / raw COPY rows/s (target 0.8)" "$sw" "$held" "$cp" "$held"

    # The same COPY again, with the rows in the order SinkWorker wrote them (its table's id order: Kafka's,
    # partition by partition), not the file's time order. Inserting out of time order costs Postgres more
    # (the event_id and ts indexes are written all over instead of at their ends), whoever the loader is, so
    # this isolates what SinkWorker itself costs. Both rows are printed; docs/performance.md says which is which.
    if [[ $sw != failed* ]]; then
      psql_q "SELECT event_id FROM events_sinkworker ORDER BY id" >"$tmp/sw-order.txt"
      awk 'NR == FNR { rank[$1] = NR; next }
           { i = index($0, "\"event_id\":\""); if (i) { id = substr($0, i + 12, 36); if (id in rank) print rank[id] "\t" $0 } }' \
        "$tmp/sw-order.txt" "$tmp/copy.ndjson" | sort -n -k1,1 | cut -f2- >"$tmp/copy-kafka-order.ndjson"
      ko_n=$(wc -l <"$tmp/copy-kafka-order.ndjson")
      log "raw binary COPY in SinkWorker's order: $ko_n lines into events_copy_kafka_order"
      if (( ko_n == 0 )); then ko="failed: no line of the file matched SinkWorker's rows"
      else ko=$(copy_load "$tmp/copy-kafka-order.ndjson" events_copy_kafka_order "$ko_n"); fi
      rate_row "raw binary COPY, rows in SinkWorker's order, rows/s" "$ko" "$ko_n"
      ratio_row "SinkWorker / raw COPY in its order (rows/s, target 0.8)" "$sw" "$held" "$ko" "$ko_n"
    fi
  else
    row "SinkWorker against raw COPY" "skipped: the topic holds no messages ($topic_line)"
  fi
fi

# ---- 5. micro-benchmarks ------------------------------------------------------------------------------------
if (( micro )); then
  log "BenchmarkDotNet PixelPathBenchmarks (minutes)"
  ( cd "$repo" && dotnet run -c Release --project GoTrack.Benchmarks -- --filter '*PixelPathBenchmarks*' ) 2>&1 | tee "$tmp/micro.txt" >&2 ||
    echo "run.sh: the micro-benchmarks failed (output above)" >>"$tmp/micro.txt"
fi

# ---- table --------------------------------------------------------------------------------------------------
echo
echo "GoTrack bench, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?'), wrk and the generator on the same machine${flavor:+, Ingest $flavor}"
echo "closed loop: wrk -t1 -c$CONNS, $ROUNDS rounds of ${SECS}s A/B alternating after ${WARM_SECS}s warm-up; open loop: GoTrack.Bench.Load ${LOAD_CLIENT:-raw}, $LOAD_CONNS connections, ${RATE_SECS}s per rate, Ingest OUTPUTS=log ACK_MODE=memory"
if (( sinks )); then
  echo "all sinks: OUTPUTS=log,kafka,postgres ACK_MODE=memory, GoTrack.DevKafka mock broker ($SINK_PARTITIONS partitions), PostgreSQL $("$PG_BIN/postgres" -V | awk '{print $3}') fsync=on; queue depth sampled every 5 s, not growing = last sample <= $BACKLOG_MAX; SinkWorker defaults (PG_BATCH_SIZE 500, PG_COPY true) against COPY in batches of $COPY_BATCH"
fi
printf '| %-64s | %-60s |\n' "measure" "value"
printf '|%s|%s|\n' "$(printf -- '-%.0s' {1..66})" "$(printf -- '-%.0s' {1..62})"
printf '%s\n' "${rows[@]}"
if (( micro )); then
  echo
  echo "PixelPathBenchmarks (BenchmarkDotNet):"
  grep -E '^\|' "$tmp/micro.txt" || echo "(no table; see output above)"
  grep '^run.sh: the micro' "$tmp/micro.txt" || true
fi
