#!/usr/bin/env bash
# How much compaction work an ingest leaves on the nodes. Today every shard's SST spans the whole key range, so a
# multi-shard batch lands in L0 and compaction re-sorts all of it; non-overlapping, range-partitioned SSTs should
# go straight to the bottom level and leave none. For each build measured — the working tree's code and, when
# BASELINE_REF is given, that git ref built in a temporary worktree under /tmp — one after the other in one run:
#   1. a master and a slave pika-node (3 instances each, fresh data folders);
#   2. redis-benchmark SET/GET on the master before the ingest (keys key:NNN, apart from the batch's key_NNN);
#   3. `pika-ingest run --size SIZE` on those nodes (its stage table is kept);
#   4. redis-benchmark again right after the run returns and 60 s after it returned; then a bounded wait until
#      every compaction the nodes started has finished, so that none is cut short by the stop;
#   5. the nodes stopped and each instance's RocksDB LOG (db0/<i>/LOG and LOG.old.*) read on master and slave:
#      compactions started (by reason, input bytes), finished (output bytes, CPU time, when the last one ended),
#      the L0 files the ingest left (the lsm_state of its ingest_finished event), write stall lines.
#   INFO rocksdb's level-0 files and compaction bytes are added where a build answers them.
# Usage: bench/compaction.sh [SIZE (2G)] [BASELINE_REF]
#   REQUESTS (200000) per redis-benchmark test; SETTLE_TIMEOUT (600) seconds to wait for compactions to finish.
# Writes a markdown table to bench/results/compaction-<date>.md and prints it; progress goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
size=${1:-2G}
base_ref=${2:-}
requests=${REQUESTS:-200000}
settle_timeout=${SETTLE_TIMEOUT:-600}
if [ -n "$base_ref" ]; then
  base_sha=$(git rev-parse --verify --quiet "$base_ref^{commit}") || { echo "BASELINE_REF $base_ref is not a commit" >&2; exit 1; }
fi
work=$(mktemp -d /tmp/pika-compaction-bench.XXXXXX)
# shellcheck source=bench/lib.sh
. bench/lib.sh
base_tree=""
drop_tree() {
  [ -n "$base_tree" ] || return 0
  git -C "$root" worktree remove --force "$base_tree" 2>/dev/null || rm -rf "$base_tree"
  git -C "$root" worktree prune
}
trap 'cleanup; drop_tree' EXIT   # lib.sh's cleanup (processes, $work), then the baseline's worktree

log() { echo "compaction: $*" >&2; }
now() { date +%s.%N; }
info() { redis-cli -p "$1" INFO "$2" | tr -d '\r' | awk -F: -v k="$3" '$1==k {print substr($0, length(k)+2)}'; }
command -v redis-benchmark >/dev/null && command -v redis-cli >/dev/null || scripts/install-deps.sh >&2

# One instance folder's LOGs, oldest first, summed over the node's instances; prints name=value lines.
cat >"$work/logstats.py" <<'EOF'
import glob, json, os, sys
data = sys.argv[1]
started = finished = input_bytes = output_bytes = cpu_micros = stalling = stopping = 0
reasons = {}
l0_ingest, l0_last = [], []
ingest_micros = last_compaction_micros = 0
for inst in sorted((d for d in glob.glob(os.path.join(data, "db0", "*")) if os.path.basename(d).isdigit()),
                   key=lambda d: int(os.path.basename(d))):
    events = []
    for log in sorted(glob.glob(os.path.join(inst, "LOG.old.*"))) + [os.path.join(inst, "LOG")]:
        if not os.path.exists(log):
            continue
        with open(log, errors="replace") as f:
            for line in f:
                stalling += "Stalling writes" in line
                stopping += "Stopping writes" in line
                at = line.find("EVENT_LOG_v1 ")
                if at >= 0:
                    try:
                        events.append(json.loads(line[at + 13:]))
                    except ValueError:
                        pass  # a line cut short by a crash
    events.sort(key=lambda e: e.get("time_micros", 0))
    ingest_l0 = last_l0 = None
    for e in events:
        kind = e.get("event")
        if kind == "compaction_started":
            started += 1
            input_bytes += e.get("input_data_size", 0)
            reason = e.get("compaction_reason", "?")
            reasons[reason] = reasons.get(reason, 0) + 1
        elif kind == "compaction_finished":
            finished += 1
            output_bytes += e.get("total_output_size", e.get("output size", 0))
            cpu_micros += e.get("compaction_time_cpu_micros", 0)
            last_compaction_micros = max(last_compaction_micros, e.get("time_micros", 0))
        if "lsm_state" in e:
            last_l0 = e["lsm_state"][0]
            if kind == "ingest_finished":
                ingest_l0 = last_l0
                ingest_micros = max(ingest_micros, e.get("time_micros", 0))
    l0_ingest.append(ingest_l0)
    l0_last.append(last_l0)
def total(values):
    return sum(v for v in values if v is not None) if any(v is not None for v in values) else "n/a"
def each(values):
    return "/".join("-" if v is None else str(v) for v in values)
print(f"started={started}\nfinished={finished}\ninput={input_bytes}\noutput={output_bytes}")
print(f"cpu={cpu_micros / 1e6:.1f}\nstalls={stalling + stopping}")
print(f"stall_lines={stalling} stalling, {stopping} stopping")
print("reasons=" + (", ".join(f"{r} {n}" for r, n in sorted(reasons.items())) or "none"))
print(f"l0_ingest={total(l0_ingest)}\nl0_ingest_each={each(l0_ingest)}")
print(f"l0_stop={total(l0_last)}\nl0_stop_each={each(l0_last)}")
busy = last_compaction_micros > ingest_micros > 0
print(f"busy={(last_compaction_micros - ingest_micros) / 1e6:.1f}" if busy else "busy=none")
EOF

build_at() { # tree: Release builds of the node and the CLI
  local p
  for p in PikaIngest.Node PikaIngest.Cli; do
    dotnet build "$1/src/$p" -c Release -v quiet -nologo >"$work/build.out" 2>&1 \
      || { tail -40 "$work/build.out" >&2; echo "building $p in $1 failed" >&2; exit 1; }
  done
}

declare -A tree title v detail pid port_of
builds=(current)
tree[current]=$root
dirty=""; [ -z "$(git status --porcelain --untracked-files=no)" ] || dirty=" + uncommitted changes"
title[current]="current: working tree ($(git rev-parse --short HEAD)$dirty)"
log "building the working tree (Release)"
build_at "$root"
if [ -n "$base_ref" ]; then
  builds+=(baseline)
  base_tree=$(mktemp -d /tmp/pika-compaction-base.XXXXXX)
  git worktree add --detach --quiet "$base_tree" "$base_sha"
  tree[baseline]=$base_tree
  title[baseline]="baseline: $base_ref ($(git rev-parse --short "$base_sha"))"
  log "building $base_ref in $base_tree (Release)"
  build_at "$base_tree"
fi

start_node() { # build name port [flags]: one pika-node of that build, data in $work/<build>/<name>
  local b=$1 name=$2 port=$3; shift 3
  local dll="${tree[$b]}/src/PikaIngest.Node/bin/Release/net10.0/pika-node.dll" parent=() help
  # Stops the node even if this script is killed outright, on builds that know the flag.
  help=$(dotnet "$dll" --help 2>/dev/null || true)
  [[ $help != *--parent-pid* ]] || parent=(--parent-pid $$)
  dotnet "$dll" --port "$port" --data "$work/$b/$name" --instances 3 "${parent[@]}" "$@" >"$work/$b/$name.log" 2>&1 &
  pids+=($!); pid[$b/$name]=$!
  wait_port "$port"
}
stop_node() { # build name: SIGTERM, a minute to close RocksDB, then SIGKILL
  local p=${pid[$1/$2]}
  kill "$p" 2>/dev/null || true
  for _ in $(seq 600); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$p" 2>/dev/null; then log "$1 $2 did not stop within 60 s: killed, its LOG may lack the last lines"; kill -9 "$p" 2>/dev/null || true; fi
  wait "$p" 2>/dev/null || true
}
bench() { # build port when: redis-benchmark SET then GET, requests/s into v[build|set_when], v[build|get_when]
  local out
  out=$(timeout 600 redis-benchmark -p "$2" -t set,get -n "$requests" -P 16 -c 50 -r 1000000 -q 2>/dev/null | tr '\r' '\n' \
    | awk '$1=="SET:" {s=$2} $1=="GET:" {g=$2} END {print (s=="" ? "n/a" : s), (g=="" ? "n/a" : g)}') || out="n/a n/a"
  v[$1|set_$3]=${out% *}; v[$1|get_$3]=${out#* }
  log "$1: redis-benchmark $3: SET ${out% *}, GET ${out#* } requests/s"
}
open_compactions() { # build: compactions started but not finished on master and slave, by their LOGs and INFO rocksdb
  local b=$1 n=0 name port running pending
  for name in master slave; do
    port=${port_of[$name]}
    n=$(( n + $(python3 "$work/logstats.py" "$work/$b/$name" | awk -F= '$1=="started" {s=$2} $1=="finished" {f=$2} END {print s-f}') ))
    running=$(info "$port" rocksdb total_num_running_compactions); pending=$(info "$port" rocksdb total_compaction_pending)
    n=$(( n + ${running:-0} + ${pending:-0} ))
  done
  echo "$n"
}

measure() { # build
  local b=$1 d="$work/$1" cli="${tree[$1]}/src/PikaIngest.Cli/bin/Release/net10.0/pika-ingest"
  mkdir -p "$d"
  port_of[master]=$(free_port)
  start_node "$b" master "${port_of[master]}" --object-store "file://$d/run/store" --ingest-allow-bucket local
  port_of[slave]=$(free_port)
  start_node "$b" slave "${port_of[slave]}" --object-store "file://$d/run/store" --ingest-allow-bucket local --slaveof 127.0.0.1 "${port_of[master]}"
  local deadline=$(( $(date +%s) + 60 ))
  until [ "$(info "${port_of[slave]}" replication master_link_status)" = up ]; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "$b: the slave's link to its master is not up after 60 s" >&2; exit 1; }
    sleep 0.1
  done
  log "$b: master on ${port_of[master]}, slave on ${port_of[slave]}"
  bench "$b" "${port_of[master]}" before

  # The run's store is the folder store $d/run/store (bucket local), which the nodes were started on.
  log "$b: pika-ingest run --size $size (its progress follows)"
  local rc=0
  "$cli" run --size "$size" --instances 3 --master "127.0.0.1:${port_of[master]}" --slave "127.0.0.1:${port_of[slave]}" \
    --work "$d/run" --keep | tee "$d/run.out" >&2 || rc=$?
  local returned; returned=$(now)
  if [ "$rc" -ne 0 ]; then tail -20 "$d/run.out" >&2; echo "$b: pika-ingest run failed with exit status $rc" >&2; exit 1; fi
  v[$b|info_l0_returned]=$(info "${port_of[master]}" rocksdb total_level0_files)
  bench "$b" "${port_of[master]}" after
  sleep "$(awk -v r="$returned" -v n="$(now)" 'BEGIN {s = r + 60 - n; print (s > 0 ? s : 0)}')"
  bench "$b" "${port_of[master]}" 60s

  # Every compaction started has finished (5 checks in a row, a second apart), or SETTLE_TIMEOUT has passed.
  log "$b: waiting for the nodes' compactions to finish (at most $settle_timeout s)"
  local calm=0 settle_deadline=$(( $(date +%s) + settle_timeout ))
  while [ "$calm" -lt 5 ]; do
    if [ "$(date +%s)" -ge "$settle_deadline" ]; then log "$b: compactions still open after $settle_timeout s; counted as they stand"; break; fi
    if [ "$(open_compactions "$b")" -eq 0 ]; then calm=$((calm + 1)); else calm=0; fi
    sleep 1
  done
  v[$b|info_l0_stop]=$(info "${port_of[master]}" rocksdb total_level0_files)
  v[$b|info_read]=$(info "${port_of[master]}" rocksdb total_compaction_read_bytes)
  stop_node "$b" slave
  stop_node "$b" master

  awk '/^\| stage \|/ {p=1} p {print} p && /^\| total \|/ {exit}' "$d/run.out" >"$work/$b.stages.md"
  grep -q '^| total |' "$work/$b.stages.md" || { cat "$d/run.out" >&2; echo "$b: no stage table ending in | total | in pika-ingest run's output" >&2; exit 1; }
  v[$b|shards]=$(grep -Eo '^\| mock \|.*' "$work/$b.stages.md" | grep -Eo '[0-9]+ shards?' | head -1 | cut -d' ' -f1)
  v[$b|sst_files]=$(find "$d/run/store/local/sst" -name '*.sst' | wc -l)
  v[$b|sst_bytes]=$(find "$d/run/store/local/sst" -name '*.sst' -printf '%s\n' | awk '{s+=$1} END {print s+0}')
  local name key value
  for name in master slave; do
    python3 "$work/logstats.py" "$d/$name" >"$d/$name.stats"
    while IFS='=' read -r key value; do v[$b|${name}_$key]=$value; done <"$d/$name.stats"
    detail[$b|${name}_started]=${v[$b|${name}_reasons]}
    detail[$b|${name}_l0_ingest]=${v[$b|${name}_l0_ingest_each]}
    detail[$b|${name}_l0_stop]=${v[$b|${name}_l0_stop_each]}
    detail[$b|${name}_stalls]=${v[$b|${name}_stall_lines]}
    v[$b|${name}_pct]=$(awk -v a="${v[$b|${name}_input]}" -v b="${v[$b|sst_bytes]}" 'BEGIN {printf "%.0f", b ? 100 * a / b : 0}')
    [ "${v[$b|${name}_finished]}" = "${v[$b|${name}_started]}" ] \
      || detail[$b|${name}_output]="only ${v[$b|${name}_finished]} of ${v[$b|${name}_started]} finished"
  done
  rm -rf "$d/run" "$d/master" "$d/slave"   # shards, store, node data: the next build needs the disk more
  log "$b: master compacted $(numfmt --to=iec-i --suffix=B "${v[$b|master_input]}") (${v[$b|master_reasons]}), slave $(numfmt --to=iec-i --suffix=B "${v[$b|slave_input]}")"
}

for b in "${builds[@]}"; do measure "$b"; done

mkdir -p bench/results
out="bench/results/compaction-$(date -u +%Y%m%dT%H%M%SZ).md"
show() { # value kind [detail]
  local s=$1
  case $2 in
    bytes) [[ $1 =~ ^[0-9]+$ ]] && s=$(awk -v b="$1" 'BEGIN {printf "%.1f MiB", b / 1048576}') ;;
    pct) [[ $1 =~ ^[0-9]+$ ]] && s="$1 %" ;;
    s) [[ $1 =~ ^[0-9.]+$ ]] && s="$1 s" ;;
  esac
  [ -z "${3:-}" ] || s="$s ($3)"
  echo "$s"
}
ratio() { # current baseline
  if [[ $1 =~ ^[0-9.]+$ && $2 =~ ^[0-9.]+$ ]]; then
    awk -v a="$1" -v b="$2" 'BEGIN {if (b == 0) print (a == 0 ? "=" : "baseline 0"); else printf "%.2f\n", a / b}'
  else echo "-"; fi
}
row() { # label metric kind
  local line="| $1 |" b
  for b in "${builds[@]}"; do line+=" $(show "${v[$b|$2]:-n/a}" "$3" "${detail[$b|$2]:-}") |"; done
  [ ${#builds[@]} -eq 1 ] || line+=" $(ratio "${v[current|$2]:-}" "${v[baseline|$2]:-}") |"
  echo "$line"
}
answered() { local b; for b in "${builds[@]}"; do [ -z "${v[$b|$1]:-}" ] || return 0; done; return 1; }
{
  echo "## Compaction after an ingest — $(date -u +'%F %H:%M') UTC, $(nproc) cores, SIZE $size, master + slave of 3 instances each"
  echo
  echo "Compactions are counted from the nodes' start to their stop (after the compactions settled), from each instance's RocksDB LOG (EVENT_LOG_v1); redis-benchmark -t set,get -n $requests -P 16 -c 50 -r 1000000 on the master (keys key:NNN, apart from the batch's key_NNN). Builds measured in this order: ${builds[*]}."
  echo
  header="| measure |"; rule="|---|"
  for b in "${builds[@]}"; do header+=" ${title[$b]} |"; rule+="---|"; done
  [ ${#builds[@]} -eq 1 ] || { header+=" current/baseline |"; rule+="---|"; }
  echo "$header"; echo "$rule"
  row "batch: shards" shards num
  row "batch: SST files in the store" sst_files num
  row "batch: SST bytes (sst/<batch>/*.sst)" sst_bytes bytes
  for name in master slave; do
    row "$name: L0 files right after the ingest (ingest_finished lsm_state; per instance)" ${name}_l0_ingest num
    row "$name: compactions started (by reason)" ${name}_started num
    row "$name: compaction input bytes (compaction_started input_data_size)" ${name}_input bytes
    row "$name: compaction input, % of the batch's SST bytes" ${name}_pct pct
    row "$name: compaction output bytes (compaction_finished total_output_size)" ${name}_output bytes
    row "$name: compaction CPU time (compaction_time_cpu_micros)" ${name}_cpu s
    row "$name: last compaction finished, after the ingest" ${name}_busy s
    row "$name: L0 files at stop (last lsm_state; per instance)" ${name}_l0_stop num
    row "$name: write stall lines in the LOG" ${name}_stalls num
  done
  if answered info_l0_returned; then
    row "master: INFO rocksdb total_level0_files when the run returned" info_l0_returned num
    row "master: INFO rocksdb total_level0_files at stop" info_l0_stop num
    row "master: INFO rocksdb total_compaction_read_bytes at stop" info_read bytes
  fi
  for t in set get; do
    row "${t^^} requests/s before the ingest" ${t}_before num
    row "${t^^} requests/s right after the run returned" ${t}_after num
    row "${t^^} requests/s 60 s after the run returned" ${t}_60s num
  done
  answered info_l0_returned || { echo; echo "(No build answered INFO rocksdb: every figure above comes from the LOGs and the store.)"; }
  for b in "${builds[@]}"; do
    echo
    echo "### \`pika-ingest run --size $size\` on these nodes — ${title[$b]}"
    echo
    cat "$work/$b.stages.md"
  done
} >"$out"
cat "$out"
log "wrote $out"
