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

    public static NodeProcess Start(string data, string store)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "pika-node.dll"), "--port", "0", "--data", data, "--object-store", "file://" + store })
        {
            start.ArgumentList.Add(arg);
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
