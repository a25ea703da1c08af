#!/usr/bin/env bash
# Installs the system tools the tests and benchmarks use: stock RocksDB tools (sst_dump, ldb)
# to prove our SSTs are readable by RocksDB itself, and Redis (server + redis-cli/benchmark)
# for differential and client tests. Idempotent: does nothing when everything is present.
set -euo pipefail
need=()
command -v sst_dump >/dev/null 2>&1 || need+=(rocksdb-tools)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# The real S3 protocol server the object store tests run against (npm s3rver, pinned in
# tests/s3rver/package-lock.json).
s3rver_dir="$(dirname "$0")/../tests/s3rver"
if [ ! -x "$s3rver_dir/node_modules/.bin/s3rver" ]; then
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "installing: nodejs npm"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  fi
  npm ci --prefix "$s3rver_dir" --no-audit --no-fund
fi
