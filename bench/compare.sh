#!/usr/bin/env bash
# Side-by-side throughput of the project's mock generator and converter against the native
# references in ../shared/bench (ref_mock, ref_exchange), in one run on the same data, so the
# ratios hold even on a noisy shared machine. Each measurement is repeated and the median kept.
#
# Usage: bench/compare.sh [SHARD_MB=256] [DUP_PERCENT=10] [RUNS=3] [FOLDER_SHARDS=8]
# Output: a markdown table on stdout (progress on stderr).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${SHARED_BENCH:-$root/../shared/bench}
mb=${1:-256} dup=${2:-10} runs=${3:-3} folder_shards=${4:-8}
[ -x /tmp/pbi-ref/ref_exchange ] && [ -x /tmp/pbi-ref/ref_mock ] || "$shared/build.sh" >&2
dotnet build "$root/src/PikaIngest.Cli" -c Release -v quiet -nologo >/dev/null
cli=(dotnet "$root/src/PikaIngest.Cli/bin/Release/net10.0/pika-ingest.dll")
work=$(mktemp -d /tmp/pika-bench.XXXX)
trap 'rm -rf "$work"' EXIT
log() { echo "$@" >&2; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a/b}'; }
mbps_of() { grep -Eo '[0-9.]+ MB/s' | tail -1 | awk '{print $1}'; }

# --- mock: ref_mock (one thread) vs pika-ingest mock (all cores), same total size and line shape
mock_mb=$((mb * 2))
ref_mock=() ours_mock=()
for r in $(seq "$runs"); do
  rm -f "$work/refmock.jsonl"
  t0=$(date +%s.%N); /tmp/pbi-ref/ref_mock "$work/refmock.jsonl" "$mock_mb" "$dup" 24 $((42 + r)); t1=$(date +%s.%N)
  ref_mock+=("$(awk -v b="$(stat -c %s "$work/refmock.jsonl")" -v s="$(echo "$t1 - $t0" | bc)" 'BEGIN {printf "%.1f", b/1e6/s}')")
  rm -rf "$work/mock"
  ours_mock+=("$("${cli[@]}" mock --out "$work/mock" --batch m --size "${mock_mb}000000" --max-file-size 64M --value-size 30 --dup-ratio "$(awk -v d="$dup" 'BEGIN {print d/100}')" --seed "$r" | mbps_of)")
  log "mock run $r: ref ${ref_mock[-1]} MB/s, ours ${ours_mock[-1]} MB/s"
done
rm -rf "$work/mock" "$work/refmock.jsonl"

# --- convert one shard of $mb MB
mkdir -p "$work/single"
/tmp/pbi-ref/ref_mock "$work/single/000001.jsonl" "$mb" "$dup" 24 42
ref_one=() raw_one=() v4_one=()
for r in $(seq "$runs"); do
  ref_one+=("$(/tmp/pbi-ref/ref_exchange "$work/single/000001.jsonl" "$work/ref.sst" lz4 | grep -Eo 'MBps=[0-9.]+' | cut -d= -f2)")
  rm -rf "$work/out"
  raw_one+=("$("${cli[@]}" convert --in "$work/single/000001.jsonl" --out "$work/out" --batch one --format raw --instances 1 | mbps_of)")
  rm -rf "$work/out"
  v4_one+=("$("${cli[@]}" convert --in "$work/single/000001.jsonl" --out "$work/out" --batch one --format pika-v4 --instances 3 | mbps_of)")
  log "convert 1x${mb}MB run $r: ref ${ref_one[-1]}, ours raw ${raw_one[-1]}, ours pika-v4/3 ${v4_one[-1]} MB/s"
done
rm -rf "$work/out" "$work/ref.sst" "$work/single"

# --- convert a folder of $folder_shards x 64 MB: ref one after another vs ours with 2 threads
mkdir -p "$work/folder"
for s in $(seq "$folder_shards"); do /tmp/pbi-ref/ref_mock "$work/folder/$(printf %06d "$s").jsonl" 64 "$dup" 24 $((100 + s)); done
folder_bytes=$(du -cb "$work"/folder/*.jsonl | tail -1 | cut -f1)
ref_folder=() raw_folder=() v4_folder=()
for r in $(seq "$runs"); do
  t0=$(date +%s.%N)
  for f in "$work"/folder/*.jsonl; do /tmp/pbi-ref/ref_exchange "$f" "$work/ref.sst" lz4 >/dev/null; done
  t1=$(date +%s.%N)
  ref_folder+=("$(awk -v b="$folder_bytes" -v s="$(echo "$t1 - $t0" | bc)" 'BEGIN {printf "%.1f", b/1e6/s}')")
  rm -rf "$work/out"
  raw_folder+=("$("${cli[@]}" convert --in "$work/folder" --out "$work/out" --batch folder --format raw --instances 1 --threads 2 | mbps_of)")
  rm -rf "$work/out"
  v4_folder+=("$("${cli[@]}" convert --in "$work/folder" --out "$work/out" --batch folder --format pika-v4 --instances 3 --threads 2 | mbps_of)")
  log "convert ${folder_shards}x64MB run $r: ref ${ref_folder[-1]}, ours raw ${raw_folder[-1]}, ours pika-v4/3 ${v4_folder[-1]} MB/s"
done

m() { printf '%s\n' "$@" | median; }
rm_=$(m "${ref_mock[@]}") om=$(m "${ours_mock[@]}")
r1=$(m "${ref_one[@]}") o1=$(m "${raw_one[@]}") v1=$(m "${v4_one[@]}")
rf=$(m "${ref_folder[@]}") of=$(m "${raw_folder[@]}") vf=$(m "${v4_folder[@]}")
cat <<EOT
| step (median of $runs runs, MB/s of input) | native reference | pika-ingest | ratio |
|---|---|---|---|
| mock ${mock_mb} MB (ref: 1 thread; ours: $(nproc) threads) | $rm_ | $om | $(ratio "$om" "$rm_")x |
| convert 1x${mb} MB, raw, 1 instance | $r1 | $o1 | $(ratio "$o1" "$r1")x |
| convert 1x${mb} MB, pika-v4, 3 instances | $r1 | $v1 | $(ratio "$v1" "$r1")x |
| convert ${folder_shards}x64 MB, raw, 1 instance, 2 threads (ref: one after another) | $rf | $of | $(ratio "$of" "$rf")x |
| convert ${folder_shards}x64 MB, pika-v4, 3 instances, 2 threads | $rf | $vf | $(ratio "$vf" "$rf")x |
EOT
