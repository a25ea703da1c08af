#!/usr/bin/env bash
# The whole path end to end, in one run on this machine and on the same batch where possible:
#   1. pika-ingest mock and convert, in MB/s, beside the native references in ../shared/bench
#      (ref_mock, ref_exchange: one thread each; ours their default 2 threads) as ratios;
#   2. INGEST_S3 of the batch on a master (seconds, MB/s of shard data and of SST) and how long after
#      the master's +OK its slave has the batch too (with the slave's own download/verify/ingest);
#   3. the same data as SETs through redis-cli --pipe into a fresh pika-node and into redis-server
#      (AOF everysec), and how many times faster INGEST_S3 and the whole convert + ingest path are;
#   4. `pika-ingest run --size SIZE`'s own stage table, when that verb exists.
# Usage: bench/e2e.sh [SIZE (1G)]   SHARED_BENCH overrides ../shared/bench.
# Writes a markdown table to bench/results/e2e-<date>.md and prints it; progress goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
size=${1:-1G}
shared=${SHARED_BENCH:-$root/../shared/bench}
work=$(mktemp -d /tmp/pika-e2e-bench.XXXXXX)
# shellcheck source=bench/lib.sh
. bench/lib.sh

log() { echo "e2e: $*" >&2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.3f", b-a}'; }      # seconds since a now()
div() { awk -v a="$1" -v b="$2" -v f="${3:-%.1f}" 'BEGIN {printf f, a/b}'; } # a/b, formatted
mbps() { div "$1" "$(echo "$2 * 1000000" | bc)"; }                           # bytes, seconds -> MB/s
mbps_of() { grep -Eo '[0-9.]+ MB/s' | tail -1 | awk '{print $1}'; }          # the CLI's own MB/s figure
info() { redis-cli -p "$1" INFO "$2" | tr -d '\r' | awk -F: -v k="$3" '$1==k {print substr($0, length(k)+2)}'; }
bytes_of() { find "$@" -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}'; }
declare -A pid   # server name -> process id, for stopping one early
start_node() { # name port [flags]
  local name=$1 port=$2; shift 2
  $node --port "$port" --data "$work/$name" "$@" >"$work/$name.log" 2>&1 & pids+=($!); pid[$name]=$!
  wait_port "$port"
}
start_redis() { # name port
  mkdir -p "$work/$1"
  redis-server --port "$2" --bind 127.0.0.1 --dir "$work/$1" --appendonly yes --appendfsync everysec --save '' >"$work/$1.log" 2>&1 & pids+=($!); pid[$1]=$!
  wait_port "$2"
}
stop() { for n in "$@"; do kill "${pid[$n]}" 2>/dev/null || true; wait "${pid[$n]}" 2>/dev/null || true; done; }
pipe_into() { # port name: prints seconds
  local t0; t0=$(now)
  redis-cli -p "$1" --pipe <"$work/sets.resp" >"$work/$2.pipe" 2>&1
  local s; s=$(since "$t0")
  grep -q "errors: 0" "$work/$2.pipe" || { cat "$work/$2.pipe" >&2; echo "redis-cli --pipe into $2 had errors" >&2; exit 1; }
  echo "$s"
}

log "building (Release)"
build_release
if [ ! -x /tmp/pbi-ref/ref_mock ] || [ ! -x /tmp/pbi-ref/ref_exchange ]; then "$shared/build.sh" >&2; fi
store="$work/store"
batch="$store/local/incoming/e2e"

# --- 1. mock and convert, ours
log "mock $size"
t0=$(now); "$cli" mock --out "$store/local" --batch e2e --size "$size" >"$work/mock.out"; mock_s=$(since "$t0")
mock_mbps=$(mbps_of <"$work/mock.out")
records=$(grep -Eo '[0-9,]+ records' "$work/mock.out" | head -1 | tr -d , | cut -d' ' -f1)
shards=$(find "$batch" -name '*.jsonl' | wc -l)
data_bytes=$(bytes_of "$batch" -name '*.jsonl')
log "convert"
t0=$(now); "$cli" convert --in "$batch" >"$work/convert.out"; convert_s=$(since "$t0")
convert_mbps=$(mbps_of <"$work/convert.out")
sst_bytes=$(bytes_of "$store/local/sst/e2e" -name '*.sst')
log "resp"
t0=$(now); "$cli" resp --in "$batch" --out "$work/sets.resp" >/dev/null; resp_s=$(since "$t0")

# --- 1b. the native references: ref_mock for about the same size, ref_exchange on our first shard
ref_mb=$(( (data_bytes + 500000) / 1000000 )); [ "$ref_mb" -ge 1 ] || ref_mb=1
log "ref_mock ${ref_mb} MB"
t0=$(now); /tmp/pbi-ref/ref_mock "$work/ref.jsonl" "$ref_mb" 10 24 42; ref_mock_s=$(since "$t0")
ref_mock_mbps=$(mbps "$(stat -c %s "$work/ref.jsonl")" "$ref_mock_s")
rm -f "$work/ref.jsonl"
shard="$batch/000001.jsonl"
shard_bytes=$(stat -c %s "$shard")
log "ref_exchange and convert --format raw --instances 1 on $(basename "$shard")"
/tmp/pbi-ref/ref_exchange "$shard" "$work/ref.sst" lz4 >"$work/ref_exchange.out"
ref_conv_mbps=$(grep -Eo 'MBps=[0-9.]+' "$work/ref_exchange.out" | cut -d= -f2)
[ -n "$ref_conv_mbps" ] || { cat "$work/ref_exchange.out" >&2; echo "ref_exchange printed no MBps" >&2; exit 1; }
rm -f "$work/ref.sst"
# A copy outside the batch folder: inside it, the batch descriptor (pika-v4) forbids --format raw.
mkdir -p "$work/one-in"; cp "$shard" "$work/one-in/"
one_mbps=$("$cli" convert --in "$work/one-in/$(basename "$shard")" --out "$work/one" --batch one --format raw --instances 1 | mbps_of)
rm -rf "$work/one" "$work/one-in"

# --- 2. INGEST_S3 on a master, the slave follows
master_port=$(free_port); slave_port=$(free_port)
log "master on $master_port, slave on $slave_port"
start_node master "$master_port" --object-store "file://$store"
start_node slave "$slave_port" --object-store "file://$store" --slaveof 127.0.0.1 "$master_port"
until [ "$(info "$slave_port" replication master_link_status)" = up ]; do sleep 0.1; done
completion_event "$store" e2e "$work/event.json"
log "INGEST_S3 on the master"
t0=$(now)
"$cli" invoke manifest --event "$work/event.json" --store "file://$store" --pika "127.0.0.1:$master_port" >"$work/invoke.out" 2>&1 \
  || { cat "$work/invoke.out" >&2; exit 1; }
manifest_s=$(since "$t0")
master_done=$(now)
ingest_ms=$(grep -o 'OK in [0-9]* ms' "$work/invoke.out" | grep -o '[0-9]*' | head -1 || true)
[ -n "$ingest_ms" ] || { cat "$work/invoke.out" >&2; echo "no 'OK in N ms' from the manifest function" >&2; exit 1; }
[ "$ingest_ms" -ge 1 ] || ingest_ms=1
ingest_s=$(div "$ingest_ms" 1000 %.3f)
target=$(info "$master_port" replication master_repl_offset)
deadline=$(( $(date +%s) + 1800 ))
until offset=$(info "$slave_port" replication slave_repl_offset); [ "${offset:-0}" -ge "$target" ]; do
  [ "$(date +%s)" -lt "$deadline" ] || { echo "the slave did not catch up with offset $target" >&2; exit 1; }
  sleep 0.01
done
slave_s=$(since "$master_done")
slave_ms=$(redis-cli -p "$slave_port" INFO ingest | tr -d '\r' | grep -E '^ingest_last_(download|verify|ingest)_ms:' | sed 's/^ingest_last_//; s/:/ = /' | paste -sd, | sed 's/,/, /g')
master_digest=$(redis-cli -p "$master_port" DEBUG DIGEST)
slave_digest=$(redis-cli -p "$slave_port" DEBUG DIGEST)
[ "$master_digest" = "$slave_digest" ] || { echo "digests differ: master $master_digest, slave $slave_digest" >&2; exit 1; }
keys=$(redis-cli -p "$master_port" DBSIZE)
stop slave master

# --- 3. the same SETs through redis-cli --pipe
pipe_port=$(free_port)
log "redis-cli --pipe into a fresh pika-node on $pipe_port"
start_node pipe "$pipe_port"
pipe_node_s=$(pipe_into "$pipe_port" pika-node)
pipe_digest=$(redis-cli -p "$pipe_port" DEBUG DIGEST)
[ "$pipe_digest" = "$master_digest" ] || { echo "digests differ: master $master_digest, piped pika-node $pipe_digest" >&2; exit 1; }
pipe_keys=$(redis-cli -p "$pipe_port" DBSIZE)
stop pipe
redis_port=$(free_port)
log "redis-cli --pipe into redis-server on $redis_port"
start_redis redis "$redis_port"
pipe_redis_s=$(pipe_into "$redis_port" redis-server)
redis_keys=$(redis-cli -p "$redis_port" DBSIZE)
[ "$redis_keys" = "$pipe_keys" ] || { echo "DBSIZE differs: redis-server $redis_keys, pika-node $pipe_keys" >&2; exit 1; }
stop redis

mkdir -p bench/results
out="bench/results/e2e-$(date -u +%Y%m%dT%H%M%SZ).md"
mib() { numfmt --to=iec-i --suffix=B "$1"; }
x() { div "$1" "$2" %.2f; } # how many times: x a b = a / b
{
  echo "## End to end — $(date -u +'%F %H:%M') UTC, $(nproc) cores, SIZE $size: $(mib "$data_bytes") of shards (shards: $shards, records: $records, keys: $keys), $(mib "$sst_bytes") of SST"
  echo
  echo "| step | seconds | MB/s | detail |"
  echo "|---|---|---|---|"
  echo "| pika-ingest mock | $mock_s | $mock_mbps | MB/s as the CLI reports it; $(mbps "$data_bytes" "$mock_s") MB/s by wall clock with process start |"
  echo "| pika-ingest convert (batch's format, all shards) | $convert_s | $convert_mbps | MB/s as the CLI reports it; $(mbps "$data_bytes" "$convert_s") MB/s by wall clock with process start |"
  echo "| pika-ingest resp (SETs for the pipes) | $resp_s | $(mbps "$data_bytes" "$resp_s") | $(mib "$(stat -c %s "$work/sets.resp")") of RESP; not counted in the pipes below |"
  echo "| INGEST_S3 on the master (round trip) | $ingest_s | $(mbps "$data_bytes" "$ingest_s") | MB/s of shard data; $(mbps "$sst_bytes" "$ingest_s") MB/s of SST |"
  echo "| manifest function process (build manifest + INGEST_S3) | $manifest_s | $(mbps "$data_bytes" "$manifest_s") | MB/s of shard data; $(mbps "$sst_bytes" "$manifest_s") MB/s of SST |"
  echo "| slave has the batch, after the master's +OK | $slave_s | | slave's own $slave_ms; digests equal |"
  echo "| redis-cli --pipe into a fresh pika-node | $pipe_node_s | $(mbps "$data_bytes" "$pipe_node_s") | MB/s of shard data; digest equal to the master's |"
  echo "| redis-cli --pipe into redis-server (AOF everysec) | $pipe_redis_s | $(mbps "$data_bytes" "$pipe_redis_s") | MB/s of shard data; DBSIZE $redis_keys, equal to the piped pika-node's |"
  echo
  echo "Against the native references in shared/bench (ours/ref > 1: ours is that many times faster). The references run one thread; pika-ingest mock and the batch convert run their default 2 threads on these $(nproc) cores:"
  echo
  echo "| step | native reference MB/s | pika-ingest MB/s | ours/ref |"
  echo "|---|---|---|---|"
  echo "| mock, $(mib "$data_bytes") (ref_mock ${ref_mb} MB, 1 thread; ours its default 2 threads) | $ref_mock_mbps | $mock_mbps | $(x "$mock_mbps" "$ref_mock_mbps")x |"
  echo "| convert: ref_exchange on shard 000001 ($(mib "$shard_bytes"), raw, 1 thread) vs ours on the whole batch (batch's format, 2 threads) | $ref_conv_mbps | $convert_mbps | $(x "$convert_mbps" "$ref_conv_mbps")x |"
  echo "| convert shard 000001 alone, both raw (ours: --format raw --instances 1) | $ref_conv_mbps | $one_mbps | $(x "$one_mbps" "$ref_conv_mbps")x |"
  echo
  echo "| how many times faster | formula | x |"
  echo "|---|---|---|"
  echo "| INGEST_S3 (master) over --pipe into pika-node | pipe into pika-node s / INGEST_S3 s | $(x "$pipe_node_s" "$ingest_s")x |"
  echo "| INGEST_S3 (master) over --pipe into redis-server | pipe into redis-server s / INGEST_S3 s | $(x "$pipe_redis_s" "$ingest_s")x |"
  echo "| whole path (convert + manifest function process) over --pipe into redis-server | pipe into redis-server s / (convert s + manifest process s) | $(x "$pipe_redis_s" "$(echo "$convert_s + $manifest_s" | bc)")x |"
} >"$out"
cat "$out"

# --- 4. pika-ingest run, when it exists (`run --help` alone exits 0 even without the verb: the root help)
printed=$(wc -l <"$out")
{
  echo
  echo "### Whole local run (\`pika-ingest run --size $size\`)"
  echo
} >>"$out"
if "$cli" run --help 2>/dev/null | grep 'pika-ingest run' >/dev/null; then
  log "pika-ingest run --size $size (its progress follows)"
  rc=0; "$cli" run --size "$size" >"$work/run.out" || rc=$?
  if [ "$rc" -ne 0 ]; then
    tail -20 "$work/run.out" >&2
    echo "(pika-ingest run failed with exit status $rc)" >>"$out"; tail -n +"$((printed + 1))" "$out"
    exit 1
  fi
  awk '/^\| stage \|/ {p=1} p {print} p && /^\| total \|/ {exit}' "$work/run.out" >"$work/run.md"
  grep -q '^| total |' "$work/run.md" || { cat "$work/run.out" >&2; echo "(no stage table ending in | total | in pika-ingest run's output)" | tee -a "$out" >&2; exit 1; }
  cat "$work/run.md" >>"$out"
else
  echo "(pika-ingest run not available)" >>"$out"
fi
tail -n +"$((printed + 1))" "$out"
log "wrote $out"
