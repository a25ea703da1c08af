#!/usr/bin/env bash
# Runs every test. Installs what the tests need first (stock RocksDB tools to prove our SSTs
# are readable by RocksDB itself, Redis for client/differential tests), then `dotnet test`.
# Usage: ./test.sh [extra dotnet test arguments]
#        ./test.sh --stock-pika PATH [--stock-pika-35 PATH35] [extra dotnet test arguments]
#          runs only the compatibility suite against the stock Pika 4 executable PATH (and the
#          Pika 3.5 one, PATH35), built by scripts/stock-pika/build.sh; without them those tests
#          are reported as skipped, not run.
set -euo pipefail
cd "$(dirname "$0")"
target=IngestFunctions.sln
executable() { # flag path: the absolute path of an executable, or exit 2 naming the flag
  [ -n "${2:-}" ] && [ -x "$2" ] || { echo "test.sh: $1 needs the path of a stock Pika executable (got '${2:-}')" >&2; exit 2; }
  echo "$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
}
while [ "${1:-}" = "--stock-pika" ] || [ "${1:-}" = "--stock-pika-35" ]; do
  if [ "$1" = "--stock-pika" ]; then PIKA_SERVER="$(executable "$1" "${2:-}")"; export PIKA_SERVER
  else PIKA_SERVER_35="$(executable "$1" "${2:-}")"; export PIKA_SERVER_35; fi
  target=tests/PikaIngest.StockPika.Tests/PikaIngest.StockPika.Tests.csproj
  shift 2
done
scripts/install-deps.sh
log="${TMPDIR:-/tmp}/pika-ingest-test.log"
status=0
dotnet test "$target" -c Release --logger "console;verbosity=normal" "$@" 2>&1 | tee "$log" || status=$?
# One closing block over all test projects, in the plain form CI reads. Projects finish in any
# order and CI may keep only the tail of the output, so the failures are repeated here.
# Per-project summaries look like "Total tests: 314" followed by "     Passed: 314" (and Failed/Skipped).
count() { { grep -E "^ +$1: [0-9]+\$" "$log" || true; } | awk '{s+=$2} END {print s+0}'; }
passed=$(count Passed) failed=$(count Failed) skipped=$(count Skipped)
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ]; then
  echo "---- failures (from $log) ----"
  grep -E -A 12 "^ +Failed [A-Za-z]" "$log" | head -200 || true
  grep -E "error [A-Z]+[0-9]+|Test Run Aborted|The active test run was aborted|exited with error" "$log" | head -40 || true
fi
echo "tests: $passed passed, $failed failed, $skipped skipped (dotnet test exit $status)"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
