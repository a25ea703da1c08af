#!/usr/bin/env bash
# Memory of one huge value (issue 18 item 4), pika-node against redis-server doing the same: RSS (VmRSS) after each step
# and the peak (VmHWM) of each phase, read from /proc/<pid>/status.
#   bench/memory.sh [value-mib]        (default 512: SETRANGE big 536870911 x)
# Sequence: idle baseline; SETRANGE big <n-1> x; GET big; SETRANGE big 0 y; DEL big; 10 s later; five such keys
# written then deleted; 10 s later. Writes bench/results/memory-<time>.md.
set -euo pipefail
cd "$(dirname "$0")/.."
mib=${1:-512}
offset=$(( mib * 1024 * 1024 - 1 ))
work=$(mktemp -d)
source bench/lib.sh
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=bench/results/memory-$stamp.md
dotnet build src/PikaIngest.Node -c Release -v quiet -nologo >/dev/null

rss() { awk '/^VmRSS/{printf "%.0f", $2/1024}' "/proc/$1/status"; }
hwm() { awk '/^VmHWM/{printf "%.0f", $2/1024}' "/proc/$1/status"; }
# VmHWM only grows; writing 5 to clear_refs resets it to the current RSS, so each phase gets its own peak.
reset_peak() { echo 5 >"/proc/$1/clear_refs"; }

measure() { # name pid port
  local name=$1 pid=$2 port=$3 base
  sleep 2
  base=$(rss "$pid")
  row() { printf '| %s | %s | %s | %s |\n' "$name" "$1" "$(rss "$pid")" "$(hwm "$pid")" >>"$out"; reset_peak "$pid"; }
  reset_peak "$pid"; row "idle (baseline ${base} MiB)"
  redis-cli -p "$port" SETRANGE big "$offset" x >/dev/null; row "SETRANGE big $offset x"
  redis-cli -p "$port" GET big >/dev/null; row "GET big"
  redis-cli -p "$port" SETRANGE big 0 y >/dev/null; row "SETRANGE big 0 y"
  redis-cli -p "$port" DEL big >/dev/null; row "DEL big"
  sleep 10; row "10 s after DEL"
  for i in 1 2 3 4 5; do redis-cli -p "$port" SETRANGE "big$i" "$offset" x >/dev/null; done; row "five keys written"
  redis-cli -p "$port" DEL big1 big2 big3 big4 big5 >/dev/null; sleep 10; row "five keys deleted, 10 s later"
}

{
  echo "# Memory of a ${mib} MiB value, $stamp"
  echo
  echo "\`bench/memory.sh $mib\`; RSS and peak (VmHWM since the previous row) in MiB. $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB."
  echo
  echo "| server | after | RSS | peak |"
  echo "|---|---|---|---|"
} >"$out"

rport=$(free_port)
redis-server --port "$rport" --save '' --appendonly no --dir "$work" >/dev/null & pids+=($!); rpid=$!
wait_port "$rport"
measure redis-server "$rpid" "$rport"

nport=$(free_port)
$node --port "$nport" --data "$work/node" --instances 3 >"$work/node.log" & pids+=($!); npid=$!
wait_port "$nport"
measure pika-node "$npid" "$nport"
cat "$out"
