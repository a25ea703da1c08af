#!/usr/bin/env bash
# Runs every test. Installs what the tests need first (stock RocksDB tools to prove our SSTs
# are readable by RocksDB itself, Redis for client/differential tests), then `dotnet test`.
# Usage: ./test.sh [extra dotnet test arguments]
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-deps.sh
dotnet test IngestFunctions.sln -c Release --logger "console;verbosity=normal" "$@" 2>&1 | tee /tmp/pika-ingest-test.log
# One closing line over all test projects, in the plain form CI reads.
# Per-project summaries look like "Total tests: 314" followed by "     Passed: 314" (and Failed/Skipped).
count() { { grep -E "^ +$1: [0-9]+\$" /tmp/pika-ingest-test.log || true; } | awk '{s+=$2} END {print s+0}'; }
passed=$(count Passed) failed=$(count Failed) skipped=$(count Skipped)
echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
