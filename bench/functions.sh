#!/usr/bin/env bash
# Issue-3 figures in one run: upload throughput to the folder store and to s3rver (the real S3
# protocol, tests/s3rver) with 1, 4 and 16 concurrent streams, and the SST function's per-shard
# time against `pika-ingest convert` on the same shard (the handler must add < 10 % beyond transfer).
# Usage: bench/functions.sh [SIZE=256M] [SHARD=64M]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
size=${1:-256M} shard=${2:-64M}
"$root/scripts/install-deps.sh" >/dev/null
dotnet build "$root/src/PikaIngest.Cli" -c Release -v quiet -nologo >/dev/null
cli=(dotnet "$root/src/PikaIngest.Cli/bin/Release/net10.0/pika-ingest.dll")
work=$(mktemp -d /tmp/pika-fbench.XXXX)
s3log="$work/s3rver.log"
NODE_OPTIONS=--openssl-legacy-provider "$root/tests/s3rver/node_modules/.bin/s3rver" --directory "$work/s3" --address 127.0.0.1 --port 0 --no-vhost-buckets >"$s3log" 2>&1 &
s3pid=$!
trap 'kill $s3pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do grep -Eq 'listening on [0-9.]+:[0-9]+' "$s3log" && break; sleep 0.2; done
export AWS_ENDPOINT_URL_S3="http://$(grep -Eo 'listening on [0-9.]+:[0-9]+' "$s3log" | head -1 | cut -d' ' -f3)" AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1
"${cli[@]}" mock --out "$work/local" --batch b --size "$size" --max-file-size "$shard" >/dev/null
rate() { grep -Eo '[0-9.]+ MB/s' | tail -1; }
echo "| upload of $size ($(ls "$work/local/incoming/b" | wc -l) objects) | 1 stream | 4 streams | 16 streams |"
echo "|---|---|---|---|"
for target in folder s3rver; do
  row="| $target |"
  for c in 1 4 16; do
    if [ $target = folder ]; then to="$work/folder-$c"; else to="s3://bench$c"; mkdir -p "$work/s3/bench$c"; fi
    row="$row $("${cli[@]}" upload --from "$work/local" --to "$to" --concurrency $c | rate) |"
  done
  echo "$row"
done
# SST function vs convert, same shard, same store layout (folder store: transfer is a local copy).
event="$work/event.json"
python3 - "$event" <<'PY'
import json, sys
json.dump({"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"local"},"object":{"key":"incoming/b/000001.jsonl"}}}]}, open(sys.argv[1], "w"))
PY
t0=$(date +%s.%N); "${cli[@]}" convert --in "$work/local/incoming/b/000001.jsonl" --out "$work/conv" --batch b >/dev/null; t1=$(date +%s.%N)
line=$("${cli[@]}" invoke sst --event "$event" --store "file://$work" 2>&1 >/dev/null | grep 'records')
t2=$(date +%s.%N)
echo
echo "convert (whole process): $(echo "$t1 - $t0" | bc) s; SST function (whole process): $(echo "$t2 - $t1" | bc) s"
echo "SST function log: $line"
