using System.CommandLine;
using System.Globalization;
using System.Text;
using PikaIngest.Core.Layout;
using PikaIngest.Core.Shards;

namespace PikaIngest.Cli.Commands;

/// <summary>
/// <c>pika-ingest resp</c>: the shards' records as RESP <c>SET</c> commands in generation order (shard by
/// shard, line by line), for <c>redis-cli --pipe</c> — the way bulk loads are done today, and the
/// baseline INGEST_S3 is measured against. Replaying it gives the same last-write-wins contents.
/// </summary>
internal static class RespCommand
{
    public static Command Create()
    {
        var input = new Option<string>("--in") { Description = "A store root, an incoming/ folder, a batch folder, a folder of shard files, or one shard file", Required = true };
        var output = new Option<string?>("--out") { Description = "File to write (default: standard output)" };
        var command = new Command("resp", "Write shards as RESP SET commands for redis-cli --pipe (the baseline to compare INGEST_S3 with)") { input, output };
        command.SetAction(result => CliErrors.Run(() =>
        {
            var shards = LocalShards.Find(result.GetValue(input)!).OrderBy(s => s.BatchId, StringComparer.Ordinal).ThenBy(s => s.Seq).ToList();
            if (shards.Count == 0)
            {
                throw new FileNotFoundException($"no shards found in {result.GetValue(input)}");
            }

            var path = result.GetValue(output);
            using var stream = path is null ? Console.OpenStandardOutput() : new FileStream(path + ".tmp", FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
            using (var buffered = new BufferedStream(stream, 1 << 20))
            {
                foreach (var shard in shards)
                {
                    foreach (var records in ShardReader.ReadChunks(shard.Path, shard.SourceKey, 64 << 20))
                    {
                        for (var i = 0; i < records.Count; i++)
                        {
                            WriteSet(buffered, records.Key(i), records.Value(i), records.Expire(i));
                        }
                    }
                }
            }

            if (path is not null)
            {
                stream.Dispose();
                File.Move(path + ".tmp", path, overwrite: true);
            }

            return CliErrors.Ok;
        }));
        return command;
    }

    private static void WriteSet(Stream output, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, long expireUnixSeconds)
    {
        var expire = expireUnixSeconds > 0 ? expireUnixSeconds.ToString(CultureInfo.InvariantCulture) : null;
        WriteHeader(output, '*', expire is null ? 3 : 5);
        WriteBulk(output, "SET"u8);
        WriteBulk(output, key);
        WriteBulk(output, value);
        if (expire is not null)
        {
            WriteBulk(output, "EXAT"u8);
            WriteBulk(output, Encoding.ASCII.GetBytes(expire));
        }
    }

    private static void WriteBulk(Stream output, ReadOnlySpan<byte> bytes)
    {
        WriteHeader(output, '$', bytes.Length);
        output.Write(bytes);
        output.Write("\r\n"u8);
    }

    private static void WriteHeader(Stream output, char kind, int count)
    {
        Span<byte> header = stackalloc byte[16];
        header[0] = (byte)kind;
        count.TryFormat(header[1..], out var digits, provider: CultureInfo.InvariantCulture);
        header[1 + digits] = (byte)'\r';
        header[2 + digits] = (byte)'\n';
        output.Write(header[..(3 + digits)]);
    }
}
