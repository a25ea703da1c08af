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
