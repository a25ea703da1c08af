using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using PikaIngest.Core.Layout;
using PikaIngest.Core.Pipeline;
using PikaIngest.Core.Storage;
using Spectre.Console;

namespace PikaIngest.Cli.Commands;

/// <summary>
/// <c>pika-ingest status</c>: each batch's stage, counts, failures, last progress and what is missing, read from the
/// store alone. Exit 0 when every batch shown is ingested or still moving, 1 when one failed or stalled, 2 when the
/// store cannot be read or holds no such batch.
/// </summary>
internal static class StatusCommand
{
    public static Command Create()
    {
        var store = StoreOption();
        var batch = new Option<string?>("--batch") { Description = "One batch in detail (default: every batch in the store, one line each)" };
        var json = new Option<bool>("--json") { Description = "Machine-readable output: a JSON array of batch statuses" };
        var stallAfter = StallAfterOption();
        var command = new Command("status", "Show each batch's stage, failures, last progress and what is missing for a batch that stopped") { store, batch, json, stallAfter };
        command.SetAction((result, cancellation) => CliErrors.RunAsync(async () =>
        {
            var id = result.GetValue(batch) is { } given ? ObjectLayout.RequireBatchId(given) : null;
            var location = ObjectStores.OpenLocation(result.GetValue(store)!);
            var statuses = await new BatchStatusReader(location, Console.Error.WriteLine)
                .ReadAsync(id, DateTimeOffset.UtcNow, TimeSpan.FromSeconds(result.GetValue(stallAfter)), cancellation).ConfigureAwait(false);
            if (id is not null && statuses.Count == 0)
            {
                throw new InvalidOperationException($"{location.Location}: no object of batch {id} (incoming/{id}/, state/{id}/, tasks/{id}/, results/{id}.json)");
            }

            if (result.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(statuses, JsonOptions));
            }
            else if (id is not null)
            {
                PrintDetail(statuses[0]);
            }
            else
            {
                PrintTable(location.Location, statuses);
            }

            return statuses.Any(s => s.State is BatchState.Failed or BatchState.Stalled) ? CliErrors.PartialFailure : CliErrors.Ok;
        }));
        return command;
    }

    internal static Option<string> StoreOption() =>
        new("--store") { Description = "Where the batches are: s3://bucket, file:///path or a folder (the bucket's root)", Required = true };

    internal static Option<double> StallAfterOption() =>
        new("--stall-after") { Description = "Seconds without any change after which an unfinished batch counts as stalled", DefaultValueFactory = _ => BatchStatusReader.DefaultStallAfter.TotalSeconds };

    internal static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    /// <summary>The state and, for a batch not finished, the stage: "stalled at merge".</summary>
    internal static string Describe(BatchStatus status) => status.State switch
    {
        BatchState.Ingested => "ingested",
        BatchState.Failed => $"FAILED at {status.Stage}",
        BatchState.Stalled => $"STALLED at {status.Stage}",
        _ => $"in progress: {status.Stage}",
    };

    private static string Age(BatchStatus status) => status.Age is { } age ? BatchStatusReader.FormatAge(age) + " ago" : "-";

    private static string Shards(BatchStatus status) =>
        status.Shards is { } declared
            ? string.Create(CultureInfo.InvariantCulture, $"{status.ShardsSeen}/{declared} seen, {status.ShardsMapped} {(declared <= 1 ? "done" : "mapped")}{(status.ShardsFailed > 0 ? $", {status.ShardsFailed} failed" : "")}")
            : "no descriptor";

    private static string Ranges(BatchStatus status) =>
        status.Ranges is { } ranges
            ? string.Create(CultureInfo.InvariantCulture, $"{status.RangesMerged}/{ranges} merged{(status.RangesFailed > 0 ? $", {status.RangesFailed} failed" : "")}")
            : status.Shards is <= 1 ? "(one shard: no merge)" : "no plan";

    private static string Result(BatchStatus status) =>
        status.Result is null ? (status.Manifest ? "manifest, no result" : "-")
        : status.Result == BatchResult.Succeeded ? $"{status.IngestReply} ({status.IngestMs} ms)"
        : "failed";

    private static void PrintTable(string location, IReadOnlyList<BatchStatus> statuses)
    {
        if (statuses.Count == 0)
        {
            Console.WriteLine($"{location}: no batches");
            return;
        }

        string[] columns = ["batch", "state", "shards", "ranges", "result", "last progress"];
        var rows = statuses.Select(s => new[] { s.BatchId, Describe(s), Shards(s), Ranges(s), Result(s), Age(s) }).ToList();
        if (Plain)
        {
            // One line per batch, for grep and scripts: a table's cells wrap at the width of a pipe.
            foreach (var row in rows)
            {
                Console.WriteLine(string.Join(" | ", row));
            }
        }
        else
        {
            var table = new Table().Border(TableBorder.Simple).AddColumns(columns);
            foreach (var row in rows)
            {
                table.AddRow(row.Select(Markup.Escape).ToArray());
            }

            AnsiConsole.Write(table);
        }

        // What is wrong is spelled out in whole lines below the table, where no column width cuts it.
        foreach (var status in statuses.Where(s => s.State is BatchState.Failed or BatchState.Stalled))
        {
            PrintProblems(status, $"{status.BatchId}: ");
        }
    }

    private static void PrintDetail(BatchStatus status)
    {
        (string Label, string Value)[] rows =
        [
            ("state", Describe(status)),
            ("shards", Shards(status)),
            ("plan", status.Planned ? "written" : "-"),
            ("ranges", Ranges(status)),
            ("manifest", status.Manifest ? "written" : "-"),
            ("ingest (master)", status.Result is null ? "-" : $"{Result(status)} at {status.ResultAt:O}"),
            ("last progress", $"{Age(status)}{(status.LastProgress is { } at ? $" ({at:O})" : "")}"),
        ];
        if (Plain)
        {
            Console.WriteLine($"batch: {status.BatchId}");
            foreach (var (label, value) in rows)
            {
                Console.WriteLine($"{label}: {value}");
            }
        }
        else
        {
            var table = new Table().Border(TableBorder.Simple).AddColumns("batch", Markup.Escape(status.BatchId));
            foreach (var (label, value) in rows)
            {
                table.AddRow(label, Markup.Escape(value));
            }

            AnsiConsole.Write(table);
        }

        PrintProblems(status, "");
    }

    private static bool Plain => Console.IsOutputRedirected;

    private static void PrintProblems(BatchStatus status, string prefix)
    {
        foreach (var failure in status.Failures)
        {
            Console.WriteLine($"{prefix}failed: {failure.What}: {failure.Reason} ({failure.Record})");
        }

        foreach (var line in status.Missing)
        {
            Console.WriteLine($"{prefix}missing: {line}");
        }
    }
}
