#!/usr/bin/env bash
# pika-node against Debian's redis-server (appendonly yes, appendfsync everysec), side by side:
#   1. redis-benchmark -t set,get -n N -P 16 -c 50, alternating servers, ROUNDS rounds: median requests/s and the
#      server's CPU-seconds per million requests (utime+stime from /proc/PID/stat around each run; throughput is
#      noisy on a shared machine, CPU per request much less so), ratios against the targets of issue 11.
#   2. redis-benchmark -t set / -t get -P 1 -c 50 (no pipelining), alternating, ROUNDS rounds: median p50 and p99
#      latency of each server and the p99 ratio.
#   3. The same batch loaded twice into fresh nodes: `redis-cli --pipe` of its SETs versus INGEST_S3
#      from the folder store; times and the ratio. A batch size of 0 skips it (a throughput-only run).
# Usage: bench/node.sh [requests (1000000)] [rounds (3)] [batch size (1G), 0 to skip] [latency requests (requests/5)]
# Writes a markdown table to bench/results/node-<date>.md and prints it.
set -euo pipefail
cd "$(dirname "$0")/.."
requests=${1:-1000000}
rounds=${2:-3}
size=${3:-1G}
latency_requests=${4:-$((requests / 5))}
work=$(mktemp -d /tmp/pika-node-bench.XXXXXX)
. bench/lib.sh
build_release
ticks=$(getconf CLK_TCK)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

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
# utime + stime of a process, in clock ticks (fields 14 and 15; the name in field 2 may hold spaces, so count from ')').
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
# One redis-benchmark run against a server: appends its CSV row (test, rps, avg, min, p50, p95, p99, max latency ms)
# and the server's CPU-seconds per million requests to $work/<name>-<test>-<pipeline>.
bench_run() { # name port pid test pipeline requests
  local before after row
  before=$(cpu_ticks "$3")
  row=$(redis-benchmark -p "$2" -t "$4" -n "$6" -P "$5" -c 50 --csv 2>/dev/null | tr -d '"' | awk -F, -v t="${4^^}" '$1==t')
  after=$(cpu_ticks "$3")
  [ -n "$row" ] || { echo "redis-benchmark -t $4 -P $5 against $1 printed no result" >&2; exit 1; }
  echo "$row,$(awk -v a="$after" -v b="$before" -v t="$ticks" -v n="$6" 'BEGIN {printf "%.3f", (a - b) / t * 1000000 / n}')" >>"$work/$1-$4-$5"
}
col() { cut -d, -f"$2" <"$work/$1" | median; } # file column -> median
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

redis_port=$(free_port); start_redis "$work/redis" "$redis_port"; redis_pid=${pids[-1]}
node_port=$(free_port); start_node "$work/node" "$node_port"; node_pid=${pids[-1]}
for pipeline in 16 1; do
  n=$requests; [ "$pipeline" = 1 ] && n=$latency_requests
  for test in set get; do
    for round in $(seq "$rounds"); do
      bench_run redis "$redis_port" "$redis_pid" $test $pipeline "$n"
      bench_run node "$node_port" "$node_pid" $test $pipeline "$n"
    done
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

mkdir -p bench/results
out="bench/results/node-$(date -u +%Y%m%dT%H%M%SZ).md"
{
  echo "## pika-node vs redis-server — $(date -u +%F), $(nproc) cores, commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src || echo ' (with local changes)')"
  echo
  echo "Load average before / after the redis-benchmark rounds: $load_before / $load_after."
  echo
  echo "redis-benchmark -n $requests -P 16 -c 50, median of $rounds alternating rounds; CPU is the server process's"
  echo "utime+stime per million requests:"
  echo
  echo "| test | redis-server (AOF everysec) req/s | pika-node req/s | ratio | target | redis CPU-s/M | node CPU-s/M | CPU ratio |"
  echo "|---|---|---|---|---|---|---|---|"
  for t in set get; do
    target=0.6; [ $t = get ] && target=0.8
    r=$(ratio "$(col node-$t-16 2)" "$(col redis-$t-16 2)")
    met=no; [ "$(echo "$r >= $target" | bc)" = 1 ] && met=yes
    echo "| ${t^^} | $(col redis-$t-16 2) | $(col node-$t-16 2) | ${r}x | ≥ ${target}x: $met | $(col redis-$t-16 9) | $(col node-$t-16 9) | $(ratio "$(col node-$t-16 9)" "$(col redis-$t-16 9)")x |"
  done
  echo
  echo "redis-benchmark -n $latency_requests -P 1 -c 50 (no pipelining), median of $rounds alternating rounds; latency in ms:"
  echo
  echo "| test | redis p50 | node p50 | redis p99 | node p99 | p99 ratio | target | redis req/s | node req/s | redis CPU-s/M | node CPU-s/M |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
  for t in set get; do
    r=$(ratio "$(col node-$t-1 7)" "$(col redis-$t-1 7)")
    target="-"; [ $t = set ] && { met=no; [ "$(echo "$r <= 2" | bc)" = 1 ] && met=yes; target="≤ 2x: $met"; }
    echo "| ${t^^} | $(col redis-$t-1 5) | $(col node-$t-1 5) | $(col redis-$t-1 7) | $(col node-$t-1 7) | ${r}x | $target | $(col redis-$t-1 2) | $(col node-$t-1 2) | $(col redis-$t-1 9) | $(col node-$t-1 9) |"
  done
} >"$work/throughput.md"
if [ "$size" = 0 ]; then
  tee "$out" <"$work/throughput.md"
  exit 0
fi

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

{
  cat "$work/throughput.md"
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
