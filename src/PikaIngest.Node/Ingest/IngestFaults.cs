using System.Diagnostics;

namespace PikaIngest.Node.Ingest;

/// <summary>
/// Named points of an ingest or replay where a crash test stops the node: after-verify, after-instance-N,
/// after-last-instance, after-binlog, after-applied. The ingest calls <see cref="At"/> at each; in production
/// nothing happens there (<see cref="None"/>).
/// </summary>
internal interface IIngestFaults
{
    void At(string step);
}

internal static class IngestFaults
{
    /// <summary>The environment variable a process test sets to pick a fault point (see <see cref="ProcessFaults"/>).</summary>
    public const string Variable = "PIKA_NODE_INGEST_FAULT";

    public static IIngestFaults None { get; } = new NoFaults();

    /// <summary>The faults a process test asked for through <see cref="Variable"/>, or <see cref="None"/>.</summary>
    public static IIngestFaults FromEnvironment(string stagingFolder, Action<string> log) =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } point ? new ProcessFaults(point, stagingFolder, log) : None;

    private sealed class NoFaults : IIngestFaults
    {
        public void At(string step)
        {
        }
    }

    /// <summary>
    /// At the chosen step the process kills itself, as <c>kill -9</c> would; with a <c>pause-</c> prefix it waits there
    /// instead until the test deletes <c>DATA/ingest/paused</c>, so that the test can change the node's disk meanwhile.
    /// </summary>
    private sealed class ProcessFaults(string point, string stagingFolder, Action<string> log) : IIngestFaults
    {
        public void At(string step)
        {
            if (point == step)
            {
                log($"ingest: fault point {step}: killing the process");
                Process.GetCurrentProcess().Kill();
                Thread.Sleep(Timeout.Infinite);
            }

            if (point == "pause-" + step)
            {
                var marker = Path.Combine(Path.GetDirectoryName(stagingFolder)!, "paused");
                File.WriteAllText(marker, step);
                log($"ingest: fault point pause-{step}: waiting until {marker} is deleted");
                while (File.Exists(marker))
                {
                    Thread.Sleep(50);
                }
            }
        }
    }
}
