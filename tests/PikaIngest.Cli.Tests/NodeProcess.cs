using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace PikaIngest.Cli.Tests;

/// <summary>A real pika-node (shipped beside pika-ingest) on a free port, killed when disposed.</summary>
public sealed partial class NodeProcess : IDisposable
{
    private readonly Process _process;

    private NodeProcess(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public string Endpoint => $"127.0.0.1:{Port}";

    public bool HasExited => _process.HasExited;

    /// <summary>A node on a folder store (<paramref name="store"/> is its root).</summary>
    public static NodeProcess Start(string data, string store) => Start(data, "file://" + store, new Dictionary<string, string>());

    /// <summary>A node on any object store, with extra flags and environment (e.g. an S3 endpoint and its bucket).</summary>
    public static NodeProcess Start(string data, string objectStore, IReadOnlyDictionary<string, string> environment, params string[] flags)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "pika-node.dll"), "--port", "0", "--data", data, "--object-store", objectStore }.Concat(flags))
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start)!;
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        while (process.StandardOutput.ReadLine() is { } line)
        {
            if (ReadyLine().Match(line) is { Success: true } match)
            {
                // Keep draining the log so the node never blocks on a full pipe.
                var output = process.StandardOutput;
                _ = Task.Run(() =>
                {
                    while (output.ReadLine() is not null)
                    {
                    }
                });
                return new NodeProcess(process, int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture));
            }
        }

        process.Dispose();
        throw new InvalidOperationException("pika-node exited before it was ready");
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        _process.Dispose();
    }

    [GeneratedRegex(@"listening on [^ ]*:(\d+),")]
    private static partial Regex ReadyLine();
}
