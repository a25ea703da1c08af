# Shared by the bench scripts: child processes stopped on exit, free ports, waiting for a server.
# Expects $work (a scratch folder) to be set; fills pids.
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 300); do redis-cli -p "$1" PING >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "port $1 did not answer" >&2; return 1; }
build_release() {
  scripts/install-deps.sh >/dev/null
  dotnet build src/PikaIngest.Node -c Release -v quiet -nologo >/dev/null
  dotnet build src/PikaIngest.Cli -c Release -v quiet -nologo >/dev/null
}
node="dotnet src/PikaIngest.Node/bin/Release/net10.0/pika-node.dll"
cli=src/PikaIngest.Cli/bin/Release/net10.0/pika-ingest
# The S3 event of a converted batch's last record, which completes it for the manifest function: the last merge record
# of a multi-shard batch (state/<batch>/merged/), else the completion record of a one-shard batch (state/<batch>/done/).
completion_event() { # store-root batch event-file
  local kind=merged
  [ -d "$1/local/state/$2/merged" ] || kind=done
  local last; last=$(find "$1/local/state/$2/$kind" -name '*.json' -printf '%f\n' | sort | tail -1)
  printf '{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"local"},"object":{"key":"state/%s/%s/%s","size":1}}}]}' "$2" "$kind" "$last" >"$3"
}
