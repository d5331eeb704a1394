#!/usr/bin/env bash
# bench/startup.sh DIR [VAR=value ...] — five starts of the published GoTrack.Ingest in DIR (OUTPUTS=log):
# milliseconds from starting the process to the first 2xx of /px.gif, polled with curl every 10 ms. Port 18401.
set -euo pipefail
dir=$1; shift
for _ in 1 2 3 4 5; do
  w=$(mktemp -d /tmp/gotrack-startup.XXXXXX); t0=$(date +%s%3N)
  ( cd "$w" && exec env "$@" SERVER_ADDR=127.0.0.1:18401 OUTPUTS=log LOG_PATH="$w/e.ndjson" Logging__LogLevel__Default=Warning "$dir/GoTrack.Ingest" >"$w/out.log" 2>&1 ) &
  pid=$!
  until curl -sf -o /dev/null "http://127.0.0.1:18401/px.gif?e=x"; do
    kill -0 "$pid" 2>/dev/null || { cat "$w/out.log" >&2; exit 1; }
    sleep 0.01
  done
  printf '%s ' "$(( $(date +%s%3N) - t0 ))"
  kill "$pid"; wait "$pid" 2>/dev/null || true; rm -rf "$w"
done
echo
