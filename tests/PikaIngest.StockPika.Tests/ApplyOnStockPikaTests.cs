using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using PikaIngest.Cli.Tests;
using PikaIngest.Core.Formats;
using PikaIngest.Core.Layout;
using PikaIngest.Core.StockPika;
using RocksDbSharp;

namespace PikaIngest.StockPika.Tests;

/// <summary>
/// <c>convert --format pika-v4</c>, then <c>pika-ingest apply</c> into a stopped stock Pika, then Pika's own
/// commands read the batch back: every key with its last-write-wins value and expiry, in the instance Pika
/// routes it to, for instance counts that are and are not powers of two; Pika's own keys untouched; and a key
/// Pika wrote stored byte for byte as we store one.
/// </summary>
public sealed class ApplyOnStockPikaTests : IDisposable
{
    private const string Batch = "20261204T100000Z-ab12";
    private readonly string _root = Directory.CreateTempSubdirectory("stock-pika-apply-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Store => Path.Combine(_root, "store");

    private string PikaFolder => Path.Combine(_root, "pika");

    [StockPikaTheory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(8)]
    public async Task A_batch_applied_to_a_stopped_pika_reads_back_through_pikas_own_commands(int instances)
    {
        var expected = ConvertedBatches.Write(Store, Batch, instances);
        await using (var pika = await StartPikaAsync(instances))
        {
            Assert.Equal("+OK\r\n", await pika.CommandAsync("SET", "native", "same value"));
            Assert.Equal("+OK\r\n", await pika.CommandAsync("SET", "dup:1", "pika's, overwritten by the batch"));
            await pika.StopAsync();
        }

        var apply = ProcessRunner.PikaIngest("apply", "--manifest", Path.Combine(Store, "manifests", $"{Batch}.json"), "--pika-data", Path.Combine(PikaFolder, "db"), "--instances", $"{instances}");
        Assert.True(apply.ExitCode == 0, apply.ToString());
        Assert.Contains($"batch {Batch} applied", apply.Stdout, StringComparison.Ordinal);
        Assert.Contains("slaves:", apply.Stdout, StringComparison.Ordinal);

        await using (var pika = await StartPikaAsync(instances))
        {
            await AssertReadsBackAsync(pika, expected, pttl: true);

            Assert.Equal("$10\r\nsame value\r\n", await pika.CommandAsync("GET", "native"));
            var live = expected.Where(e => e.Value.Value is not null).Select(e => e.Key).Append("native").Order(StringComparer.Ordinal).ToList();
            Assert.Equal(live, (await ScanAsync(pika)).Order(StringComparer.Ordinal).ToList());

            // Pika counts keys in the background: each INFO keyspace 1 starts a count and shows the last one finished.
            // An entry that expired before the ingest is on disk, so Pika counts it as invalid, as its own expired keys.
            var expiring = expected.Count(e => e.Value.Value is not null && e.Value.Expire != 0);
            var expired = expected.Count(e => e.Value.Value is null);
            var counts = $"db0 Strings_keys={live.Count}, expires={expiring}, invalid_keys={expired}";
            var counted = await WaitForAsync(async () => await pika.CommandAsync("INFO", "keyspace", "1"), info => info.Contains(counts, StringComparison.Ordinal));
            Assert.True(counted.Contains(counts, StringComparison.Ordinal), counted);
            Assert.Equal($":{live.Count}\r\n", await pika.CommandAsync("DBSIZE"));
            await pika.StopAsync();
        }

        var again = ProcessRunner.PikaIngest("apply", "--manifest", Path.Combine(Store, "manifests", $"{Batch}.json"), "--pika-data", Path.Combine(PikaFolder, "db"), "--instances", $"{instances}");
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Contains("already applied", again.Stdout, StringComparison.Ordinal);

        if (instances == 3)
        {
            AssertStoredAlike(instances);
        }
    }

    /// <summary>Pika 3.5 keeps strings in their own RocksDB, raw keys, values with an int32 expiry in seconds: a pika-v3.5 batch there.</summary>
    [StockPika35Fact]
    public async Task A_pika_3_5_batch_applied_to_a_stopped_pika_3_5_reads_back_through_its_commands()
    {
        var expected = ConvertedBatches.Write(Store, Batch, 1, TargetFormat.PikaV35);
        await using (var pika = await StockPikaServer.StartAsync(PikaFolder, executable: StockPikaServer.Executable35))
        {
            Assert.Equal("+OK\r\n", await pika.CommandAsync("SET", "native", "same value"));
            await pika.StopAsync();
        }

        var apply = ProcessRunner.PikaIngest("apply", "--manifest", Path.Combine(Store, "manifests", $"{Batch}.json"), "--pika-data", Path.Combine(PikaFolder, "db"), "--instances", "1", "--pika-version", "3.5");
        Assert.True(apply.ExitCode == 0, apply.ToString());

        await using (var pika = await StockPikaServer.StartAsync(PikaFolder, executable: StockPikaServer.Executable35))
        {
            await AssertReadsBackAsync(pika, expected, pttl: false);

            Assert.Equal("$10\r\nsame value\r\n", await pika.CommandAsync("GET", "native"));
            await pika.StopAsync();
        }
    }

    [StockPikaFact]
    public async Task Apply_refuses_a_running_pika_and_a_wrong_instance_count_and_writes_nothing()
    {
        ConvertedBatches.Write(Store, Batch, 3);
        await using var pika = await StartPikaAsync(3);
        var manifest = Path.Combine(Store, "manifests", $"{Batch}.json");
        var data = Path.Combine(PikaFolder, "db");

        var running = ProcessRunner.PikaIngest("apply", "--manifest", manifest, "--pika-data", data, "--instances", "3");
        var mismatch = ProcessRunner.PikaIngest("apply", "--manifest", manifest, "--pika-data", data, "--instances", "5");

        Assert.Equal(2, running.ExitCode);
        Assert.Contains("Pika is running", running.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, mismatch.ExitCode);
        Assert.Contains("db-instance-num 3", mismatch.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(data, StockPikaApply.AppliedFileName)));
        Assert.False(File.Exists(Path.Combine(data, StockPikaApply.ApplyingFileName)));
        Assert.Equal("$-1\r\n", await pika.CommandAsync("GET", "plain:1"));

        // The lock is tried before RocksDB opens anything: a RocksDB open would have rotated Pika's LOG first.
        Assert.Empty(Directory.GetFiles(Path.Combine(data, "db0"), "LOG.old*", SearchOption.AllDirectories));
    }

    /// <summary>Every key of the batch through GET and EXISTS, and TTL (and PTTL) of each live one, against what the batch says.</summary>
    private static async Task AssertReadsBackAsync(StockPikaServer pika, Dictionary<string, (string? Value, long Expire)> expected, bool pttl)
    {
        foreach (var (key, (value, expire)) in expected)
        {
            var reply = Encoding.Latin1.GetString(await pika.CommandBytesAsync("GET", key));
            Assert.True(value is null ? reply == "$-1\r\n" : reply == $"${Encoding.Latin1.GetByteCount(value)}\r\n{value}\r\n", $"GET {Printable(key)}: {Printable(reply)}");
            Assert.Equal(value is null ? 0 : 1, Integer(await pika.CommandAsync("EXISTS", key)));
            if (value is null)
            {
                continue;
            }

            var left = expire - DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            var ttl = Integer(await pika.CommandAsync("TTL", key));
            Assert.True(expire == 0 ? ttl == -1 : Math.Abs(ttl - left) <= 2, $"TTL {Printable(key)}: {ttl}");
            if (pttl)
            {
                var ms = Integer(await pika.CommandAsync("PTTL", key));
                Assert.True(expire == 0 ? ms == -1 : ms > 0 && ms <= (left + 1) * 1000, $"PTTL {Printable(key)}: {ms}");
            }
        }
    }

    private async Task<StockPikaServer> StartPikaAsync(int instances) =>
        await StockPikaServer.StartAsync(PikaFolder, instances, new Dictionary<string, string> { ["cache-model"] = "0" });

    /// <summary>A key Pika wrote with SET and the same key and value ingested by us are stored alike, byte for byte, but for the creation time.</summary>
    private void AssertStoredAlike(int instances)
    {
        var native = Find(instances, "native");
        var ingested = Find(instances, "same");
        Assert.Equal(PikaV4Encoding.Instance.EncodeKey("native"u8), native.Key);
        Assert.Equal(PikaV4Encoding.Instance.EncodeKey("same"u8), ingested.Key);
        Assert.Equal(native.Value.Length, ingested.Value.Length);
        Assert.Equal(native.Value[..^16], ingested.Value[..^16]);
        Assert.Equal(native.Value[^8..], ingested.Value[^8..]);
    }

    private (byte[] Key, byte[] Value) Find(int instances, string userKey)
    {
        var key = Encoding.Latin1.GetBytes(userKey);
        var instance = InstanceRouter.Instance(key, instances);
        var folder = Path.Combine(PikaFolder, "db", "db0", instance.ToString(CultureInfo.InvariantCulture));
        var options = new DbOptions();
        var families = new ColumnFamilies();
        foreach (var name in RocksDb.ListColumnFamilies(options, folder))
        {
            families.Add(name, new ColumnFamilyOptions().WithPikaComparator(name));
        }

        using var db = RocksDb.OpenReadOnly(options, folder, families, false);
        var stored = PikaV4Encoding.Instance.EncodeKey(key);
        var value = db.Get(stored) ?? throw new InvalidOperationException($"{userKey} is not in {folder}");
        return (stored, value);
    }

    private static async Task<List<string>> ScanAsync(StockPikaServer pika)
    {
        var keys = new List<string>();
        var cursor = "0";
        do
        {
            var reply = await pika.CommandAsync("SCAN", cursor, "COUNT", "1000");
            var parts = ParseArray(reply);
            cursor = parts[0];
            keys.AddRange(parts.Skip(1));
        }
        while (cursor != "0");
        return keys;
    }

    /// <summary>SCAN's reply, flattened: the cursor, then the keys.</summary>
    private static List<string> ParseArray(string reply)
    {
        var items = new List<string>();
        var at = 0;
        while (at < reply.Length)
        {
            var end = reply.IndexOf("\r\n", at, StringComparison.Ordinal);
            if (reply[at] == '$')
            {
                var length = int.Parse(reply[(at + 1)..end], CultureInfo.InvariantCulture);
                items.Add(reply.Substring(end + 2, length));
                at = end + 2 + length + 2;
            }
            else
            {
                at = end + 2;
            }
        }

        return items;
    }

    private static long Integer(string reply) =>
        reply.StartsWith(':') ? long.Parse(reply[1..].TrimEnd(), CultureInfo.InvariantCulture) : throw new InvalidOperationException($"not an integer reply: {reply}");

    private static async Task<string> WaitForAsync(Func<Task<string>> read, Func<string, bool> done)
    {
        var waited = Stopwatch.StartNew();
        var last = await read();
        while (!done(last) && waited.Elapsed < TimeSpan.FromSeconds(20))
        {
            await Task.Delay(200);
            last = await read();
        }

        return last;
    }

    private static string Printable(string text) => JsonSerializer.Serialize(text);

}
