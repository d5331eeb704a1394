#!/usr/bin/env bash
# bench/run.sh — GoTrack's reproducible bench: builds Release, then in one go measures
#   1. closed-loop throughput of the published Ingest as a ratio to BareGif (wrk, A/B alternating,
#      ../shared/bench/ratio.sh), OUTPUTS=log with ACK_MODE=memory and ACK_MODE=wal;
#   2. open-loop latency at fixed rates (GoTrack.Bench.Load: scheduled by the clock, measured from the
#      intended send time, HdrHistogram) against Ingest with OUTPUTS=log;
#   3. RSS (VmRSS) and GC counts at steady load, and time from process start to the first 2xx of /px.gif;
#   4. with --micro, the BenchmarkDotNet PixelPathBenchmarks (minutes).
# and prints one table at the end. Everything it starts is stopped on exit.
#
#   bench/run.sh [--micro]
#
# Overrides (environment): ROUNDS=3 SECS=6 CONNS=64 WARM_SECS=8 RATES="5000 10000 20000" RATE_SECS=10
#   LOAD_CONNS=64 LOAD_CLIENT=raw|http BAREGIF_SRC=<repo>/../shared/bench/BareGif (or /work/shared/bench/BareGif) PORT_BASE=18090
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
micro=0
for a in "$@"; do
  case $a in
    --micro) micro=1 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $a" >&2; exit 2 ;;
  esac
done

ROUNDS=${ROUNDS:-3} SECS=${SECS:-6} CONNS=${CONNS:-64} WARM_SECS=${WARM_SECS:-8}
RATES=${RATES:-"5000 10000 20000"} RATE_SECS=${RATE_SECS:-10} LOAD_CONNS=${LOAD_CONNS:-64}
PORT_BASE=${PORT_BASE:-18090}
if [[ -z ${BAREGIF_SRC:-} ]]; then
  for d in "$repo/../shared/bench/BareGif" /work/shared/bench/BareGif; do [[ -d $d ]] && { BAREGIF_SRC=$d; break; }; done
fi
[[ -d ${BAREGIF_SRC:-} ]] || { echo "run.sh: BareGif source not found; set BAREGIF_SRC" >&2; exit 2; }
RATIO_SH=${RATIO_SH:-$(dirname "$BAREGIF_SRC")/ratio.sh}
command -v wrk >/dev/null || { echo "run.sh: wrk not found (apt-get install -y wrk)" >&2; exit 2; }

tmp=$(mktemp -d /tmp/gotrack-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
q='?e=pageview&url=https%3A%2F%2Fshop.example.com%2Fproducts%2F42%3Fcolor%3Dred&ref=https%3A%2F%2Fwww.google.com%2F&uid=u_1234567&utm_source=newsletter&utm_medium=email&utm_campaign=fall_sale&plan=pro'
ua='Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36'

# ---- build -------------------------------------------------------------------------------------------
log "publishing Release: Ingest, BareGif, GoTrack.Bench.Load into $tmp"
dotnet publish "$repo/GoTrack.Ingest/GoTrack.Ingest.csproj" -c Release -o "$tmp/ingest" -v q -nologo >"$tmp/build.log" 2>&1 ||
  { cat "$tmp/build.log" >&2; exit 1; }
cp -r "$BAREGIF_SRC" "$tmp/baregif-src"
rm -rf "$tmp/baregif-src/bin" "$tmp/baregif-src/obj"
dotnet publish "$tmp/baregif-src" -c Release -o "$tmp/baregif" -v q -nologo >>"$tmp/build.log" 2>&1 ||
  { cat "$tmp/build.log" >&2; exit 1; }
dotnet publish "$repo/GoTrack.Bench.Load/GoTrack.Bench.Load.csproj" -c Release -o "$tmp/load" -v q -nologo >>"$tmp/build.log" 2>&1 ||
  { cat "$tmp/build.log" >&2; exit 1; }

# ---- helpers -----------------------------------------------------------------------------------------
now_ms() { date +%s%3N; }

# start_ingest NAME PORT ACK_MODE: starts Ingest, sets $last_pid and $last_startup_ms (start to first 2xx of /px.gif).
start_ingest() {
  local name=$1 port=$2 ack=$3 dir="$tmp/$1"
  mkdir -p "$dir"
  local t0; t0=$(now_ms)
  ( cd "$dir" && exec env SERVER_ADDR="127.0.0.1:$port" OUTPUTS=log ACK_MODE="$ack" LOG_PATH="$dir/events.ndjson" \
      Logging__LogLevel__Default=Warning "$tmp/ingest/GoTrack.Ingest" >"$dir/stdout.log" 2>&1 ) &
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
  out=$(bash "$RATIO_SH" "http://127.0.0.1:$port" "http://127.0.0.1:$bare_port" "$ROUNDS" "$SECS" "$CONNS" | tee -a /dev/stderr)
  med=$(awk '/median/ {print $4}' <<<"$out")
  rps_a=$(grep '^round' <<<"$out" | awk '{print $4}' | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
  rps_b=$(grep '^round' <<<"$out" | sed 's/.*| B \([0-9.]*\) .*/\1/' | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
  p99_a=$(grep '^round' <<<"$out" | awk '{print $7}' | tr '\n' ' ')
  row "closed loop, OUTPUTS=log ACK_MODE=$ack: Ingest/BareGif" "$med (median of $ROUNDS; Ingest $rps_a, BareGif $rps_b req/s median)"
  row "closed loop, OUTPUTS=log ACK_MODE=$ack: Ingest p99 per round" "$p99_a"
  stop "$pid"; port=$((port + 1))
done
stop "$bare_pid"

# ---- 2 and 3. open loop, RSS and GC at steady load ----------------------------------------------------------
start_ingest ingest-open "$port" memory; pid=$last_pid; base="http://127.0.0.1:$port"
log "warming Ingest for the open loop (${WARM_SECS}s)"; warm "$base"
row "RSS after warm-up, Ingest OUTPUTS=log memory (MiB)" "$(rss_mib "$pid")"
for rate in $RATES; do
  gc0=$(gc_snapshot "$base"); peak=0
  log "open loop: $rate req/s for ${RATE_SECS}s, $LOAD_CONNS connections"
  "$tmp/load/GoTrack.Bench.Load" "$base/px.gif$q" "$rate" "$RATE_SECS" "$LOAD_CONNS" "--client=${LOAD_CLIENT:-raw}" >"$tmp/open-$rate.txt" 2>&1 &
  lp=$!; pids+=("$lp")
  while kill -0 "$lp" 2>/dev/null; do r=$(rss_mib "$pid"); (( r > peak )) && peak=$r; sleep 0.5; done
  wait "$lp" || true
  cat "$tmp/open-$rate.txt" >&2
  gc1=$(gc_snapshot "$base")
  res=$(grep '^RESULT' "$tmp/open-$rate.txt" || echo "RESULT failed")
  r_ok=0 r_errors=0
  if [[ $res == "RESULT failed" ]]; then
    row "open loop $rate req/s" "failed (see output above)"
  else
    eval "$(sed 's/^RESULT //; s/\([a-z0-9]*\)=\([^ ]*\)/r_\1=\2;/g' <<<"$res")"
    row "open loop $rate req/s: achieved req/s, errors" "$r_achieved, $r_errors errors"
    row "open loop $rate req/s: p50 / p99 / p99.9 / max (ms)" "$r_p50 / $r_p99 / $r_p999 / $r_max"
    row "open loop $rate req/s: generator fell behind?" "$r_behind ($r_late requests released >2 ms late; $r_client client, $LOAD_CONNS conns)"
  fi
  # Requests Ingest served during the run: the generator's warm-up and measured run (errors included).
  served=$(( ${r_ok:-0} + ${r_errors:-0} ))
  served_all=$(awk -v s="$served" -v w="$RATE_SECS" -v r="$rate" 'BEGIN { ws=(w/5<2?w/5:2); printf "%.0f", s + ws*r }')
  row "open loop $rate req/s: peak RSS (MiB)" "$peak"
  row "open loop $rate req/s: GC gen0/1/2, alloc/req, pause" "$(gc_delta "$gc0" "$gc1" "$served_all")"
done
stop "$pid"

# ---- 4. micro-benchmarks ------------------------------------------------------------------------------------
if (( micro )); then
  log "BenchmarkDotNet PixelPathBenchmarks (minutes)"
  ( cd "$repo" && dotnet run -c Release --project GoTrack.Benchmarks -- --filter '*PixelPathBenchmarks*' ) 2>&1 | tee "$tmp/micro.txt" >&2 ||
    echo "run.sh: the micro-benchmarks failed (output above)" >>"$tmp/micro.txt"
fi

# ---- table --------------------------------------------------------------------------------------------------
echo
echo "GoTrack bench, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?'), wrk and the generator on the same machine"
echo "closed loop: wrk -t1 -c$CONNS, $ROUNDS rounds of ${SECS}s A/B alternating after ${WARM_SECS}s warm-up; open loop: GoTrack.Bench.Load ${LOAD_CLIENT:-raw}, $LOAD_CONNS connections, ${RATE_SECS}s per rate, Ingest OUTPUTS=log ACK_MODE=memory"
printf '| %-64s | %-60s |\n' "measure" "value"
printf '|%s|%s|\n' "$(printf -- '-%.0s' {1..66})" "$(printf -- '-%.0s' {1..62})"
printf '%s\n' "${rows[@]}"
if (( micro )); then
  echo
  echo "PixelPathBenchmarks (BenchmarkDotNet):"
  grep -E '^\|' "$tmp/micro.txt" || echo "(no table; see output above)"
  grep '^run.sh: the micro' "$tmp/micro.txt" || true
fi
