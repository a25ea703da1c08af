#!/usr/bin/env bash
# pika-node against Debian's redis-server (appendonly yes, appendfsync everysec), side by side:
#   1. redis-benchmark -t set,get -n N -P 16 -c 50, alternating servers, ROUNDS rounds; medians and ratios.
#   2. The same batch loaded twice into fresh nodes: `redis-cli --pipe` of its SETs versus INGEST_S3
#      from the folder store; times and the ratio.
# Usage: bench/node.sh [requests (1000000)] [rounds (3)] [batch size (1G)]
# Writes a markdown table to bench/results/node-<date>.md and prints it.
set -euo pipefail
cd "$(dirname "$0")/.."
requests=${1:-1000000}
rounds=${2:-3}
size=${3:-1G}
work=$(mktemp -d /tmp/pika-node-bench.XXXXXX)
. bench/lib.sh
build_release

start_node() { # data-dir port [flags]
  local data=$1 port=$2; shift 2
  $node --port "$port" --data "$data" "$@" >"$data.log" 2>&1 & pids+=($!)
  wait_port "$port"
}
start_redis() { # dir port
  mkdir -p "$1"
  # Started directly (not in a subshell), so the recorded pid is redis-server's own and cleanup stops it.
  redis-server --port "$2" --bind 127.0.0.1 --dir "$1" --appendonly yes --appendfsync everysec --save '' >"$1.log" 2>&1 & pids+=($!)
  wait_port "$2"
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
rps() { redis-benchmark -p "$1" -t "$2" -n "$requests" -P 16 -c 50 -q 2>/dev/null | tr '\r' '\n' | awk -v t="${2^^}" '$1==t":" {print $2}' | tail -1; }

redis_port=$(free_port); start_redis "$work/redis" "$redis_port"
node_port=$(free_port); start_node "$work/node" "$node_port"
for test in set get; do
  for round in $(seq "$rounds"); do
    rps "$redis_port" $test >>"$work/redis-$test"
    rps "$node_port" $test >>"$work/node-$test"
  done
done
declare -A med
for s in redis node; do for t in set get; do med[$s-$t]=$(median <"$work/$s-$t"); done; done

# The same batch two ways, each into a fresh node.
store="$work/store"
"$cli" mock --out "$store/local" --batch bench --size "$size" >/dev/null
"$cli" convert --in "$store/local/incoming/bench" >/dev/null
"$cli" resp --in "$store/local/incoming/bench" --out "$work/sets.resp" >/dev/null
batch_bytes=$(du -sb "$store/local/incoming/bench" | cut -f1)
pipe_port=$(free_port); start_node "$work/pipe" "$pipe_port"
start=$(date +%s.%N)
redis-cli -p "$pipe_port" --pipe <"$work/sets.resp" >"$work/pipe.out"
pipe_s=$(echo "$(date +%s.%N) - $start" | bc)
grep -q "errors: 0" "$work/pipe.out" || { cat "$work/pipe.out"; exit 1; }
ingest_port=$(free_port); start_node "$work/ingest" "$ingest_port" --object-store "file://$store"
completion_event "$store" bench "$work/done-event.json"
start=$(date +%s.%N)
"$cli" invoke manifest --event "$work/done-event.json" --store "file://$store" --pika "127.0.0.1:$ingest_port" >"$work/invoke.out" 2>&1
ingest_s=$(echo "$(date +%s.%N) - $start" | bc)
# The manifest function's own report of the INGEST_S3 round trip, without its process start-up.
ingest_call_ms=$(grep -o 'OK in [0-9]* ms' "$work/invoke.out" | head -1 | grep -o '[0-9]*' || true)
info=$(redis-cli -p "$ingest_port" INFO ingest | tr -d '\r')
sst_bytes=$(echo "$info" | awk -F: '$1=="ingest_bytes" {print $2}')
pipe_digest=$(redis-cli -p "$pipe_port" DEBUG DIGEST); ingest_digest=$(redis-cli -p "$ingest_port" DEBUG DIGEST)
[ "$pipe_digest" = "$ingest_digest" ] || { echo "digests differ: pipe $pipe_digest, ingest $ingest_digest" >&2; exit 1; }

mkdir -p bench/results
out="bench/results/node-$(date -u +%Y%m%dT%H%M%SZ).md"
{
  echo "## pika-node vs redis-server — $(date -u +%F), $(nproc) cores"
  echo
  echo "redis-benchmark -n $requests -P 16 -c 50, median of $rounds alternating rounds (requests/s):"
  echo
  echo "| test | redis-server (AOF everysec) | pika-node | ratio |"
  echo "|---|---|---|---|"
  for t in set get; do
    echo "| ${t^^} | ${med[redis-$t]} | ${med[node-$t]} | $(echo "scale=2; ${med[node-$t]} / ${med[redis-$t]}" | bc)x |"
  done
  echo
  echo "Loading one batch ($(numfmt --to=iec "$batch_bytes") of shards, $(numfmt --to=iec "$sst_bytes") of SST) into a fresh pika-node:"
  echo
  echo "| way | seconds | MB/s of shard data |"
  echo "|---|---|---|"
  echo "| redis-cli --pipe of SETs | $pipe_s | $(echo "scale=1; $batch_bytes / 1000000 / $pipe_s" | bc) |"
  echo "| manifest function process (build manifest + INGEST_S3) | $ingest_s | $(echo "scale=1; $batch_bytes / 1000000 / $ingest_s" | bc) |"
  echo "| INGEST_S3 round trip alone | $(echo "scale=3; $ingest_call_ms / 1000" | bc) | $(echo "scale=1; $batch_bytes / 1000 / $ingest_call_ms" | bc) |"
  echo
  echo "INGEST_S3 is $(echo "scale=1; $pipe_s * 1000 / $ingest_call_ms" | bc)x faster than the pipe ($(echo "scale=1; $pipe_s / $ingest_s" | bc)x counting the whole manifest function process); node-side: $(echo "$info" | grep -E 'ingest_last_(download|verify|ingest)_ms' | tr '\n' ' '); both nodes end with digest $ingest_digest."
} | tee "$out"
