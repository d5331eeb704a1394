#!/usr/bin/env bash
# bench/disk-bytes.sh — bytes the disk takes per request: a published Ingest under wrk (-t1 -c64), the sectors
# written to its block device read from /sys/block/<dev>/stat before and after (the device's own count, so the
# page cache and the process's accounting do not blur it). Used for the WAL's recycled segments
# (docs/operations.md, "The write-ahead log").
#
#   bench/disk-bytes.sh DIR [ACK_MODE=wal] [SECS=10]
#
# DIR holds a published GoTrack.Ingest (dotnet publish GoTrack.Ingest -c Release -o DIR). The WAL and the
# NDJSON file go to a temporary folder under /tmp; DEVICE (default: the disk /tmp is on, e.g. vda) names the
# device to read. Other writers on that disk during the run are counted too. Port 18209. Needs wrk.
set -euo pipefail
dir=$1 ack=${2:-wal} secs=${3:-10} port=18209
w=$(mktemp -d /tmp/gotrack-disk.XXXXXX)
dev=${DEVICE:-$(lsblk -no PKNAME "$(findmnt -no SOURCE --target "$w")" 2>/dev/null | head -1)}
[[ -n $dev ]] || dev=$(basename "$(findmnt -no SOURCE --target "$w")")
[[ -r /sys/block/$dev/stat ]] || { echo "disk-bytes.sh: no /sys/block/$dev/stat; set DEVICE" >&2; exit 2; }
( cd "$w" && exec env SERVER_ADDR="127.0.0.1:$port" OUTPUTS=log ACK_MODE="$ack" LOG_PATH="$w/events.ndjson" \
    Logging__LogLevel__Default=Warning "$dir/GoTrack.Ingest" >"$w/out.log" 2>&1 ) &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$w"' EXIT
sleep 4
q='?e=pageview&url=https%3A%2F%2Fshop.example.com%2Fproducts%2F42%3Fcolor%3Dred&ref=https%3A%2F%2Fwww.google.com%2F&uid=u_1234567&utm_source=newsletter&utm_medium=email&utm_campaign=fall_sale&plan=pro'
ua='Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36'
s0=$(awk '{print $7}' "/sys/block/$dev/stat")
out=$(wrk -t1 -c64 -d"${secs}s" -H "User-Agent: $ua" "http://127.0.0.1:$port/px.gif$q")
s1=$(awk '{print $7}' "/sys/block/$dev/stat")
n=$(awk '/requests in/ {print $1}' <<<"$out")
echo "$dir ACK_MODE=$ack: $n requests in ${secs}s; /dev/$dev took $(( (s1 - s0) * 512 / 1024 / 1024 )) MiB, $(( (s1 - s0) * 512 / n )) B/request"
