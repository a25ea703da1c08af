using System.Globalization;
using System.Text;
using PikaIngest.Node.Binlog;
using PikaIngest.Node.Tests.Support;

namespace PikaIngest.StockPika.Tests;

/// <summary>
/// The binlog stock Pika 4.0.1 writes (<c>log_db0/write2file0</c> and <c>manifest</c>) read with pika-node's own
/// reader, field by field against docs/FORMATS.md §7, and pika-node's binlog for the same commands beside it: same
/// framing, same 34-byte item header, same position and id rules; only the logged command text differs.
/// </summary>
public sealed class BinlogLayoutTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("stock-pika-binlog-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static readonly string[][] Commands =
    [
        ["SET", "a", "b"], ["SET", "k", "v", "EX", "100"], ["DEL", "a"], ["INCR", "n"], ["SET", "p", "v", "PX", "5000"], ["EXPIRE", "k", "1000"],
    ];

    [StockPikaFact]
    public async Task Pika_writes_the_binlog_layout_pika_node_writes_and_reads()
    {
        var pika = await StockPikaServer.StartAsync(_folder);
        long before;
        long after;
        await using (pika)
        {
            before = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            foreach (var command in Commands)
            {
                await pika.CommandAsync(command);
            }

            after = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            await pika.StopAsync();
        }

        var pikaLog = Path.Combine(pika.LogPath, "log_db0");
        var manifest = BinlogManifest.TryLoad(BinlogFiles.ManifestPath(pikaLog)) ?? throw new InvalidOperationException("Pika wrote no manifest");
        var pikaItems = ReadUpTo(pikaLog, manifest.Position);
        var file = await File.ReadAllBytesAsync(BinlogFiles.DataPath(pikaLog, 0));

        // The manifest (Version::StableSave): Pika's producer position after the last item, its logic id, term 0.
        Assert.Equal(new BinlogManifest(0, pikaItems[^1].End, (ulong)Commands.Length, 0), manifest);

        // While Pika runs, the file is preallocated and zero-filled past the items (4 MiB after these commands);
        // only the manifest says where the items end. A clean shutdown leaves nothing but zeros after them.
        Assert.True(file.Length >= (long)manifest.Offset && file.AsSpan((int)manifest.Offset).IndexOfAnyExcept((byte)0) < 0, $"{file.Length} bytes");

        await using var node = await InProcessNode.StartAsync();
        using (var client = await node.RawAsync())
        {
            foreach (var command in Commands)
            {
                await client.CallAsync(command);
            }
        }

        var nodeItems = ReadUpTo(node.Options.BinlogFolder, null);
        Assert.Equal(pikaItems.Count, nodeItems.Count);
        foreach (var items in new[] { pikaItems, nodeItems })
        {
            // Items follow each other in one-fragment records (all fit the first block); each header names the
            // record's own start, and logic ids count from 1 under term 0.
            ulong start = 0;
            for (var i = 0; i < items.Count; i++)
            {
                var (item, end) = items[i];
                Assert.Equal(BinlogItemType.Command, item.Type);
                Assert.Equal(0u, item.TermId);
                Assert.Equal((ulong)(i + 1), item.LogicId);
                Assert.Equal(0u, item.FileNum);
                Assert.Equal(start, item.Offset);
                Assert.Equal(start + BinlogFraming.HeaderSize + BinlogItem.HeaderSize + (ulong)item.Content.Length, end);
                start = end;
            }
        }

        ulong offset = 0;
        for (var i = 0; i < pikaItems.Count; i++)
        {
            var (pikaItem, pikaEnd) = pikaItems[i];
            Assert.InRange(pikaItem.ExecTime, before, after + 1);

            // pika-node's framing of Pika's own item, with Pika's time, is the bytes Pika wrote.
            var framed = new byte[BinlogFraming.MaxFramedLength(pikaItem.EncodedLength)];
            var length = BinlogFraming.Frame(pikaItem.Encode().AsSpan(0, BinlogItem.HeaderSize), pikaItem.Content.Span, (long)offset, pikaItem.ExecTime, framed);
            Assert.Equal(Convert.ToHexString(file, (int)offset, (int)(pikaEnd - offset)), Convert.ToHexString(framed, 0, length));
            offset = pikaEnd;
        }

        // What each logs: the same for plain writes; Pika logs expiries in absolute seconds through its own
        // pksetexat and expireat, pika-node in absolute milliseconds through SET … PXAT and PEXPIREAT.
        string[][] pikaLogged =
        [
            ["SET", "a", "b"], ["pksetexat", "k", "{now+100}", "v"], ["DEL", "a"], ["pksetexat", "n", "0", "1"], ["pksetexat", "p", "{now+5}", "v"], ["expireat", "k", "{now+1000}"],
        ];
        string[][] nodeLogged =
        [
            ["SET", "a", "b"], ["SET", "k", "v", "PXAT", "{now+100000ms}"], ["DEL", "a"], ["SET", "n", "1"], ["SET", "p", "v", "PXAT", "{now+5000ms}"], ["PEXPIREAT", "k", "{now+1000000ms}"],
        ];
        for (var i = 0; i < Commands.Length; i++)
        {
            AssertLogged(pikaLogged[i], pikaItems[i].Item, before, after);
            AssertLogged(nodeLogged[i], nodeItems[i].Item, before, DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        }
    }

    /// <summary>The items from the start of file 0 with where each ends, up to <paramref name="end"/> (Pika's zero-filled tail is not an item) or the last.</summary>
    private static List<(BinlogItem Item, ulong End)> ReadUpTo(string directory, BinlogPosition? end)
    {
        var items = new List<(BinlogItem, ulong)>();
        using var reader = BinlogReader.Open(directory, new BinlogPosition(0, 0));
        while (reader.Position != end && reader.TryRead(out var item) is var status && status != BinlogReadStatus.End)
        {
            Assert.True(status == BinlogReadStatus.Item, reader.Error);
            items.Add((item, reader.Position.Offset));
        }

        return items;
    }

    /// <summary>Checks the item is the RESP array of <paramref name="expected"/>, where <c>{now+N}</c> is a Unix time in seconds N from when the commands ran (<c>{now+Nms}</c> in milliseconds).</summary>
    private static void AssertLogged(string[] expected, BinlogItem item, long before, long after)
    {
        var text = Encoding.UTF8.GetString(item.Content.Span);
        var actual = ParseRespArray(text);
        Assert.True(expected.Length == actual.Length, $"logged {text}");
        for (var i = 0; i < expected.Length; i++)
        {
            if (expected[i].StartsWith("{now+", StringComparison.Ordinal))
            {
                var millis = expected[i].EndsWith("ms}", StringComparison.Ordinal);
                var delta = long.Parse(expected[i][5..^(millis ? 3 : 1)], CultureInfo.InvariantCulture);
                var unit = millis ? 1000 : 1;
                Assert.InRange(long.Parse(actual[i], CultureInfo.InvariantCulture), (before * unit) + delta, ((after + 1) * unit) + delta);
            }
            else
            {
                Assert.Equal(expected[i], actual[i]);
            }
        }

        // The content is exactly that array in RESP, bulk strings throughout.
        Assert.Equal(Encoding.UTF8.GetString(RawClient.Encode(actual)), text);
    }

    private static string[] ParseRespArray(string text)
    {
        var lines = text.Split("\r\n");
        var count = int.Parse(lines[0][1..], CultureInfo.InvariantCulture);
        return [.. Enumerable.Range(0, count).Select(i => lines[2 + (2 * i)])];
    }
}
