#!/usr/bin/env bash
# Exports the source trees a stock Pika build needs from local bare git mirrors (the library's
# `fetch` lays them out as MIRRORS_ROOT/<owner>+<name>/repo) into the cache, at the tags Pika
# itself pins, and prints the build.sh command line. Nothing is downloaded.
#   usage: scripts/stock-pika/sources.sh [--version 4.0.1] [MIRRORS_ROOT=/work/.mirror]
# The RocksDB, rediscache and fmt tags are read from the URLs of Pika's own CMakeLists.txt
# ExternalProject_Add calls, so they are exactly the versions upstream builds with.
set -euo pipefail
version=4.0.1
mirrors=/work/.mirror
while [ $# -gt 0 ]; do
  case "$1" in
    --version) version="$2"; shift 2 ;;
    MIRRORS_ROOT=*) mirrors="${1#MIRRORS_ROOT=}"; shift ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "sources.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done
cache="${PIKA_CACHE:-$HOME/.cache/pika-batch-ingest}/stock-pika"
mkdir -p "$cache/src"

mirror() { # owner+name -> git dir, or a plain error naming it
  local d="$mirrors/$1/repo"
  if ! git --git-dir="$d" rev-parse --git-dir >/dev/null 2>&1; then
    echo "sources.sh: no git mirror of ${1/+//} at $d (bring it with the library's fetch, or pass MIRRORS_ROOT=...)" >&2
    exit 2
  fi
  echo "$d"
}
export_tree() { # git-dir tag dest: exports once; a finished export carries .exported
  local gd="$1" tag="$2" dest="$3"
  if [ -f "$dest/.exported" ]; then return; fi
  if ! git --git-dir="$gd" rev-parse -q --verify "refs/tags/$tag^{commit}" >/dev/null; then
    echo "sources.sh: tag $tag not in $gd" >&2; exit 2
  fi
  rm -rf "$dest"; mkdir -p "$dest"
  git --git-dir="$gd" archive "$tag" | tar -x -C "$dest"
  git --git-dir="$gd" rev-parse "$tag^{commit}" > "$dest/.exported"
  echo "exported ${gd%/repo} $tag -> $dest" >&2
}
pinned_tag() { # CMakeLists text, github owner/name -> tag in its archive URL
  grep -oE "https://github.com/$2/archive/refs/tags/[^ ]+\.tar\.gz" <<<"$1" | head -1 \
    | sed -E 's#.*/refs/tags/(.*)\.tar\.gz#\1#'
}

pika_git="$(mirror OpenAtomFoundation+pika)"
pika_dir="$cache/src/pika-v$version"
export_tree "$pika_git" "v$version" "$pika_dir"
cml="$(cat "$pika_dir/CMakeLists.txt")"
rocksdb_tag="$(pinned_tag "$cml" facebook/rocksdb)"
rediscache_tag="$(pinned_tag "$cml" pikiwidb/rediscache)"
fmt_tag="$(pinned_tag "$cml" fmtlib/fmt)"
for v in rocksdb_tag rediscache_tag fmt_tag; do
  [ -n "${!v}" ] || { echo "sources.sh: could not read the ${v%_tag} pin from $pika_dir/CMakeLists.txt" >&2; exit 2; }
done
export_tree "$(mirror facebook+rocksdb)" "$rocksdb_tag" "$cache/src/rocksdb-$rocksdb_tag"
export_tree "$(mirror pikiwidb+rediscache)" "$rediscache_tag" "$cache/src/rediscache-$rediscache_tag"
export_tree "$(mirror fmtlib+fmt)" "$fmt_tag" "$cache/src/fmt-$fmt_tag"

here="$(cd "$(dirname "$0")" && pwd)"
printf '%q ' "$here/build.sh" --version "$version" --pika-src "$pika_dir" \
  --rocksdb-src "$cache/src/rocksdb-$rocksdb_tag" --rediscache-src "$cache/src/rediscache-$rediscache_tag" \
  --fmt-src "$cache/src/fmt-$fmt_tag"
echo
