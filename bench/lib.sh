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
