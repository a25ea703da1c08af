#!/usr/bin/env bash
# The main job on embedded defaults: `pika-ingest run` starts a master and a slave pika-node on free
# ports, generates a 256 MiB mock batch into a local folder store, converts it with the SST function
# and writes the manifest with the manifest function (both driven by emulated S3 events), ingests it
# with INGEST_S3 on the master, waits for the slave's replay, verifies both nodes against the shards
# and prints a stage table. Exit 0 only if verification passed. Extra arguments go to `pika-ingest run`
# (e.g. --size 1G, --keep, --store s3://bucket --master host:port).
set -euo pipefail
cd "$(dirname "$0")"
dotnet build src/PikaIngest.Cli -c Release -v quiet -nologo >/dev/null
exec src/PikaIngest.Cli/bin/Release/net10.0/pika-ingest run "$@"
