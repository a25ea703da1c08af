#!/usr/bin/env bash
# The main job on embedded defaults: generate a small mock batch, convert it to Pika-format
# SST files, and summarize what was produced. Everything lands under ./demo (the local
# folder store). Extra arguments go to `pika-ingest mock` (e.g. --size 1G).
set -euo pipefail
cd "$(dirname "$0")"
dotnet build src/PikaIngest.Cli -c Release -v quiet -nologo >/dev/null
cli=src/PikaIngest.Cli/bin/Release/net10.0/pika-ingest
batch="demo-$(date -u +%Y%m%dT%H%M%SZ)"
"$cli" mock --out demo --batch "$batch" --size 64M --max-file-size 16M "$@"
"$cli" convert --in "demo/incoming/$batch"
"$cli" inspect "demo/sst/$batch"
