#!/usr/bin/env bash
# Replication costs, in one run on this machine:
#   1. bytes sent over the master->slave link for one INGEST_S3 of a batch (the SSTs never cross it);
#   2. how long after the master's +OK the slave has the batch too (it fetches the files itself);
#   3. full sync of the resulting database to a new slave, in MB/s over loopback.
# Usage: bench/replication.sh [batch size (1G)]   Writes bench/results/replication-<date>.md.
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-1G}
work=$(mktemp -d /tmp/pika-repl-bench.XXXXXX)
. bench/lib.sh
build_release
info() { redis-cli -p "$1" INFO replication | tr -d '\r' | awk -F: -v k="$2" '$1==k {print substr($0, length(k)+2)}'; }
now() { date +%s.%N; }
store="$work/store"
"$cli" mock --out "$store/local" --batch repl --size "$size" >/dev/null
"$cli" convert --in "$store/local/incoming/repl" >/dev/null

master_port=$(free_port); slave_port=$(free_port)
$node --port "$master_port" --data "$work/master" --object-store "file://$store" >"$work/master.log" 2>&1 & pids+=($!)
wait_port "$master_port"
$node --port "$slave_port" --data "$work/slave" --object-store "file://$store" --slaveof 127.0.0.1 "$master_port" >"$work/slave.log" 2>&1 & pids+=($!)
wait_port "$slave_port"
until [ "$(info "$slave_port" master_link_status)" = up ]; do sleep 0.1; done
sent() { redis-cli -p "$master_port" INFO replication | tr -d '\r' | grep -o 'sent_bytes=[0-9]*' | head -1 | cut -d= -f2; }
before=$(sent)

completion_event "$store" repl "$work/event.json"
"$cli" invoke manifest --event "$work/event.json" --store "file://$store" --pika "127.0.0.1:$master_port" >"$work/invoke.out" 2>&1
master_done=$(now)
target=$(info "$master_port" master_repl_offset)
until [ "$(info "$slave_port" slave_repl_offset)" -ge "$target" ]; do sleep 0.01; done
slave_done=$(now)
sleep 1.5  # let the acknowledgement and a PING through, so they are counted
after=$(sent)
[ "$(redis-cli -p "$master_port" DEBUG DIGEST)" = "$(redis-cli -p "$slave_port" DEBUG DIGEST)" ] || { echo "master and slave digests differ" >&2; exit 1; }
ingest_ms=$(grep -o 'OK in [0-9]* ms' "$work/invoke.out" | grep -o '[0-9]*' | head -1)
sst_bytes=$(du -sb "$store/local/sst/repl" | cut -f1)
slave_info=$(redis-cli -p "$slave_port" INFO ingest | tr -d '\r' | grep -E 'ingest_last_(download|verify|ingest)_ms' | tr '\n' ' ')

# A new slave: full sync of the master's database.
db_bytes=$(du -sb "$work/master/db0" | cut -f1)
full_port=$(free_port)
start=$(now)
$node --port "$full_port" --data "$work/full" --object-store "file://$store" --slaveof 127.0.0.1 "$master_port" >"$work/full.log" 2>&1 & pids+=($!)
wait_port "$full_port"
until [ "$(info "$full_port" full_syncs)" = 1 ] && [ "$(info "$full_port" slave_repl_offset)" -ge "$target" ]; do sleep 0.05; done
full_s=$(echo "$(now) - $start" | bc)
[ "$(redis-cli -p "$master_port" DEBUG DIGEST)" = "$(redis-cli -p "$full_port" DEBUG DIGEST)" ] || { echo "full-synced slave differs" >&2; exit 1; }

mkdir -p bench/results
out="bench/results/replication-$(date -u +%Y%m%dT%H%M%SZ).md"
{
  echo "## Replication — $(date -u +%F), $(nproc) cores, batch of $size shards ($(numfmt --to=iec "$sst_bytes") of SST)"
  echo
  echo "| measure | value |"
  echo "|---|---|"
  echo "| bytes on the replication link for the ingest (item, acks' replies, PINGs) | $((after - before)) |"
  echo "| INGEST_S3 round trip on the master | ${ingest_ms} ms |"
  echo "| slave has the batch after the master's +OK | $(echo "scale=2; ($slave_done - $master_done)/1" | bc) s |"
  echo "| slave's own download / verify / ingest | $slave_info |"
  echo "| full sync of $(numfmt --to=iec "$db_bytes") (new slave, start to caught up) | ${full_s} s, $(echo "scale=1; $db_bytes / 1000000 / $full_s" | bc) MB/s |"
  echo
  echo "Digests equal on master and both slaves."
} | tee "$out"
