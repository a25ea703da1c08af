using System.CommandLine;
using System.Text;
using System.Text.Json;
using PikaIngest.Core.Formats;
using PikaIngest.Core.Sst;
using Spectre.Console;

namespace PikaIngest.Cli.Commands;

/// <summary><c>pika-ingest inspect</c>: SST properties and decoded records, for checking what a conversion produced.</summary>
internal static class InspectCommand
{
    public static Command Create()
    {
        var paths = new Argument<string[]>("path") { Description = "SST files, or folders to summarize every *.sst under", Arity = ArgumentArity.OneOrMore };
        var limit = new Option<int>("--limit") { Description = "Records to show per file (-1: all)", DefaultValueFactory = _ => 10 };
        var json = new Option<bool>("--json") { Description = "Machine-readable output, one JSON document per file" };
        var format = new Option<string?>("--format") { Description = "Decode as pika-v4, pika-v3.5 or raw (default: detected)" };
        var command = new Command("inspect", "Show an SST file's properties and decoded records (user key, value, expire)") { paths, limit, json, format };
        command.SetAction(result => CliErrors.Run(() =>
        {
            var forced = result.GetValue(format) is { } f ? TargetFormats.Parse(f) : (TargetFormat?)null;
            var files = result.GetValue(paths)!.SelectMany(Expand).ToList();
            if (files.Count == 0)
            {
                throw new FileNotFoundException("no .sst files found");
            }

            var showRecords = files.Count == 1 || result.GetResult(limit) is { Implicit: false };
            foreach (var file in files)
            {
                var report = Inspect(file, forced, showRecords ? result.GetValue(limit) : 0);
                if (result.GetValue(json))
                {
                    Console.WriteLine(JsonSerializer.Serialize(report.ToJson()));
                }
                else
                {
                    Print(report, showRecords);
                }
            }

            if (files.Count > 1 && !result.GetValue(json))
            {
                Console.WriteLine($"{files.Count} files, {files.Sum(f => new FileInfo(f).Length):N0} bytes");
            }

            return CliErrors.Ok;
        }));
        return command;
    }

    private static IEnumerable<string> Expand(string path) =>
        Directory.Exists(path)
            ? Directory.EnumerateFiles(path, "*.sst", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            : File.Exists(path) ? [path] : throw new FileNotFoundException($"{path}: no such file or folder");

    private sealed record Report(string Path, long Size, SstTableProperties Properties, TargetFormat Format, DecodedRecord? First, DecodedRecord? Last, List<DecodedRecord> Records)
    {
        public object ToJson() => new
        {
            file = Path,
            size = Size,
            entries = Properties.NumEntries,
            dataSize = Properties.DataSize,
            compression = Properties.CompressionName,
            formatVersion = Properties.FooterFormatVersion,
            comparator = Properties.ComparatorName,
            format = Format.Name(),
            smallestKey = First is { } f ? Text(f.Key) : null,
            largestKey = Last is { } l ? Text(l.Key) : null,
            records = Records.Select(r => new { key = Text(r.Key), value = Text(r.Value), expireUnixMs = r.ExpireUnixMs }),
        };
    }

    private static Report Inspect(string path, TargetFormat? forced, int limit)
    {
        var properties = SstTableProperties.Read(path);
        using var reader = SstReader.Open(path);
        TargetFormat? format = forced;
        DecodedRecord? first = null;
        DecodedRecord? last = null;
        var records = new List<DecodedRecord>();
        foreach (var (key, value) in reader.Scan())
        {
            format ??= Detect(key, value);
            var record = Decode(format.Value, key, value, path);
            first ??= record;
            last = record;
            if (limit < 0 || records.Count < limit)
            {
                records.Add(record);
            }
        }

        return new Report(path, new FileInfo(path).Length, properties, format ?? TargetFormat.Raw, first, last, records);
    }

    /// <summary>pika-v4 keys have an unmistakable shape; pika-v3.5 values end in a plausible int32 time; anything else is raw.</summary>
    private static TargetFormat Detect(byte[] key, byte[] value)
    {
        if (PikaV4Encoding.Instance.Matches(key, value))
        {
            return TargetFormat.PikaV4;
        }

        if (value.Length >= 4)
        {
            var seconds = BitConverter.ToInt32(value, value.Length - 4);
            if (seconds == 0 || seconds is > 946_684_800 and < 2_147_483_647)
            {
                return TargetFormat.PikaV35;
            }
        }

        return TargetFormat.Raw;
    }

    private static DecodedRecord Decode(TargetFormat format, byte[] key, byte[] value, string path)
    {
        try
        {
            return format.Encoding().Decode(key, value);
        }
        catch (FormatException e)
        {
            throw new InvalidDataException($"{path}: a record is not {format.Name()} ({e.Message}); try --format raw", e);
        }
    }

    private static string Text(byte[] bytes) =>
        bytes.AsSpan().IndexOfAnyInRange((byte)0, (byte)0x1f) < 0 && System.Text.Unicode.Utf8.IsValid(bytes)
            ? Encoding.UTF8.GetString(bytes)
            : "base64:" + Convert.ToBase64String(bytes);

    private static void Print(Report report, bool showRecords)
    {
        var p = report.Properties;
        var range = report.First is { } f && report.Last is { } l ? $"{Text(f.Key)} .. {Text(l.Key)}" : "(empty)";
        if (!showRecords)
        {
            Console.WriteLine($"{report.Path}: {p.NumEntries:N0} entries, {report.Size:N0} bytes, {p.CompressionName}, format_version {p.FooterFormatVersion}, {report.Format.Name()}, keys {range}");
            return;
        }

        var table = new Table().AddColumns("property", "value").Border(TableBorder.Simple);
        table.AddRow("file", Markup.Escape(report.Path));
        table.AddRow("size", $"{report.Size:N0} bytes");
        table.AddRow("entries", $"{p.NumEntries:N0}");
        table.AddRow("data / index", $"{p.DataSize:N0} / {p.IndexSize:N0} bytes in {p.NumDataBlocks:N0} blocks");
        table.AddRow("raw keys / values", $"{p.RawKeySize:N0} / {p.RawValueSize:N0} bytes");
        table.AddRow("compression", Markup.Escape(p.CompressionName));
        table.AddRow("format_version", p.FooterFormatVersion.ToString(System.Globalization.CultureInfo.InvariantCulture));
        table.AddRow("comparator", Markup.Escape(p.ComparatorName));
        table.AddRow("detected format", report.Format.Name());
        table.AddRow("user key range", Markup.Escape(range));
        AnsiConsole.Write(table);
        var records = new Table().AddColumns("key", "value", "expire").Border(TableBorder.Simple);
        foreach (var record in report.Records)
        {
            var value = Text(record.Value);
            records.AddRow(
                Markup.Escape(Text(record.Key)),
                Markup.Escape(value.Length > 80 ? value[..77] + "..." : value),
                record.ExpireUnixMs == 0 ? "-" : DateTimeOffset.FromUnixTimeMilliseconds(record.ExpireUnixMs).ToString("u", System.Globalization.CultureInfo.InvariantCulture));
        }

        AnsiConsole.Write(records);
    }
}
