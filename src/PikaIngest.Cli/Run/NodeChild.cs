using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace PikaIngest.Cli.Run;

/// <summary>
/// A <c>pika-node</c> started by <c>pika-ingest run</c> as a child process on a free port: its output goes to a
/// log file, it is ready once it prints its listening line, and it is stopped with SHUTDOWN (killed if it
/// does not exit in time), so no run leaves a node behind, whatever way the run ends.
/// </summary>
internal sealed partial class NodeChild : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(20);
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly TaskCompletionSource<int> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Queue<string> _tail = new();

    private NodeChild(string name, Process process, StreamWriter log, string logPath)
    {
        Name = name;
        _process = process;
        _log = log;
        LogPath = logPath;
    }

    public string Name { get; }

    public string LogPath { get; }

    public int Port { get; private set; }

    public string Endpoint => $"127.0.0.1:{Port}";

    public int ProcessId => _process.Id;

    /// <summary>Starts <c>pika-node --port 0 …</c> and waits until it listens.</summary>
    public static async Task<NodeChild> StartAsync(string name, IReadOnlyList<string> arguments, string logPath, CancellationToken cancellation)
    {
        var (program, prefix) = Locate();
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // --parent-pid: a run killed outright (SIGKILL) gets no chance to stop its nodes; they stop themselves.
        foreach (var argument in prefix.Concat(["--port", "0", "--parent-pid", Environment.ProcessId.ToString(CultureInfo.InvariantCulture)]).Concat(arguments))
        {
            start.ArgumentList.Add(argument);
        }

        var log = new StreamWriter(logPath, append: false) { AutoFlush = true };
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var child = new NodeChild(name, process, log, logPath);
        process.OutputDataReceived += (_, e) => child.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => child.OnLine(e.Data);
        process.Exited += (_, _) => child._ready.TrySetException(new InvalidOperationException(
            $"{name} pika-node exited with code {process.ExitCode} before it was ready: {child.LastLines()} (log: {logPath})"));
        if (!process.Start())
        {
            throw new InvalidOperationException($"could not start {program}");
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            child.Port = await child._ready.Task.WaitAsync(StartTimeout, cancellation).ConfigureAwait(false);
            return child;
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException or InvalidOperationException)
        {
            await child.DisposeAsync().ConfigureAwait(false);
            throw e is TimeoutException ? new TimeoutException($"{name} pika-node did not report ready within {StartTimeout.TotalSeconds:0} s (log: {logPath})") : e;
        }
    }

    /// <summary>Whether the process is still running (a node that died mid-run is reported by name).</summary>
    public bool IsRunning => !_process.HasExited;

    public string ExitDescription => _process.HasExited ? $"{Name} pika-node exited with code {_process.ExitCode}: {LastLines()} (log: {LogPath})" : $"{Name} pika-node is running";

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            try
            {
                using var connection = RespConnection.Open(Endpoint, null, TimeSpan.FromSeconds(5));
                connection.Call("SHUTDOWN");
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or InvalidOperationException or ArgumentException)
            {
                // Down already, or not answering: the kill below settles it.
            }

            using var timeout = new CancellationTokenSource(StopTimeout);
            try
            {
                await _process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }

        _process.WaitForExit(); // drains the redirected output into the log
        _process.Dispose();
        lock (_log)
        {
            _log.Dispose();
        }
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.WriteLine(line);
            _tail.Enqueue(line);
            if (_tail.Count > 5)
            {
                _tail.Dequeue();
            }
        }

        if (ReadyLine().Match(line) is { Success: true } match)
        {
            _ready.TrySetResult(int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    private string LastLines()
    {
        lock (_log)
        {
            return _tail.Count == 0 ? "(no output)" : string.Join(" | ", _tail);
        }
    }

    /// <summary>pika-node ships beside pika-ingest; it runs on the same dotnet host.</summary>
    private static (string Program, string[] Prefix) Locate()
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "pika-node.dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"{dll} is missing: pika-node is built beside pika-ingest (dotnet build src/PikaIngest.Cli)");
        }

        var host = Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet";
        return (host, [dll]);
    }

    [GeneratedRegex(@"pika-node ready: listening on [^ ]*:(\d+),")]
    private static partial Regex ReadyLine();
}
