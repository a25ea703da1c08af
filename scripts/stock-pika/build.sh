#!/usr/bin/env bash
# Builds a stock Pika (OpenAtomFoundation/pika) from its source tree, offline:
#   scripts/stock-pika/build.sh [--version 4.0.1] --pika-src DIR --rocksdb-src DIR \
#                               --rediscache-src DIR --fmt-src DIR
# (scripts/stock-pika/sources.sh exports these trees from local git mirrors and prints this line.)
#
# Pika's CMakeLists.txt downloads every dependency with ExternalProject_Add(URL https://...).
# Here instead: gtest, gflags, glog, snappy, zstd, lz4, zlib, protobuf, libunwind and jemalloc
# come from Debian packages (installed here if missing), RocksDB (the tag Pika pins, v8.7.3) and
# rediscache are built from the given source trees, and so is fmt (Pika pins 7.1.0; Debian ships
# libfmt only shared, and Pika links libfmt.a by name, which the linker looks up -Bstatic). The
# edits to Pika's build are made only in a copy of its tree in the cache, never in the given tree;
# each is listed in scripts/stock-pika/README.md and in BUILD-INFO next to the binary.
#
# Result: ${PIKA_CACHE:-$HOME/.cache/pika-batch-ingest}/stock-pika/<version>/bin/pika. With that
# present the script does nothing but print the path. Compiles run under nice -n 19 with -j2
# (JOBS=N to change); the RocksDB build (tens of minutes) is shared by all Pika versions.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
version=4.0.1
pika_src="" rocksdb_src="" rediscache_src="" fmt_src=""
usage() { sed -n '3,4p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --version) version="${2:?}"; shift 2 ;;
    --pika-src) pika_src="${2:?}"; shift 2 ;;
    --rocksdb-src) rocksdb_src="${2:?}"; shift 2 ;;
    --rediscache-src) rediscache_src="${2:?}"; shift 2 ;;
    --fmt-src) fmt_src="${2:?}"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "build.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done

# A source folder that is absent: one plain line naming the flag and the path.
need_dir() { # flag value file-that-must-exist
  if [ -z "$2" ]; then echo "build.sh: $1 DIR is required (scripts/stock-pika/sources.sh prints a full command line)" >&2; exit 2; fi
  if [ ! -d "$2" ]; then echo "build.sh: $1 $2: no such source folder" >&2; exit 2; fi
  if [ ! -f "$2/$3" ]; then echo "build.sh: $1 $2: not a source tree (no $3)" >&2; exit 2; fi
}
need_dir --pika-src "$pika_src" include/pika_version.h
need_dir --rocksdb-src "$rocksdb_src" include/rocksdb/version.h
need_dir --rediscache-src "$rediscache_src" redis.h
need_dir --fmt-src "$fmt_src" include/fmt/core.h
pika_src="$(cd "$pika_src" && pwd)"; rocksdb_src="$(cd "$rocksdb_src" && pwd)"
rediscache_src="$(cd "$rediscache_src" && pwd)"; fmt_src="$(cd "$fmt_src" && pwd)"

cache="${PIKA_CACHE:-$HOME/.cache/pika-batch-ingest}/stock-pika"
out="$cache/$version"
if [ -x "$out/bin/pika" ] && [ -f "$out/BUILD-INFO" ]; then
  echo "stock Pika $version already built (remove $out to rebuild):"
  echo "$out/bin/pika"
  exit 0
fi

hdr_define() { sed -nE "s/^#define $2 +([0-9]+).*/\1/p" "$1" | head -1; }
pika_hdr="$(hdr_define "$pika_src/include/pika_version.h" PIKA_MAJOR).$(hdr_define "$pika_src/include/pika_version.h" PIKA_MINOR).$(hdr_define "$pika_src/include/pika_version.h" PIKA_PATCH)"
if [ "${pika_hdr%.*}" != "${version%.*}" ]; then
  echo "build.sh: --pika-src $pika_src is Pika $pika_hdr (include/pika_version.h), not $version" >&2; exit 2
fi
rocksdb_ver="$(hdr_define "$rocksdb_src/include/rocksdb/version.h" ROCKSDB_MAJOR).$(hdr_define "$rocksdb_src/include/rocksdb/version.h" ROCKSDB_MINOR).$(hdr_define "$rocksdb_src/include/rocksdb/version.h" ROCKSDB_PATCH)"
rocksdb_pin="$(grep -oE 'facebook/rocksdb/archive/refs/tags/v[0-9.]+\.tar\.gz' "$pika_src/CMakeLists.txt" | sed -E 's#.*/v(.*)\.tar\.gz#\1#' | head -1)"
if [ -n "$rocksdb_pin" ] && [ "$rocksdb_ver" != "$rocksdb_pin" ]; then
  echo "build.sh: --rocksdb-src $rocksdb_src is RocksDB $rocksdb_ver, Pika $version pins $rocksdb_pin" >&2; exit 2
fi
fmt_num="$(hdr_define "$fmt_src/include/fmt/core.h" FMT_VERSION)"
fmt_ver="$((fmt_num / 10000)).$((fmt_num / 100 % 100)).$((fmt_num % 100))"

# Debian packages (idempotent: apt only runs when one is missing).
pkgs=(cmake make g++ autoconf libgflags-dev libgoogle-glog-dev libprotobuf-dev protobuf-compiler
      libsnappy-dev libzstd-dev liblz4-dev zlib1g-dev libgtest-dev libunwind-dev libjemalloc-dev
      redis-tools)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
multiarch="$(gcc -print-multiarch)"; syslib="/usr/lib/$multiarch"
jobs="${JOBS:-2}"
nicely() { nice -n 19 "$@"; }
log() { echo "[$(date +%T)] $*"; }

# RocksDB, configured as Pika's ExternalProject_Add(rocksdb ...) does, into a prefix shared by
# every Pika version pinning the same tag. A finished install carries .done.
rocksdb_prefix="$cache/deps/rocksdb-$rocksdb_ver"
if [ ! -f "$rocksdb_prefix/.done" ]; then
  log "building RocksDB $rocksdb_ver from $rocksdb_src (nice, -j$jobs; tens of minutes)"
  rm -rf "$rocksdb_prefix" "$rocksdb_prefix.build"; mkdir -p "$cache/deps"
  nicely cmake -S "$rocksdb_src" -B "$rocksdb_prefix.build" -DCMAKE_INSTALL_PREFIX="$rocksdb_prefix" \
    -DCMAKE_BUILD_TYPE=Release -DUSE_RTTI=1 -DWITH_BENCHMARK=OFF -DWITH_BENCHMARK_TOOLS=OFF \
    -DWITH_TOOLS=OFF -DWITH_CORE_TOOLS=OFF -DWITH_TESTS=OFF -DWITH_TRACE_TOOLS=OFF -DWITH_EXAMPLES=OFF \
    -DROCKSDB_BUILD_SHARED=OFF -DWITH_JEMALLOC=ON -DWITH_LZ4=ON -DWITH_SNAPPY=ON -DWITH_ZLIB=ON \
    -DWITH_ZSTD=ON -DWITH_GFLAGS=ON -DFAIL_ON_WARNINGS=OFF -DWITH_LIBURING=OFF -DPORTABLE=1 \
    > "$rocksdb_prefix.configure.log" 2>&1 || { tail -30 "$rocksdb_prefix.configure.log"; exit 1; }
  nicely make -C "$rocksdb_prefix.build" -j"$jobs" install > "$rocksdb_prefix.build.log" 2>&1 \
    || { tail -40 "$rocksdb_prefix.build.log"; echo "build.sh: RocksDB build failed, log: $rocksdb_prefix.build.log" >&2; exit 1; }
  rm -rf "$rocksdb_prefix.build"
  echo "RocksDB $rocksdb_ver from $rocksdb_src" > "$rocksdb_prefix/.done"
  log "RocksDB installed in $rocksdb_prefix"
fi
rocksdb_lib="$(ls "$rocksdb_prefix"/lib*/librocksdb.a | head -1)"

# A fresh copy of Pika's tree; the staged prefix <copy>/deps is where Pika's CMakeLists expects
# every ExternalProject to have installed itself (STAGED_INSTALL_PREFIX). The build folders are
# kept, so a run after a failure only compiles what is left (cp -a keeps the sources' times).
mkdir -p "$out"; rm -rf "$out/src" "$out/rediscache-src" "$out/bin" "$out/conf" "$out/BUILD-INFO"
src="$out/src"; build="$out/build"; deps="$src/deps"
cp -a "$pika_src" "$src"
rm -f "$src/.exported"
mkdir -p "$deps/lib" "$deps/include" "$deps/bin"

# rediscache (Pika builds it with CMAKE_BUILD_TYPE=Debug; its CMakeLists sets its own -O2 flags).
log "building rediscache from $rediscache_src"
cp -a "$rediscache_src" "$out/rediscache-src"
nicely cmake -S "$out/rediscache-src" -B "$out/rediscache-build" -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_INSTALL_PREFIX="$deps" -DCMAKE_INSTALL_INCLUDEDIR="$deps/include" -DCMAKE_INSTALL_LIBDIR="$deps/lib" \
  > "$out/rediscache.log" 2>&1 && nicely make -C "$out/rediscache-build" -j"$jobs" install >> "$out/rediscache.log" 2>&1 \
  || { tail -30 "$out/rediscache.log"; echo "build.sh: rediscache build failed, log: $out/rediscache.log" >&2; exit 1; }

# fmt: the pinned version from source, static, as Pika's ExternalProject_Add(fmt ...) does.
log "building fmt $fmt_ver from $fmt_src"
nicely cmake -S "$fmt_src" -B "$out/fmt-build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$deps" \
  -DCMAKE_INSTALL_LIBDIR=lib -DFMT_TEST=OFF -DFMT_DOC=OFF -DCMAKE_POSITION_INDEPENDENT_CODE=ON > "$out/fmt.log" 2>&1 \
  && nicely make -C "$out/fmt-build" -j"$jobs" install >> "$out/fmt.log" 2>&1 \
  || { tail -30 "$out/fmt.log"; echo "build.sh: fmt build failed, log: $out/fmt.log" >&2; exit 1; }

# The rest of the staged prefix: Debian's static libraries under the names Pika links.
for l in libgtest.a libgtest_main.a libgflags.a libglog.a libsnappy.a libzstd.a liblz4.a libz.a \
         libprotobuf.a libjemalloc.a; do
  [ -f "$syslib/$l" ] || { echo "build.sh: $syslib/$l missing (Debian package not installed?)" >&2; exit 1; }
  ln -s "$syslib/$l" "$deps/lib/$l"
done
# libunwind shared: Debian's libunwind.a is not position independent (Pika's own build uses
# --with-pic), so it cannot go into Pika's PIE executable, and it defines _Unwind_* again next to
# the static libgcc Pika links (-static-libgcc). The shared one brings its liblzma along.
ln -s "$syslib/libunwind.so" "$deps/lib/libunwind.a"
ln -s "$rocksdb_lib" "$deps/lib/librocksdb.a"
ln -s "$rocksdb_prefix/include/rocksdb" "$deps/include/rocksdb"
ln -s "$(command -v protoc)" "$deps/bin/protoc"
# Pika's storage library includes RocksDB's own source tree (ROCKSDB_SOURCE_DIR) too.
mkdir -p "$src/buildtrees/Source"
ln -s "$rocksdb_src" "$src/buildtrees/Source/rocksdb"

# Edit 1: no downloads. Every ExternalProject_Add becomes an empty target of the same name.
cp "$here/no-downloads.cmake" "$src/no-downloads.cmake"
grep -q '^include(ExternalProject)$' "$src/CMakeLists.txt" \
  || { echo "build.sh: $pika_src/CMakeLists.txt has no include(ExternalProject) line to replace" >&2; exit 1; }
sed -i 's#^include(ExternalProject)$#include(${CMAKE_CURRENT_SOURCE_DIR}/no-downloads.cmake)#' "$src/CMakeLists.txt"
if grep -rq --include=CMakeLists.txt 'include(ExternalProject)' "$src"; then
  echo "build.sh: another include(ExternalProject) in $pika_src; extend the edits" >&2; exit 1
fi

log "configuring Pika $version"
nicely cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release > "$out/configure.log" 2>&1 \
  || { tail -30 "$out/configure.log"; echo "build.sh: Pika configure failed, log: $out/configure.log" >&2; exit 1; }
log "building Pika $version (nice, -j$jobs)"
nicely make -C "$build" -j"$jobs" pika > "$out/build.log" 2>&1 \
  || { grep -E "error|Error" "$out/build.log" | head -30; echo "build.sh: Pika build failed, log: $out/build.log" >&2; exit 1; }
mkdir -p "$out/bin" "$out/conf"
cp "$build/pika" "$out/bin/pika"
cp "$src/conf/pika.conf" "$out/conf/pika.conf"

{
  echo "stock Pika $version (include/pika_version.h says $pika_hdr), built $(date -u +%FT%TZ)"
  echo "pika source: $pika_src$( [ -f "$pika_src/.exported" ] && echo " (commit $(cat "$pika_src/.exported"))")"
  echo "rocksdb: $rocksdb_ver from $rocksdb_src"
  echo "rediscache: from $rediscache_src$( [ -f "$rediscache_src/.exported" ] && echo " (commit $(cat "$rediscache_src/.exported"))")"
  echo "fmt: $fmt_ver from $fmt_src"
  echo "compiler: $(g++ --version | head -1); cmake $(cmake --version | head -1 | awk '{print $3}')"
  echo "Debian packages:"
  for p in "${pkgs[@]}"; do echo "  $p $(dpkg-query -W -f='${Version}' "$p")"; done
  echo "edits to Pika's build (in the copy $src only):"
  echo "  CMakeLists.txt: include(ExternalProject) -> include(no-downloads.cmake): each ExternalProject_Add is an empty target"
  echo "  deps/ (STAGED_INSTALL_PREFIX) populated with links: Debian static libs, RocksDB, rediscache, fmt, protoc"
  echo "  buildtrees/Source/rocksdb (ROCKSDB_SOURCE_DIR) -> $rocksdb_src"
  echo "  deps/lib/libunwind.a -> Debian's libunwind.so (its libunwind.a is not PIC and clashes with static libgcc)"
} > "$out/BUILD-INFO"
log "done"
echo "$out/bin/pika"
