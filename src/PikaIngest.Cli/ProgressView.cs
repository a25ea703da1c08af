using System.Diagnostics;
using Spectre.Console;

namespace PikaIngest.Cli;

/// <summary>
/// Progress of a long job measured in bytes: a Spectre.Console bar with MB/s on a terminal,
/// a plain line every few seconds otherwise (logs, CI). Work reports from any thread.
/// </summary>
internal static class ProgressView
{
    private static readonly TimeSpan PlainInterval = TimeSpan.FromSeconds(2);

    public static T Run<T>(string title, long totalBytes, Func<Action<long>, T> work) =>
        RunAsync(title, totalBytes, report => Task.Run(() => work(report))).GetAwaiter().GetResult();

    public static async Task<T> RunAsync<T>(string title, long totalBytes, Func<Action<long>, Task<T>> work)
    {
        long done = 0;
        void Report(long bytes) => Interlocked.Add(ref done, bytes);
        var job = Task.Run(() => work(Report));
        if (IsInteractive())
        {
            AnsiConsole.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
                .Start(context =>
                {
                    var task = context.AddTask(title, maxValue: Math.Max(totalBytes, 1));
                    while (!((IAsyncResult)job).AsyncWaitHandle.WaitOne(100))
                    {
                        task.Value = Math.Min(Interlocked.Read(ref done), totalBytes);
                    }

                    task.Value = job.IsCompletedSuccessfully ? task.MaxValue : task.Value;
                });
        }
        else
        {
            var stopwatch = Stopwatch.StartNew();
            while (!((IAsyncResult)job).AsyncWaitHandle.WaitOne(PlainInterval))
            {
                var now = Interlocked.Read(ref done);
                Console.WriteLine($"{title}: {Sizes.Format(now)} / {Sizes.Format(totalBytes)} ({100.0 * now / Math.Max(totalBytes, 1):0}%), {Sizes.Rate(now, stopwatch.Elapsed)}");
            }
        }

        return await job.ConfigureAwait(false);
    }

    private static bool IsInteractive() =>
        !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive && Environment.GetEnvironmentVariable("CI") is null;
}
