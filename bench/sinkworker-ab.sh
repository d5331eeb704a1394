#!/usr/bin/env bash
# bench/sinkworker-ab.sh — two published SinkWorker builds (or one build with two settings) A B alternating on
# the same topic, each round into a fresh table, and a raw binary COPY of the same events (in the file's
# time order and shuffled) after each pair. Prints rows/s from each one's first row, and CPU seconds.
#
#   bench/sinkworker-ab.sh "ENV_A" DIR_A "ENV_B" DIR_B [ROUNDS=2]
#
# Raw COPY is timed by GoTrack.Bench.Load itself, from its start (connection included); SinkWorker from its
# first row. DIR_* hold a published GoTrack.SinkWorker (dotnet publish GoTrack.SinkWorker -c Release -o DIR); ENV_* are
# space-separated VAR=value pairs (use "X=1" for none). The topic is filled by the published Ingest
# (OUTPUTS=log,kafka, wrk for FILL=14 s) on a mock broker with PARTS=24 partitions: the mock keeps about
# 5 MB per partition, so about 300,000 events. PostgreSQL from PG_BIN (the newest under /usr/lib/postgresql),
# fsync on. Ports 18404 to 18408. Needs wrk; as root the cluster runs as the postgres user.
set -euo pipefail
envA=$1 dirA=$2 envB=$3 dirB=$4 rounds=${5:-2}
PARTS=${PARTS:-24} FILL=${FILL:-14}
repo=$(cd "$(dirname "$0")/.." && pwd)
PG_BIN=${PG_BIN:-$(find /usr/lib/postgresql -path '*/bin/initdb' 2>/dev/null | sort -V | tail -1 | xargs -r dirname || true)}
[[ -x ${PG_BIN:-}/initdb ]] || { echo "sinkworker-ab.sh: PostgreSQL binaries not found (set PG_BIN)" >&2; exit 2; }
t=$(mktemp -d /tmp/gotrack-swab.XXXXXX); chmod 711 "$t"; mkdir "$t/pg"
if (( EUID == 0 )); then chown postgres "$t/pg"; as_pg() { runuser -u postgres -- "$@"; }; else as_pg() { "$@"; }; fi
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 1
  as_pg "$PG_BIN/pg_ctl" -D "$t/pg/data" -m immediate -w stop >/dev/null 2>&1 || true; rm -rf "$t"
}
trap cleanup EXIT
for p in Ingest DevKafka Bench.Load; do
  dotnet publish "$repo/GoTrack.$p/GoTrack.$p.csproj" -c Release -o "$t/${p,,}" -v q -nologo >"$t/build.log" 2>&1 || { cat "$t/build.log" >&2; exit 1; }
done
as_pg "$PG_BIN/initdb" -D "$t/pg/data" -U postgres -A trust -E UTF8 --no-locale --no-sync >/dev/null
as_pg "$PG_BIN/pg_ctl" -D "$t/pg/data" -l "$t/pg/log" -w -o "-p 18407 -k $t/pg -c listen_addresses=127.0.0.1 -c fsync=on" start >/dev/null
psql_q() { "$PG_BIN/psql" -X -A -t -q -h 127.0.0.1 -p 18407 -U postgres -d "${2:-gotrack}" -v ON_ERROR_STOP=1 -c "$1"; }
psql_q "CREATE DATABASE gotrack" postgres
dsn="postgres://postgres@127.0.0.1:18407/gotrack?sslmode=disable"
"$t/devkafka/GoTrack.DevKafka" --port 18406 --topic ev --partitions "$PARTS" >"$t/dk.log" 2>&1 & pids+=($!)
sleep 2
( cd "$t" && exec env SERVER_ADDR=127.0.0.1:18404 OUTPUTS=log,kafka KAFKA_BROKERS=127.0.0.1:18406 KAFKA_TOPIC=ev LOG_PATH="$t/ev.ndjson" \
    LOG_ROTATE_MB=1048576 LOG_BACKUPS=0 Logging__LogLevel__Default=Warning "$t/ingest/GoTrack.Ingest" >"$t/in.log" 2>&1 ) & pids+=($!)
sleep 3
q='?e=pageview&url=https%3A%2F%2Fshop.example.com%2Fproducts%2F42%3Fcolor%3Dred&ref=https%3A%2F%2Fwww.google.com%2F&uid=u_1234567&utm_source=newsletter&utm_medium=email&utm_campaign=fall_sale&plan=pro'
wrk -t1 -c64 -d"${FILL}s" "http://127.0.0.1:18404/px.gif$q" | grep Requests
sleep 3
now_ms() { date +%s%3N; }
table() { "$t/bench.load/GoTrack.Bench.Load" --ddl "$1" >"$t/ddl.sql"; "$PG_BIN/psql" -X -q -h 127.0.0.1 -p 18407 -U postgres -d gotrack -f "$t/ddl.sql" >/dev/null; }
# run NAME DIR ENV: one SinkWorker from a new group into table NAME until it holds $held rows (the first run,
# with held unset, counts what the topic holds: until the count stops moving for a second).
held=""
run() {
  local name=$1 dir=$2 envs=$3 t0 first="" last=-1 n stable=0 p end cpu
  table "$name"; mkdir -p "$t/$name"; t0=$(now_ms)
  # shellcheck disable=SC2086 # the settings are word-split on purpose
  ( cd "$t/$name" && exec env SERVER_ADDR=127.0.0.1:18408 KAFKA_BROKERS=127.0.0.1:18406 KAFKA_TOPIC=ev KAFKA_GROUP_ID="g-$name" PG_DSN="$dsn" \
      PG_TABLE="$name" DLQ_FALLBACK_PATH="$t/$name/dlq.ndjson" Logging__LogLevel__Default=Warning $envs "$dir/GoTrack.SinkWorker" >"$t/$name/out.log" 2>&1 ) &
  p=$!
  while :; do
    kill -0 "$p" 2>/dev/null || { echo "$name: SinkWorker exited; its output:" >&2; cat "$t/$name/out.log" >&2; exit 1; }
    (( $(now_ms) - t0 > ${LIMIT_SECS:-300} * 1000 )) && { echo "$name: no end after ${LIMIT_SECS:-300}s" >&2; kill "$p"; exit 1; }
    # Measured runs poll max(id) (the primary key's index; a count(*) of a growing table is a parallel scan
    # that competed with SinkWorker's own inserts, and COPY is not polled) and count only to confirm the end.
    if [[ -n $held ]]; then
      n=$(psql_q "SELECT coalesce(max(id), 0) FROM $name")
      (( n >= held )) && n=$(psql_q "SELECT count(*) FROM $name")
    else
      n=$(psql_q "SELECT count(*) FROM $name")
    fi
    [[ -z $first && $n -gt 0 ]] && first=$(( $(now_ms) - t0 ))
    if [[ -n $held ]]; then (( n >= held )) && break
    elif (( n == last && n > 0 )); then stable=$((stable + 1)); (( stable >= 20 )) && break
    else stable=0; fi
    last=$n; sleep 0.05
  done
  end=$(( $(now_ms) - t0 ))
  cpu=$(awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$p/stat" 2>/dev/null || echo "?")
  kill "$p"; wait "$p" 2>/dev/null || true
  if [[ -z $held ]]; then held=$n; echo "the topic holds $held events"; return; fi
  awk -v n="$n" -v e="$end" -v f="$first" -v name="$name" -v cpu="$cpu" \
    'BEGIN { printf "%s: %d rows in %.2fs, first row at %.2fs, %.0f rows/s from the first row, %s CPU seconds\n", name, n, e/1000, f/1000, (e > f ? n/((e-f)/1000) : 0), cpu }'
}
run warm "$dirB" ""
tail -n "$held" "$t/ev.ndjson" >"$t/copy.ndjson"; shuf "$t/copy.ndjson" >"$t/shuffled.ndjson"
for i in $(seq "$rounds"); do
  run "a$i" "$dirA" "$envA"
  run "b$i" "$dirB" "$envB"
  table "c$i"; echo "raw COPY, time order: $("$t/bench.load/GoTrack.Bench.Load" --copy "$t/copy.ndjson" "$dsn" "c$i" 500 2>&1 | tail -1)"
  table "s$i"; echo "raw COPY, shuffled:   $("$t/bench.load/GoTrack.Bench.Load" --copy "$t/shuffled.ndjson" "$dsn" "s$i" 500 2>&1 | tail -1)"
done
