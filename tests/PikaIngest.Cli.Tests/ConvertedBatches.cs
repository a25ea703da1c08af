using System.Text;
using System.Text.Json;
using PikaIngest.Core.Formats;
using PikaIngest.Core.Layout;

namespace PikaIngest.Cli.Tests;

/// <summary>A small batch with the cases a Pika load must get right, converted by the real CLI into a folder store with its manifest.</summary>
public static class ConvertedBatches
{
    /// <summary>
    /// Two shards in the folder store <paramref name="store"/> (a bucket folder), converted with <c>pika-ingest
    /// convert</c> (mapped into runs and merged into key ranges), and the manifest the manifest function would
    /// write at <c>manifests/&lt;batch&gt;.json</c>: duplicates across shards, expiries in the future and past,
    /// a binary value, a key ending in NUL, Codis hash tags. Returns every key's expected value (null: expired)
    /// and expiry (Unix s, 0 = none).
    /// </summary>
    public static Dictionary<string, (string? Value, long Expire)> Write(string store, string batch, int instances, TargetFormat format = TargetFormat.PikaV4)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var binary = Encoding.Latin1.GetString([0, 1, 2, 0xfe, 0xff, 0, (byte)'\r', (byte)'\n', 0x80]);
        var shards = new List<(string Key, string Value, long Expire)>[] { [], [] };
        for (var i = 0; i < 60; i++)
        {
            shards[i % 2].Add(($"plain:{i}", $"value {i}", 0));
            shards[0].Add(($"dup:{i}", "first", 0));
            shards[1].Add(($"dup:{i}", $"second {i}", i % 3 == 0 ? now + 3600 : 0));
            shards[i % 2].Add(($"user:{{{i % 7}}}:{i}", $"tagged {i}", 0));
        }

        shards[0].Add(("expiring", "soon", now + 600));
        shards[1].Add(("expired", "gone", now - 10));
        shards[0].Add(("binary", binary, 0));
        shards[1].Add(("trailing-nul\0", "nul at the end", 0));
        shards[0].Add(("{}empty-tag", "crc32 of an empty tag", 0));
        shards[1].Add(("same", "same value", 0));

        var folder = Path.Combine(store, "incoming", batch);
        Directory.CreateDirectory(folder);
        var createdAt = DateTimeOffset.FromUnixTimeSeconds(now);
        var descriptor = new BatchDescriptor { BatchId = batch, Shards = 2, Format = format.Name(), Instances = instances, CreatedAt = createdAt };
        File.WriteAllBytes(Path.Combine(folder, ObjectLayout.DescriptorName), LayoutJson.Serialize(descriptor));
        for (var s = 0; s < 2; s++)
        {
            File.WriteAllLines(Path.Combine(folder, $"{s + 1:D6}.jsonl"), shards[s].Select(line => JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["key64"] = Convert.ToBase64String(Encoding.Latin1.GetBytes(line.Key)),
                ["value64"] = Convert.ToBase64String(Encoding.Latin1.GetBytes(line.Value)),
                ["expire"] = line.Expire,
            })));
        }

        var convert = ProcessRunner.PikaIngest("convert", "--in", store, "--out", store);
        Assert.True(convert.ExitCode == 0, convert.ToString());
        // Two shards are mapped into sorted runs and merged into disjoint key ranges; the manifest is built from the
        // plan and the merge records, as the manifest function builds it.
        var plan = LayoutJson.Deserialize<MergePlan>(File.ReadAllBytes(Path.Combine(store, "plans", $"{batch}.json")), "plan");
        var merged = Directory.GetFiles(Path.Combine(store, "state", batch, "merged"), "*.json")
            .Select(path => LayoutJson.Deserialize<MergedRecord>(File.ReadAllBytes(path), path));
        var manifest = Path.Combine(store, "manifests", $"{batch}.json");
        Directory.CreateDirectory(Path.GetDirectoryName(manifest)!);
        File.WriteAllBytes(manifest, Manifests.Serialize(Manifests.BuildRanges(descriptor, plan, merged)));

        var expected = new Dictionary<string, (string?, long)>(StringComparer.Ordinal);
        foreach (var (key, value, expire) in shards.SelectMany(lines => lines))
        {
            expected[key] = (expire != 0 && expire <= now ? null : value, expire);
        }

        return expected;
    }
}
