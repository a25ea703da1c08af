using System.Diagnostics;
using System.Runtime.InteropServices;

namespace PikaIngest.Node;

/// <summary>Runs a node as a process: logs to stdout, stops cleanly on SIGTERM, SIGINT, SHUTDOWN or its parent's exit.</summary>
internal static class NodeHost
{
    private static readonly TimeSpan ParentPollInterval = TimeSpan.FromSeconds(1);

    public static async Task<int> RunAsync(NodeOptions options, CancellationToken cancellation)
    {
        static void Log(string line) => Console.Out.WriteLine($"{DateTimeOffset.UtcNow:yyyy-MM-ddTHH:mm:ss.fffZ} {line}");

        string? parentIdentity = null;
        if (options.ParentProcessId is { } parentId && (parentIdentity = IdentityOf(parentId)) is null)
        {
            Console.Error.WriteLine($"error: --parent-pid {parentId}: no such process");
            return 2;
        }

        NodeContext node;
        try
        {
            node = NodeContext.Open(options, TimeProvider.System, Log);
        }
        catch (Exception e) when (e is InvalidOperationException or InvalidDataException or IOException or UnauthorizedAccessException or RocksDbSharp.RocksDbException or Ingest.IngestIntentException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }

        using (node)
        {
            using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
            {
                context.Cancel = true;
                node.RequestShutdown("SIGTERM");
            });
            using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, context =>
            {
                context.Cancel = true;
                node.RequestShutdown("SIGINT");
            });
            using var cancelled = cancellation.Register(() => node.RequestShutdown("cancelled"));

            NodeServer server;
            try
            {
                server = NodeServer.Start(node);
            }
            catch (System.Net.Sockets.SocketException e)
            {
                Console.Error.WriteLine($"error: cannot listen on {options.Bind}:{options.Port}: {e.Message}");
                return 2;
            }

            var watchingParent = options.ParentProcessId is { } parent
                ? WatchParentAsync(parent, parentIdentity!, node)
                : Task.CompletedTask;
            await using (server.ConfigureAwait(false))
            {
                Log($"pika-node ready: listening on {server.EndPoint}, data {Path.GetFullPath(options.DataFolder)}, {options.Instances} instances, binlog at {node.Gate.Position}");
                try
                {
                    await Task.Delay(Timeout.Infinite, node.Stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                }
            }

            await watchingParent.ConfigureAwait(false);
            Log("pika-node stopped");
        }

        return 0;
    }

    /// <summary>
    /// Polls rather than relying on a broken stdout pipe: .NET ignores EPIPE on console writes, so a node whose
    /// supervisor was SIGKILLed would otherwise run on, orphaned, holding its port and data folder.
    /// </summary>
    private static async Task WatchParentAsync(int parentId, string identity, NodeContext node)
    {
        try
        {
            while (true)
            {
                await Task.Delay(ParentPollInterval, node.Stopping).ConfigureAwait(false);
                if (IdentityOf(parentId) != identity)
                {
                    node.RequestShutdown($"parent process {parentId} exited");
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>
    /// Something that tells a running process apart from a later one given the same id, or null if none runs.
    /// On Linux: the start time in clock ticks since boot, field 22 of <c>/proc/PID/stat</c> (a zombie counts
    /// as gone). <see cref="Process.StartTime"/> will not do: it is recomputed from the clock on every call.
    /// </summary>
    private static string? IdentityOf(int processId)
    {
        if (!OperatingSystem.IsLinux())
        {
            try
            {
                using var process = Process.GetProcessById(processId);
                return process.HasExited ? null : "running";
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
                return null;
            }
        }

        try
        {
            var stat = File.ReadAllText($"/proc/{processId}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return fields[0] == "Z" ? null : fields[19];
        }
        catch (IOException)
        {
            return null;
        }
    }
}
