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
            var expected = Expected(result.GetValue(source)!, result.GetValue(batches) ?? [], result.GetValue(sample), result.GetValue(seed), out var described);
            Console.WriteLine($"expected: {expected.Count:N0} live keys from {described}, digest {expected.Digest}");
            var failures = CheckNodes(result.GetValue(nodes)!, result.GetValue(password), expected, result.GetValue(sample), wholeDatabase: true, Console.WriteLine);
            return failures == 0 ? CliErrors.Ok : CliErrors.PartialFailure;
        }));
        return command;
    }

    internal static ExpectedContents Expected(string source, IReadOnlyList<string> batchOrder, int sample, int seed, out string described)
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

            var inOrder = order.SelectMany(batch => shards.Where(s => s.BatchId == batch).OrderBy(s => s.Seq)).ToList();
            var slices = ExpectedContents.SlicesFor(inOrder.Sum(s => new FileInfo(s.Path).Length), GC.GetGCMemoryInfo().TotalAvailableMemoryBytes);
            described = $"{order.Count} batch(es) ({string.Join(", ", order)}), {inOrder.Count} shards" + (slices > 1 ? $", read in {slices} passes to fit in memory" : "");
            return ExpectedContents.FromShards(inOrder, sample, seed, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), Environment.ProcessorCount, slices);
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
        try
        {
            foreach (var item in store.ListAsync(ObjectLayout.IncomingPrefix).ToBlockingEnumerable())
            {
                store.DownloadAsync(item.Key, Path.Combine(folder, item.Key)).GetAwaiter().GetResult();
                any = true;
            }
        }
        catch (Exception e) when (CliErrors.IsStoreFailure(e))
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }

            throw CliErrors.StoreUnreachable(store.Location, e);
        }

        return any ? folder : throw new FileNotFoundException($"{location}: nothing under {ObjectLayout.IncomingPrefix}");
    }

    /// <summary>Checks the nodes at once (each reads its own keys) and reports them in the order given; returns how many differ.</summary>
    internal static int CheckNodes(IReadOnlyList<string> endpoints, string? password, ExpectedContents expected, int sample, bool wholeDatabase, Action<string> report)
    {
        var checks = endpoints.Select(endpoint => Task.Run(() =>
        {
            using var node = RespConnection.Open(endpoint, password, TimeSpan.FromMinutes(10));
            return Check(node, expected, sample, wholeDatabase);
        })).ToList();
        var failures = 0;
        for (var i = 0; i < checks.Count; i++)
        {
            var differences = checks[i].GetAwaiter().GetResult();
            report(differences.Count == 0 ? $"{endpoints[i]}: ok" : $"{endpoints[i]}: {differences.Count} difference(s)");
            foreach (var difference in differences.Take(20))
            {
                report("  " + difference);
            }

            failures += differences.Count > 0 ? 1 : 0;
        }

        return failures;
    }

    /// <summary>
    /// Differences between a node and the expected contents, each naming the key. With <paramref name="wholeDatabase"/>
    /// the node must hold exactly these contents (key count and digest); otherwise (a node that held other data) only the
    /// sampled keys are compared.
    /// </summary>
    internal static List<string> Check(RespConnection node, ExpectedContents expected, int sample, bool wholeDatabase = true)
    {
        var differences = new List<string>();
        if (wholeDatabase)
        {
            // Equal digests mean equal contents, key count included; counting (a second pass over every key) only explains a difference.
            var digest = Encoding.ASCII.GetString((byte[])node.Call("DEBUG", "DIGEST")!);
            if (digest != expected.Digest)
            {
                var keys = (long)node.Call("DBSIZE")!;
                if (keys != expected.Count)
                {
                    differences.Add($"holds {keys:N0} keys; expected {expected.Count:N0}");
                }

                differences.Add($"digest {digest}; expected {expected.Digest}");
            }
        }

        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        foreach (var record in expected.Sample.Take(sample))
        {
            var value = node.Call("GET", record.Key) as byte[];
            if (!record.IsLiveAt(now))
            {
                if (value is not null)
                {
                    differences.Add($"key {Show(record.Key)}: present; expected absent (expired at {DateTimeOffset.FromUnixTimeMilliseconds(record.ExpireUnixMs):u})");
                }

                continue;
            }

            if (value is null)
            {
                differences.Add($"key {Show(record.Key)}: missing");
                continue;
            }

            if (!value.AsSpan().SequenceEqual(record.Value))
            {
                differences.Add($"key {Show(record.Key)}: value {Show(value)}; expected {Show(record.Value)}");
            }

            var ttl = (long)node.Call("PTTL", record.Key)!;
            var wantTtl = record.ExpireUnixMs == 0 ? -1 : record.ExpireUnixMs - now;
            if ((wantTtl == -1) != (ttl == -1) || Math.Abs(ttl - wantTtl) > 10_000)
            {
                differences.Add($"key {Show(record.Key)}: ttl {ttl} ms; expected {(wantTtl == -1 ? "none" : wantTtl.ToString(CultureInfo.InvariantCulture) + " ms")}");
            }
        }

        return differences;
    }

    private static string Show(byte[] bytes) =>
        bytes.All(b => b is >= 0x20 and < 0x7f) ? $"'{Encoding.ASCII.GetString(bytes[..Math.Min(bytes.Length, 64)])}{(bytes.Length > 64 ? "…" : "")}'" : "0x" + Convert.ToHexString(bytes[..Math.Min(bytes.Length, 32)]);
}
