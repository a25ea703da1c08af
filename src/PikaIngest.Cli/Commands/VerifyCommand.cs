using System.CommandLine;
using System.Globalization;
using System.Text;
using PikaIngest.Core.Formats;
using PikaIngest.Core.Layout;
using PikaIngest.Core.Shards;
using PikaIngest.Core.Storage;

namespace PikaIngest.Cli.Commands;

/// <summary>
/// <c>pika-ingest verify</c>: works out what the batches must have produced — last write wins by generation
/// order, expired keys absent — straight from the shards, and checks every node against it: key count, the
/// logical digest (DEBUG DIGEST), and a random sample compared value by value and expiry by expiry.
/// </summary>
internal static class VerifyCommand
{
    public static Command Create()
    {
        var source = new Option<string>("--source") { Description = "Where the shards are: a store root or batch folder, or s3://bucket[/prefix]", Required = true };
        var nodes = new Option<string[]>("--node") { Description = "host:port of a node to check (repeat for master and slaves)", Required = true, AllowMultipleArgumentsPerToken = false };
        var password = new Option<string?>("--password") { Description = "Password the nodes require" };
        var batches = new Option<string[]>("--batch") { Description = "Batches in the order they were ingested (default: every batch, oldest descriptor first)" };
        var sample = new Option<int>("--sample") { Description = "Keys compared value by value on each node", DefaultValueFactory = _ => 100 };
        var seed = new Option<int>("--seed") { Description = "Seed of the sample", DefaultValueFactory = _ => 1 };
        var command = new Command("verify", "Check nodes against the expected contents of batches: key count, digest, and a sample of values") { source, nodes, password, batches, sample, seed };
        command.SetAction(result => CliErrors.Run(() =>
        {
            var expected = Expected(result.GetValue(source)!, result.GetValue(batches) ?? [], out var described);
            Console.WriteLine($"expected: {expected.Count:N0} live keys from {described}, digest {expected.Digest}");
            var failures = 0;
            foreach (var endpoint in result.GetValue(nodes)!)
            {
                using var node = RespConnection.Open(endpoint, result.GetValue(password), TimeSpan.FromMinutes(5));
                var differences = Check(node, expected, result.GetValue(sample), result.GetValue(seed));
                Console.WriteLine(differences.Count == 0 ? $"{endpoint}: ok" : $"{endpoint}: {differences.Count} difference(s)");
                foreach (var difference in differences.Take(20))
                {
                    Console.WriteLine("  " + difference);
                }

                failures += differences.Count > 0 ? 1 : 0;
            }

            return failures == 0 ? CliErrors.Ok : CliErrors.PartialFailure;
        }));
        return command;
    }

    internal sealed record ExpectedRecord(byte[] Value, long ExpireUnixMs);

    internal sealed class ExpectedContents(Dictionary<string, ExpectedRecord> records, string digest)
    {
        /// <summary>Keys are the user keys' bytes as Latin-1 strings (one char per byte, so any key round-trips).</summary>
        public IReadOnlyDictionary<string, ExpectedRecord> Records { get; } = records;

        public int Count => Records.Count;

        public string Digest { get; } = digest;
    }

    internal static ExpectedContents Expected(string source, IReadOnlyList<string> batchOrder, out string described)
    {
        var folder = Directory.Exists(source) ? source : Download(source);
        try
        {
            var shards = LocalShards.Find(folder);
            var order = batchOrder.Count > 0 ? batchOrder : OldestFirst(shards);
            var unknown = batchOrder.Except(shards.Select(s => s.BatchId)).ToList();
            if (unknown.Count > 0)
            {
                throw new FileNotFoundException($"{source}: no shards of batch {string.Join(", ", unknown)}");
            }

            var records = new Dictionary<string, ExpectedRecord>(StringComparer.Ordinal);
            foreach (var batch in order)
            {
                foreach (var shard in shards.Where(s => s.BatchId == batch).OrderBy(s => s.Seq))
                {
                    foreach (var chunk in ShardReader.ReadChunks(shard.Path, shard.SourceKey, 64 << 20))
                    {
                        for (var i = 0; i < chunk.Count; i++)
                        {
                            records[Encoding.Latin1.GetString(chunk.Key(i))] = new ExpectedRecord(chunk.Value(i).ToArray(), chunk.Expire(i) * 1000);
                        }
                    }
                }
            }

            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var live = records.Where(r => r.Value.ExpireUnixMs == 0 || r.Value.ExpireUnixMs >= now).ToDictionary(StringComparer.Ordinal);
            var digest = new LogicalDigest();
            foreach (var (key, record) in live)
            {
                digest.Add(Encoding.Latin1.GetBytes(key), record.Value, record.ExpireUnixMs);
            }

            described = $"{order.Count} batch(es) ({string.Join(", ", order)}), {shards.Count(s => order.Contains(s.BatchId))} shards";
            return new ExpectedContents(live, digest.ToHex());
        }
        finally
        {
            if (!ReferenceEquals(folder, source))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    private static List<string> OldestFirst(IReadOnlyList<LocalShard> shards) =>
        [.. shards.GroupBy(s => s.BatchId)
            .OrderBy(g => g.First().DescriptorPath is { } path ? LayoutJson.Deserialize<BatchDescriptor>(File.ReadAllBytes(path), path).CreatedAt : DateTimeOffset.MinValue)
            .ThenBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => g.Key)];

    /// <summary>Copies the shards and descriptors under incoming/ of an object store location to a temporary folder.</summary>
    private static string Download(string location)
    {
        var store = ObjectStores.OpenLocation(location);
        var folder = Path.Combine(Path.GetTempPath(), "pika-verify-" + Guid.NewGuid().ToString("N"));
        var any = false;
        foreach (var item in store.ListAsync(ObjectLayout.IncomingPrefix).ToBlockingEnumerable())
        {
            store.DownloadAsync(item.Key, Path.Combine(folder, item.Key)).GetAwaiter().GetResult();
            any = true;
        }

        return any ? folder : throw new FileNotFoundException($"{location}: nothing under {ObjectLayout.IncomingPrefix}");
    }

    /// <summary>Differences between a node and the expected contents, each naming the key.</summary>
    internal static List<string> Check(RespConnection node, ExpectedContents expected, int sample, int seed)
    {
        var differences = new List<string>();
        var keys = (long)node.Call("DBSIZE")!;
        if (keys != expected.Count)
        {
            differences.Add($"holds {keys:N0} keys; expected {expected.Count:N0}");
        }

        var digest = Encoding.ASCII.GetString((byte[])node.Call("DEBUG", "DIGEST")!);
        if (digest != expected.Digest)
        {
            differences.Add($"digest {digest}; expected {expected.Digest}");
        }

        var random = new Random(seed);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        foreach (var (key, record) in expected.Records.Keys.OrderBy(_ => random.Next()).Take(sample).Select(k => (k, expected.Records[k])))
        {
            var bytes = Encoding.Latin1.GetBytes(key);
            var value = node.Call("GET", bytes) as byte[];
            if (value is null)
            {
                differences.Add($"key {Show(bytes)}: missing");
                continue;
            }

            if (!value.AsSpan().SequenceEqual(record.Value))
            {
                differences.Add($"key {Show(bytes)}: value {Show(value)}; expected {Show(record.Value)}");
            }

            var ttl = (long)node.Call("PTTL", bytes)!;
            var wantTtl = record.ExpireUnixMs == 0 ? -1 : record.ExpireUnixMs - now;
            if ((wantTtl == -1) != (ttl == -1) || Math.Abs(ttl - wantTtl) > 10_000)
            {
                differences.Add($"key {Show(bytes)}: ttl {ttl} ms; expected {(wantTtl == -1 ? "none" : wantTtl.ToString(CultureInfo.InvariantCulture) + " ms")}");
            }
        }

        return differences;
    }

    private static string Show(byte[] bytes) =>
        bytes.All(b => b is >= 0x20 and < 0x7f) ? $"'{Encoding.ASCII.GetString(bytes[..Math.Min(bytes.Length, 64)])}{(bytes.Length > 64 ? "…" : "")}'" : "0x" + Convert.ToHexString(bytes[..Math.Min(bytes.Length, 32)]);
}
