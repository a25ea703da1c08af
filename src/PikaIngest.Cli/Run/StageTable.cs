using System.Globalization;
using System.Text;

namespace PikaIngest.Cli.Run;

/// <summary>The stage table <c>pika-ingest run</c> prints: seconds and MB/s of each stage, as a markdown table.</summary>
internal sealed class StageTable(long dataBytes)
{
    private readonly List<(string Stage, TimeSpan Elapsed, long? Bytes, string Detail)> _rows = [];

    /// <summary>Adds a stage; its MB/s is <paramref name="bytes"/> per second (null: no rate applies).</summary>
    public void Add(string stage, TimeSpan elapsed, long? bytes, string detail) => _rows.Add((stage, elapsed, bytes, detail));

    /// <summary>Adds a stage moving the batch's shard data.</summary>
    public void AddData(string stage, TimeSpan elapsed, string detail) => Add(stage, elapsed, dataBytes, detail);

    public IReadOnlyList<string> Stages => [.. _rows.Select(r => r.Stage)];

    public string Render(TimeSpan total)
    {
        var text = new StringBuilder();
        text.Append("| stage | seconds | MB/s | detail |\n|---|---:|---:|---|\n");
        foreach (var (stage, elapsed, bytes, detail) in _rows)
        {
            text.Append(CultureInfo.InvariantCulture, $"| {stage} | {elapsed.TotalSeconds:0.00} | {Rate(bytes, elapsed)} | {detail} |\n");
        }

        text.Append(CultureInfo.InvariantCulture, $"| total | {total.TotalSeconds:0.00} | {Rate(dataBytes, total)} | {Sizes.Format(dataBytes)} of shard data, start to verified |\n");
        return text.ToString();
    }

    private static string Rate(long? bytes, TimeSpan elapsed) =>
        bytes is { } b && elapsed > TimeSpan.Zero ? (b / 1e6 / elapsed.TotalSeconds).ToString("0.0", CultureInfo.InvariantCulture) : "-";
}
