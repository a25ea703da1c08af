using System.Runtime.InteropServices;

namespace PikaIngest.Node;

/// <summary>Runs a node as a process: logs to stdout, stops cleanly on SIGTERM, SIGINT or SHUTDOWN.</summary>
internal static class NodeHost
{
    public static async Task<int> RunAsync(NodeOptions options, CancellationToken cancellation)
    {
        static void Log(string line) => Console.Out.WriteLine($"{DateTimeOffset.UtcNow:yyyy-MM-ddTHH:mm:ss.fffZ} {line}");

        NodeContext node;
        try
        {
            node = NodeContext.Open(options, TimeProvider.System, Log);
        }
        catch (Exception e) when (e is InvalidOperationException or InvalidDataException or IOException or UnauthorizedAccessException or RocksDbSharp.RocksDbException)
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

            Log("pika-node stopped");
        }

        return 0;
    }
}
