#!/usr/bin/env bash
# bench/ab.sh — two published Ingest builds (or one build with two settings) side by side, A B alternating:
# wrk -t1 -c64 per round against each, and the server's CPU time per request (utime + stime from
# /proc/PID/stat over the round, divided by its requests). Prints each round and the medians of A/B.
#
#   bench/ab.sh "ENV_A" DIR_A "ENV_B" DIR_B [ROUNDS=5] [SECS=6] [ACK_MODE=memory]
#
# DIR_* hold a published GoTrack.Ingest (dotnet publish GoTrack.Ingest -c Release -o DIR). ENV_* are
# space-separated VAR=value pairs given to that server last, so they win (use "X=1" for none); OUTPUTS
# (default log) and EXTRA_ENV apply to both. Ports 18201 and 18202. Needs wrk.
set -euo pipefail
envA=$1 dirA=$2 envB=$3 dirB=$4 rounds=${5:-5} secs=${6:-6} ack=${7:-memory}
q='?e=pageview&url=https%3A%2F%2Fshop.example.com%2Fproducts%2F42%3Fcolor%3Dred&ref=https%3A%2F%2Fwww.google.com%2F&uid=u_1234567&utm_source=newsletter&utm_medium=email&utm_campaign=fall_sale&plan=pro'
ua='Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36'
w=$(mktemp -d /tmp/gotrack-ab.XXXXXX)
start() {
  local port=$1 envs=$2 dir=$3
  mkdir -p "$w/$port"
  # shellcheck disable=SC2086 # the settings are word-split on purpose
  ( cd "$w/$port" && exec env SERVER_ADDR="127.0.0.1:$port" OUTPUTS="${OUTPUTS:-log}" ACK_MODE="$ack" LOG_PATH="$w/$port/events.ndjson" \
      Logging__LogLevel__Default=Warning ${EXTRA_ENV:-} $envs "$dir/GoTrack.Ingest" >"$w/$port/out.log" 2>&1 ) &
  echo $!
}
pa=$(start 18201 "$envA" "$dirA"); pb=$(start 18202 "$envB" "$dirB")
trap 'kill $pa $pb 2>/dev/null; sleep 1; rm -rf "$w"' EXIT
sleep 3
for p in 18201 18202; do wrk -t1 -c64 -d5s -H "User-Agent: $ua" "http://127.0.0.1:$p/px.gif$q" >/dev/null; done
hz=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
one() {
  local port=$1 pid=$2 t0 t1 out rps p99
  t0=$(ticks "$pid")
  out=$(wrk -t1 -c64 -d"${secs}s" -H "User-Agent: $ua" --latency "http://127.0.0.1:$port/px.gif$q")
  t1=$(ticks "$pid")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out"); p99=$(awk '/ 99%/ {print $2}' <<<"$out")
  awk -v r="$rps" -v d=$((t1 - t0)) -v s="$secs" -v hz="$hz" -v p="$p99" 'BEGIN { printf "%.0f %.2f %s\n", r, d / hz * 1e6 / (r * s), p }'
}
ra=() rc=()
for i in $(seq "$rounds"); do
  read -r a ca pa99 < <(one 18201 "$pa"); read -r b cb pb99 < <(one 18202 "$pb")
  r=$(awk -v x="$a" -v y="$b" 'BEGIN { printf "%.3f", x / y }'); c=$(awk -v x="$ca" -v y="$cb" 'BEGIN { printf "%.3f", x / y }')
  ra+=("$r"); rc+=("$c")
  echo "round $i: A $a req/s ${ca}us/req p99 $pa99 | B $b req/s ${cb}us/req p99 $pb99 | rps A/B $r cpu A/B $c"
done
printf '%s\n' "${ra[@]}" | sort -n | awk '{v[NR]=$1} END {printf "median rps A/B %s; ", v[int((NR+1)/2)]}'
printf '%s\n' "${rc[@]}" | sort -n | awk '{v[NR]=$1} END {printf "median cpu/req A/B %s over %d rounds\n", v[int((NR+1)/2)], NR}'
