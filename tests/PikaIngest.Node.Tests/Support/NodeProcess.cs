using System.Diagnostics;
using System.Text.RegularExpressions;

namespace PikaIngest.Node.Tests.Support;

/// <summary>A real <c>pika-node</c> process on a free port; its log is kept for assertions and failure messages.</summary>
public sealed partial class NodeProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private readonly Process _process;
    private readonly List<string> _log = [];

    private NodeProcess(Process process, int port, string dataFolder)
    {
        _process = process;
        Port = port;
        DataFolder = dataFolder;
    }

    public int Port { get; }

    public string DataFolder { get; }

    public bool HasExited => _process.HasExited;

    /// <summary>The names of the process's threads (Linux: /proc/PID/task/*/comm), e.g. ".NET Sockets" for a socket event thread.</summary>
    public IReadOnlyList<string> ThreadNames =>
        [.. Directory.GetDirectories($"/proc/{_process.Id}/task").Select(task => File.ReadAllText(Path.Combine(task, "comm")).TrimEnd('\n'))];

    public int ExitCode => _process.ExitCode;

    /// <summary>The node's process id, for reading its /proc entries (memory tests).</summary>
    public int ProcessId => _process.Id;

    public string Log
    {
        get
        {
            lock (_log)
            {
                return string.Join('\n', _log);
            }
        }
    }

    public static string DllPath => Path.Combine(AppContext.BaseDirectory, "pika-node.dll");

    /// <summary>Starts the node (on <c>--port 0</c> unless told otherwise) and waits for the line saying where it listens.</summary>
    public static Task<NodeProcess> StartAsync(string dataFolder, params string[] args) =>
        StartAsync(dataFolder, new Dictionary<string, string>(), args);

    /// <param name="environment">Variables set for the node process (e.g. a test fault point).</param>
    public static async Task<NodeProcess> StartAsync(string dataFolder, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        string[] anyPort = args.Contains("--port") ? [] : ["--port", "0"];
        foreach (var arg in (string[])[DllPath, .. anyPort, "--data", dataFolder, .. args])
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start pika-node");
        var ready = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var lines = new List<string>();
        void OnLine(string? line)
        {
            if (line is null)
            {
                // Wait for the exit, which also drains stderr, so the message holds the node's error.
                _ = Task.Run(() =>
                {
                    process.WaitForExit();
                    lock (lines)
                    {
                        ready.TrySetException(new InvalidOperationException($"pika-node exited ({process.ExitCode}) before it was ready:\n" + string.Join('\n', lines)));
                    }
                });
                return;
            }

            lock (lines)
            {
                lines.Add(line);
            }

            if (ReadyLine().Match(line) is { Success: true } match)
            {
                ready.TrySetResult(int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (lines)
                {
                    lines.Add("stderr: " + e.Data);
                }
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var port = await ready.Task.WaitAsync(StartTimeout);
            var node = new NodeProcess(process, port, dataFolder);
            lock (node._log)
            {
                node._log.AddRange(lines);
            }

            process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is not null)
                {
                    lock (node._log)
                    {
                        node._log.Add(e.Data);
                    }
                }
            };
            return node;
        }
        catch
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            throw;
        }
    }

    /// <summary>Sends SIGTERM and waits for a clean exit.</summary>
    public async Task<int> StopAsync()
    {
        if (!_process.HasExited)
        {
            Signal("TERM");
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await _process.WaitForExitAsync(timeout.Token);
        }

        return _process.ExitCode;
    }

    /// <summary>kill -9: no chance to flush or close anything.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
    }

    public Task WaitForExitAsync(TimeSpan timeout) => _process.WaitForExitAsync(new CancellationTokenSource(timeout).Token);

    private void Signal(string name)
    {
        using var kill = Process.Start("kill", ["-" + name, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }

    [GeneratedRegex(@"listening on [^ ]*:(\d+),")]
    private static partial Regex ReadyLine();
}
