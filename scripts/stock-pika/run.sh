#!/usr/bin/env bash
# Starts a stock Pika built by build.sh on a port and a data folder, in the background, and
# waits until it answers PING:
#   scripts/stock-pika/run.sh --port 9221 --dir DIR [--version 4.0.1] [--instances N]
#                             [--databases N] [--set key=value]... [--foreground]
# The conf is Pika's own conf/pika.conf from the built tree (DIR/pika.conf), with only these
# changed: port; db-path, log-path, dump-path, db-sync-path, pidfile under DIR; daemonize no;
# db-instance-num (--instances: RocksDB instances per DB, Pika 4 only; stock default 3);
# maxclients only when the open files limit is too low for it (see below);
# databases (--databases, stock default 1); and any --set key=value (e.g. --set cache-model=0 to
# switch off Pika 4's in-memory read cache, which is on in the stock conf). Stop it with
# `redis-cli -p PORT shutdown` or `kill $(cat DIR/pika.pid)`.
set -euo pipefail
version=4.0.1 port=9221 dir="" instances="" databases="" foreground=0
sets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --version) version="${2:?}"; shift 2 ;;
    --port) port="${2:?}"; shift 2 ;;
    --dir) dir="${2:?}"; shift 2 ;;
    --instances) instances="${2:?}"; shift 2 ;;
    --databases) databases="${2:?}"; shift 2 ;;
    --set) sets+=("${2:?}"); shift 2 ;;
    --foreground) foreground=1; shift ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done
out="${PIKA_CACHE:-$HOME/.cache/pika-batch-ingest}/stock-pika/$version"
pika="$out/bin/pika"
[ -x "$pika" ] || { echo "run.sh: no stock Pika $version at $pika (build it: scripts/stock-pika/sources.sh --version $version, then the line it prints)" >&2; exit 2; }
[ -n "$dir" ] || { echo "run.sh: --dir DIR is required (the data folder)" >&2; exit 2; }
mkdir -p "$dir"; dir="$(cd "$dir" && pwd)"
conf="$dir/pika.conf"
cp "$out/conf/pika.conf" "$conf"

set_key() { # key value: replace the key's uncommented line, or append it
  local k="$1" v="$2" ke
  ke="$(printf '%s' "$k" | sed 's/[.[\*^$/]/\\&/g')"
  if grep -qE "^${ke}[[:space:]]*:" "$conf"; then
    sed -i -E "s/^${ke}[[:space:]]*:.*/$(printf '%s' "$k : $v" | sed 's/[&/\]/\\&/g')/" "$conf"
  else
    printf '%s : %s\n' "$k" "$v" >> "$conf"
  fi
}
set_key port "$port"
set_key db-path "$dir/db/"
set_key log-path "$dir/log/"
set_key dump-path "$dir/dump/"
set_key db-sync-path "$dir/dbsync/"
set_key pidfile "$dir/pika.pid"
set_key daemonize no
if [ -n "$instances" ]; then
  grep -qE '^db-instance-num[[:space:]]*:' "$conf" || echo "run.sh: note: Pika $version's conf has no db-instance-num" >&2
  set_key db-instance-num "$instances"
fi
[ -z "$databases" ] || set_key databases "$databases"
for kv in ${sets[@]+"${sets[@]}"}; do set_key "${kv%%=*}" "${kv#*=}"; done

# Pika refuses to start (LOG(FATAL) in src/pika.cc main) unless it may open maxclients + 5000
# (PIKA_MIN_RESERVED_FDS) files; it only raises the limit itself when it is allowed to. Raise the
# soft limit to the hard one, and if that is still short lower maxclients (stock 20000) to fit.
hard="$(ulimit -Hn)"
if [ "$hard" != unlimited ]; then
  ulimit -n "$hard"
  maxclients="$(sed -nE 's/^maxclients[[:space:]]*:[[:space:]]*([0-9]+).*/\1/p' "$conf" | head -1)"
  if [ -n "$maxclients" ] && [ $((maxclients + 5000)) -gt "$hard" ]; then
    [ "$hard" -gt 5100 ] || { echo "run.sh: open files hard limit $hard; Pika needs maxclients + 5000" >&2; exit 1; }
    echo "run.sh: note: open files hard limit $hard, so maxclients $maxclients -> $((hard - 5000))" >&2
    set_key maxclients "$((hard - 5000))"
  fi
fi

cd "$dir"
if [ "$foreground" = 1 ]; then exec "$pika" -c "$conf"; fi
setsid "$pika" -c "$conf" > "$dir/pika.stdout" 2>&1 < /dev/null &
pid=$!
for _ in $(seq 1 120); do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "run.sh: pika exited; last output ($dir/pika.stdout):" >&2; tail -20 "$dir/pika.stdout" >&2; exit 1
  fi
  if [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ]; then
    echo "stock Pika $version pid $pid port $port dir $dir conf $conf"
    exit 0
  fi
  sleep 0.5
done
echo "run.sh: pika (pid $pid) did not answer PING on port $port within 60 s; see $dir/pika.stdout and $dir/log/" >&2
exit 1
