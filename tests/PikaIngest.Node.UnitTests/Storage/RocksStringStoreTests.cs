using System.Text;
using PikaIngest.Core.Formats;
using PikaIngest.Core.Sst;
using PikaIngest.Node.Storage;
using PikaIngest.Node.UnitTests.Support;

namespace PikaIngest.Node.UnitTests.Storage;

public sealed class RocksStringStoreTests : IDisposable
{
    private const long Now = 1_800_000_000_000;
    private readonly TempFolder _folder = new();

    private static byte[] B(string text) => Encoding.UTF8.GetBytes(text);

    private static string? Value(RocksStringStore store, string key, long now = Now) =>
        store.Read(B(key), now, out var stored) == StoreStatus.Ok ? Encoding.UTF8.GetString(stored.Value) : null;

    [Fact]
    public void Put_then_get_returns_the_value_and_expiry()
    {
        using var store = RocksStringStore.Open(_folder.Path, 3);
        store.Put(B("a"), B("1"), 0, Now);
        store.Put(B("b\0with zero"), B("v\0\r\n"), Now + 5000, Now);

        Assert.Equal("1", Value(store, "a"));
        Assert.Equal(StoreStatus.Ok, store.Read(B("b\0with zero"), Now, out var stored));
        Assert.Equal(B("v\0\r\n"), stored.Value);
        Assert.Equal(Now + 5000, stored.ExpireUnixMs);
        Assert.Null(Value(store, "missing"));
    }

    [Fact]
    public void The_instances_share_one_block_cache_of_the_size_asked_for()
    {
        using (RocksStringStore.Open(_folder.Path, 3, blockCacheMb: 64))
        {
        }

        // RocksDB's LOG records each instance's table options at open: the cache's address and capacity.
        var caches = Enumerable.Range(0, 3).Select(i =>
        {
            var log = File.ReadAllLines(Path.Combine(RocksStringStore.InstanceFolder(_folder.Path, i), "LOG"));
            var at = Array.FindIndex(log, l => l.Trim().StartsWith("block_cache: ", StringComparison.Ordinal));
            Assert.Contains(log.Skip(at).Take(5), l => l.Trim() == $"capacity : {64 << 20}");
            return log[at].Trim();
        }).ToList();
        Assert.Single(caches.Distinct());
    }

    [Fact]
    public void A_key_reads_as_absent_once_its_expiry_has_passed_and_not_before()
    {
        using var store = RocksStringStore.Open(_folder.Path, 1);
        store.Put(B("k"), B("v"), Now + 100, Now);

        Assert.Equal("v", Value(store, "k", Now + 100));
        Assert.Null(Value(store, "k", Now + 101));
        Assert.Equal(StoreStatus.NotFound, store.Delete(B("k"), Now + 101));
    }

    [Fact]
    public void Keys_are_stored_in_pikas_layout_in_the_instance_pika_would_pick()
    {
        var keys = Enumerable.Range(0, 200).Select(i => $"key:{i}").ToList();
        using (var store = RocksStringStore.Open(_folder.Path, 3))
        {
            foreach (var key in keys)
            {
                store.Put(B(key), B("v" + key), 0, Now);
            }
        }

        for (var instance = 0; instance < 3; instance++)
        {
            using var db = RocksDbSharp.RocksDb.OpenReadOnly(new RocksDbSharp.DbOptions(), RocksStringStore.InstanceFolder(_folder.Path, instance), false);
            using var iterator = db.NewIterator();
            for (iterator.SeekToFirst(); iterator.Valid(); iterator.Next())
            {
                var record = PikaV4Encoding.Instance.Decode(iterator.Key(), iterator.Value());
                var key = Encoding.UTF8.GetString(record.Key);
                Assert.Equal(instance, InstanceRouter.Instance(record.Key, 3));
                Assert.Equal("v" + key, Encoding.UTF8.GetString(record.Value));
                Assert.True(keys.Remove(key));
            }
        }

        Assert.Empty(keys);
    }

    [Fact]
    public void Reopening_with_another_instance_count_is_refused()
    {
        RocksStringStore.Open(_folder.Path, 3).Dispose();

        var error = Assert.Throws<InvalidOperationException>(() => RocksStringStore.Open(_folder.Path, 2));
        Assert.Contains("3 instances", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Overlapping_files_ingested_together_let_the_later_file_win(bool reversed)
    {
        // Three files that all hold "shared" (and their own keys), ingested in one call: the
        // value that survives must be the one from the last file in the list.
        var files = Enumerable.Range(1, 3).Select(i => WriteSst(_folder.Combine($"f{i}.sst"),
            [("shared", $"from file {i}"), ($"only{i}", "x"), ("zzz", $"last key of {i}")])).ToList();
        if (reversed)
        {
            files.Reverse();
        }

        using var store = RocksStringStore.Open(_folder.Combine("data"), 1);
        store.Put(B("shared"), B("written before"), 0, Now);
        store.IngestFiles(0, files);

        var winner = reversed ? 1 : 3;
        Assert.Equal($"from file {winner}", Value(store, "shared"));
        Assert.Equal($"last key of {winner}", Value(store, "zzz"));
        Assert.Equal("x", Value(store, "only1"));
        Assert.Equal(5, store.CountKeys(Now));
    }

    [Fact]
    public void A_write_after_an_ingest_wins_over_the_ingested_value()
    {
        var file = WriteSst(_folder.Combine("f.sst"), [("k", "ingested")]);
        using var store = RocksStringStore.Open(_folder.Combine("data"), 1);
        store.IngestFiles(0, [file]);
        store.Put(B("k"), B("written after"), 0, Now);

        Assert.Equal("written after", Value(store, "k"));
    }

    [Fact]
    public void Scan_visits_every_live_key_once_whatever_the_page_size()
    {
        using var store = RocksStringStore.Open(_folder.Path, 3);
        var live = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < 300; i++)
        {
            var expired = i % 10 == 0;
            store.Put(B($"k{i}"), B("v"), expired ? Now - 1 : 0, Now - 10);
            if (!expired)
            {
                live.Add($"k{i}");
            }
        }

        foreach (var count in new[] { 1, 7, 1000 })
        {
            var seen = new List<string>();
            ulong cursor = 0;
            var pages = 0;
            do
            {
                var page = store.Scan(cursor, count, null, Now);
                seen.AddRange(page.Keys.Select(k => Encoding.UTF8.GetString(k)));
                cursor = page.NextCursor;
                Assert.True(++pages < 1000, "scan did not finish");
            }
            while (cursor != 0);

            Assert.Equal(live.Order(StringComparer.Ordinal), seen.Order(StringComparer.Ordinal));
        }

        Assert.Equal(live.Count, store.CountKeys(Now));
    }

    [Fact]
    public void The_expiry_sweep_finds_expired_keys_and_deletes_only_those_still_expired()
    {
        using var store = RocksStringStore.Open(_folder.Path, 2);
        for (var i = 0; i < 50; i++)
        {
            store.Put(B($"old{i}"), B("v"), Now - 1, Now - 100);
            store.Put(B($"live{i}"), B("v"), Now + 60_000, Now);
        }

        var found = new List<byte[]>();
        ExpiryScanPosition? position = null;
        do
        {
            found.AddRange(store.FindExpired(ref position, 7, Now));
        }
        while (position is not null);

        Assert.Equal(50, found.Count);
        Assert.All(found, k => Assert.StartsWith("old", Encoding.UTF8.GetString(k), StringComparison.Ordinal));

        store.Put(B("old0"), B("rewritten"), 0, Now);
        var deleted = found.Count(k => store.DeleteIfExpired(k, Now));
        Assert.Equal(49, deleted);
        Assert.Equal("rewritten", Value(store, "old0"));
        Assert.Equal(51, store.CountKeys(Now));
    }

    [Fact]
    public void The_expiry_sweep_reads_large_values_only_every_large_sweep_interval()
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        using (var writing = RocksStringStore.Open(_folder.Path, 2))
        {
            writing.Put(B("big"), new byte[RocksStringStore.LargeValueBytes], now - 1, now - 100);
            writing.Put(B("small"), B("v"), now - 1, now - 100);
        }

        // Reopened, the recovered memtable is flushed: "big" is in a blob file, which the sweep's iterator does not load.
        using var store = RocksStringStore.Open(_folder.Path, 2);
        var interval = (long)RocksStringStore.LargeSweepInterval.TotalMilliseconds;
        Assert.Equal(["small"], Sweep(store, now));
        Assert.Equal(["big", "small"], Sweep(store, now + interval + 1000));
        Assert.Equal(["small"], Sweep(store, now + interval + 2000));
        Assert.Equal(["big", "small"], Sweep(store, now + (2 * interval) + 2000));
    }

    private static string[] Sweep(RocksStringStore store, long nowMs)
    {
        var found = new List<byte[]>();
        ExpiryScanPosition? position = null;
        do
        {
            found.AddRange(store.FindExpired(ref position, 7, nowMs));
        }
        while (position is not null);

        return [.. found.Select(k => Encoding.UTF8.GetString(k)).Order(StringComparer.Ordinal)];
    }

    [Fact]
    public void A_checkpoint_holds_published_writes_still_in_the_memtable_and_ingested_files_but_nothing_later()
    {
        var copy = _folder.Combine("copy");
        string digest;
        using (var store = RocksStringStore.Open(_folder.Combine("live"), 3))
        {
            for (var i = 0; i < 500; i++)
            {
                store.Put(B($"k{i}"), B($"v{i}"), i % 5 == 0 ? Now + i : 0, Now);
            }

            store.IngestFiles(0, [WriteSst(_folder.Combine("f.sst"), [("ingested", "from an sst")])]);
            store.Put(B("k7"), B("rewritten"), 0, Now);
            store.PublishWrites();
            digest = store.Digest(Now);

            // The writes above were never flushed to an SST: the checkpoint must carry them in its WAL.
            store.Checkpoint(Path.Combine(copy, "db0"));
            store.Put(B("after"), B("not in the copy"), 0, Now);
            store.PublishWrites();
        }

        using var restored = RocksStringStore.Open(copy, 3);
        Assert.Equal(digest, restored.Digest(Now));
        Assert.Equal("rewritten", Value(restored, "k7"));
        Assert.Null(Value(restored, "after"));
    }

    [Fact]
    public void The_digest_depends_on_contents_not_on_layout_or_write_times()
    {
        string Digest(int instances, IEnumerable<(string Key, string Value, long Expire)> records, long createdAt)
        {
            using var folder = new TempFolder();
            using var store = RocksStringStore.Open(folder.Path, instances);
            foreach (var (key, value, expire) in records)
            {
                store.Put(B(key), B(value), expire, createdAt);
            }

            return store.Digest(Now);
        }

        var records = Enumerable.Range(0, 100).Select(i => (Key: $"k{i}", Value: $"v{i}", Expire: i % 3 == 0 ? Now + i : 0L)).ToList();
        var baseline = Digest(3, records, Now);

        Assert.Matches("^[0-9a-f]{32}$", baseline);
        Assert.Equal(baseline, Digest(1, records, Now - 5000));
        Assert.Equal(baseline, Digest(5, Enumerable.Reverse(records), Now));
        Assert.NotEqual(baseline, Digest(3, records.Select(r => r.Key == "k5" ? (r.Key, "changed", r.Expire) : r), Now));
        Assert.NotEqual(baseline, Digest(3, records.Select(r => r.Key == "k6" ? (r.Key, r.Value, Now + 1) : r), Now));
        Assert.NotEqual(baseline, Digest(3, records.Select(r => r.Key == "k7" ? ("k7x", r.Value, r.Expire) : r), Now));
        Assert.NotEqual(baseline, Digest(3, records.Skip(1), Now));
        Assert.Equal(new string('0', 32), Digest(3, [], Now));
        Assert.Equal(new string('0', 32), Digest(3, [("gone", "v", Now - 1)], Now));
    }

    [Fact]
    public void An_sst_ingested_into_an_empty_instance_lands_in_the_bottom_level_and_overlapping_ones_each_a_level_above()
    {
        using var store = RocksStringStore.Open(_folder.Combine("data"), 2);
        Assert.All(store.GetInstanceStats(), instance => Assert.Equal(Enumerable.Repeat(new LevelStats(0, 0), 7), instance.Levels));

        var first = WriteSst(_folder.Combine("first.sst"), Records(1, 1000));
        var firstBytes = new FileInfo(first).Length;
        store.IngestFiles(0, [first]);

        var stats = store.GetInstanceStats();
        Assert.Equal([.. Enumerable.Repeat(new LevelStats(0, 0), 6), new LevelStats(1, firstBytes)], stats[0].Levels);
        Assert.Equal(Enumerable.Repeat(new LevelStats(0, 0), 7), stats[1].Levels);

        // Files overlapping the bottom level and each other: with fixed level targets every level is open to an ingest,
        // so each goes one level above the file it must override, in the order given, and none to level 0.
        string[] overlapping = [WriteSst(_folder.Combine("second.sst"), Records(2, 1000)), WriteSst(_folder.Combine("third.sst"), Records(3, 1000))];
        var sizes = overlapping.Select(f => new FileInfo(f).Length).ToList();
        store.IngestFiles(0, overlapping);

        stats = store.GetInstanceStats();
        Assert.Equal(new LevelStats(0, 0), stats[0].Levels[0]);
        Assert.Equal(new LevelStats(1, sizes[1]), stats[0].Levels[4]);
        Assert.Equal(new LevelStats(1, sizes[0]), stats[0].Levels[5]);
        Assert.Equal(new LevelStats(1, firstBytes), stats[0].Levels[6]);
        Assert.Equal("from file 3", Value(store, Enumerable.Range(0, 1000).Select(i => $"k{i}").First(k => InstanceRouter.Instance(B(k), 2) == 0)));
        Assert.All(stats, instance => Assert.Equal(0, instance.CompactionReadBytes));
    }

    [Fact]
    public void The_compaction_an_ingest_triggers_is_counted_and_leaves_no_debt_and_its_counters_survive_a_full_sync_swap()
    {
        using var store = RocksStringStore.Open(_folder.Combine("data"), 2);
        store.IngestFiles(0, [WriteSst(_folder.Combine("bottom.sst"), Records(0, 2000))]);

        // Nine overlapping files: five fill levels 5 to 1 (one each, above the file they override), the last four reach
        // level 0 and its compaction trigger. The compaction's tickers may be counted a moment after its new files are
        // installed, so both are awaited.
        store.IngestFiles(0, [.. Enumerable.Range(1, 9).Select(i => WriteSst(_folder.Combine($"f{i}.sst"), Records(i, 2000)))]);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        InstanceStats settled;
        do
        {
            Thread.Sleep(20);
            settled = store.GetInstanceStats()[0];
        }
        while (!(settled.Levels[0].Files == 0 && settled.RunningCompactions == 0 && settled.CompactionWriteBytes > 0)
            && DateTime.UtcNow < deadline);

        Assert.Equal(0, settled.Levels[0].Files);
        Assert.False(settled.CompactionPending);
        Assert.Equal(0, settled.CompactionPendingBytes);
        Assert.Equal(0, settled.RunningCompactions);
        Assert.Equal(1, settled.Levels[6].Files);

        // The four level-0 files and the level-1 file under them were inputs; what they became was written anew.
        Assert.True(settled.CompactionReadBytes > settled.Levels[1].Bytes, $"read {settled.CompactionReadBytes} bytes");
        Assert.True(settled.CompactionWriteBytes >= settled.Levels[1].Bytes, $"wrote {settled.CompactionWriteBytes} bytes");
        Assert.Equal(0, settled.WriteStopCount);
        Assert.False(settled.WriteStopped);
        var routedHere = Enumerable.Range(0, 2000).Select(i => $"k{i}").First(k => InstanceRouter.Instance(B(k), 2) == 0);
        Assert.Equal("from file 9", Value(store, routedHere));
        var untouched = store.GetInstanceStats()[1];
        Assert.Equal((0L, 0L), (untouched.CompactionReadBytes, untouched.CompactionWriteBytes));

        var sync = _folder.Combine("sync");
        store.Checkpoint(sync);
        store.ReplaceWith(sync);

        var swapped = store.GetInstanceStats()[0];
        Assert.Equal(settled.Levels, swapped.Levels);
        Assert.Equal((settled.CompactionReadBytes, settled.CompactionWriteBytes), (swapped.CompactionReadBytes, swapped.CompactionWriteBytes));
    }

    [Fact]
    public void Deleting_all_keys_drops_ingested_files_whole_without_compaction_and_later_writes_and_ingests_work()
    {
        using var store = RocksStringStore.Open(_folder.Combine("data"), 2);
        store.IngestFiles(0, [WriteSst(_folder.Combine("bottom.sst"), Records(0, 20_000))]);
        store.IngestFiles(1, [WriteSst(_folder.Combine("other.sst"), Records(1, 20_000))]);
        store.Put(B("in the memtable"), B("v"), 0, Now);
        Assert.Equal(40_001, store.CountKeys(Now));

        store.DeleteAll();

        Assert.Equal(0, store.CountKeys(Now));
        Assert.Null(Value(store, "k7"));
        Assert.Null(Value(store, "in the memtable"));
        Assert.Null(store.RandomKey(Now));

        // The files are gone from the tree (not rewritten): no level holds a file, nothing was read by a compaction.
        var stats = store.GetInstanceStats();
        Assert.All(stats, instance => Assert.All(instance.Levels, level => Assert.Equal(0, level.Files)));
        Assert.All(stats, instance => Assert.Equal(0, instance.CompactionReadBytes));

        store.Put(B("after"), B("1"), 0, Now);
        store.IngestFiles(0, [WriteSst(_folder.Combine("again.sst"), Records(2, 100))]);
        var routedHere = Enumerable.Range(0, 100).Select(i => $"k{i}").First(k => InstanceRouter.Instance(B(k), 2) == 0);
        Assert.Equal("from file 2", Value(store, routedHere));
        Assert.Equal("1", Value(store, "after"));
    }

    [Fact]
    public void A_random_key_is_a_live_key_and_every_live_key_can_be_picked()
    {
        using var store = RocksStringStore.Open(_folder.Combine("data"), 3);
        Assert.Null(store.RandomKey(Now));
        var live = Enumerable.Range(0, 12).Select(i => $"live{i}").ToHashSet();
        foreach (var key in live)
        {
            store.Put(B(key), B("v"), 0, Now);
        }

        for (var i = 0; i < 200; i++)
        {
            store.Put(B($"expired{i}"), B("v"), Now - 1, Now - 10);
        }

        var seen = new HashSet<string>();
        for (var i = 0; i < 2000 && seen.Count < live.Count; i++)
        {
            var key = store.RandomKey(Now);
            Assert.NotNull(key);
            seen.Add(Encoding.UTF8.GetString(key));
        }

        Assert.Subset(live, seen);
        Assert.Equal(live, seen);
    }

    private static IEnumerable<(string Key, string Value)> Records(int file, int count) =>
        Enumerable.Range(0, count).Select(i => ($"k{i}", $"from file {file}"));

    private static string WriteSst(string path, IEnumerable<(string Key, string Value)> records)
    {
        using var builder = new SstFileBuilder(path, new SstOptions());
        foreach (var (key, value) in records.OrderBy(r => PikaV4Encoding.Instance.EncodeKey(B(r.Key)), BytewiseComparer.Instance))
        {
            builder.Put(PikaV4Encoding.Instance.EncodeKey(B(key)), PikaV4Encoding.Instance.EncodeValue(B(value), 0, Now));
        }

        builder.Finish();
        builder.Commit();
        return path;
    }

    public void Dispose() => _folder.Dispose();
}
