using System.Security.Cryptography;
using System.Text.Json.Nodes;

namespace PikaIngest.Testing;

/// <summary>
/// The manifests issue 18 names, made from a real batch in a folder store: every file's size and SHA-256 (and the
/// manifest's totals) are made right again, so only reading the files can tell. Used by the INGEST_S3, replay and
/// apply tests alike.
/// </summary>
internal static class BatchAttacks
{
    /// <summary>Valid SSTs listed under the wrong instances: 0 ← the file of 1, 1 ← 2, 2 ← 0, their counts and bounds following them.</summary>
    public const string WrongInstance = "wrong instance";

    /// <summary>The file of one instance replaced by another batch's file for that instance.</summary>
    public const string ForeignBatch = "foreign batch";

    /// <summary>5,000 random bytes.</summary>
    public const string RandomBytes = "random bytes";

    /// <summary>The first half of the file.</summary>
    public const string Truncated = "truncated";

    /// <summary>Every attack at every instance position of a 3-instance batch (the rotation touches all three at once), as theory data.</summary>
    public static TheoryData<string, int> All()
    {
        var data = new TheoryData<string, int> { { WrongInstance, 0 } };
        foreach (var attack in new[] { ForeignBatch, RandomBytes, Truncated })
        {
            for (var position = 0; position < 3; position++)
            {
                data.Add(attack, position);
            }
        }

        return data;
    }

    /// <summary>
    /// Rewrites the batch whose manifest is <paramref name="manifestPath"/> in the bucket folder <paramref name="bucket"/>;
    /// returns the object keys of the files changed (an error must name one of them).
    /// </summary>
    /// <param name="foreign">The bucket folder and manifest of another batch (for <see cref="ForeignBatch"/>).</param>
    public static IReadOnlyList<string> Apply(string bucket, string manifestPath, string attack, int position, (string Bucket, string ManifestPath)? foreign = null)
    {
        var manifest = JsonNode.Parse(File.ReadAllText(manifestPath))!;
        var files = manifest["files"]!.AsArray();
        JsonNode FirstOf(JsonArray list, int instance) => list.First(f => (int)f!["instance"]! == instance)!;
        string PathOf(string root, JsonNode file) => Path.Combine(root, (string)file["key"]!);

        List<JsonNode> changed;
        switch (attack)
        {
            case WrongInstance:
                changed = [.. Enumerable.Range(0, 3).Select(i => FirstOf(files, i))];
                var contents = changed.Select(f => (Bytes: File.ReadAllBytes(PathOf(bucket, f)), Entries: f["entries"]!.DeepClone(), Smallest: f["smallestKey"]!.DeepClone(), Largest: f["largestKey"]!.DeepClone())).ToList();
                for (var i = 0; i < 3; i++)
                {
                    var from = contents[(i + 1) % 3];
                    File.WriteAllBytes(PathOf(bucket, changed[i]), from.Bytes);
                    (changed[i]["entries"], changed[i]["smallestKey"], changed[i]["largestKey"]) = (from.Entries, from.Smallest, from.Largest);
                }

                break;
            case ForeignBatch:
                var (otherBucket, otherManifest) = foreign ?? throw new ArgumentNullException(nameof(foreign));
                var otherFile = FirstOf(JsonNode.Parse(File.ReadAllText(otherManifest))!["files"]!.AsArray(), position);
                changed = [FirstOf(files, position)];
                File.Copy(PathOf(otherBucket, otherFile), PathOf(bucket, changed[0]), overwrite: true);
                break;
            case RandomBytes:
                changed = [FirstOf(files, position)];
                File.WriteAllBytes(PathOf(bucket, changed[0]), RandomNumberGenerator.GetBytes(5000));
                break;
            case Truncated:
                changed = [FirstOf(files, position)];
                var bytes = File.ReadAllBytes(PathOf(bucket, changed[0]));
                File.WriteAllBytes(PathOf(bucket, changed[0]), bytes[..(bytes.Length / 2)]);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(attack), attack, "unknown attack");
        }

        foreach (var file in changed)
        {
            var bytes = File.ReadAllBytes(PathOf(bucket, file));
            file["size"] = bytes.LongLength;
            file["sha256"] = Convert.ToHexStringLower(SHA256.HashData(bytes));
        }

        manifest["totals"]!["bytes"] = files.Sum(f => (long)f!["size"]!);
        manifest["totals"]!["entries"] = files.Sum(f => (long)f!["entries"]!);
        File.WriteAllText(manifestPath, manifest.ToJsonString());
        return [.. changed.Select(f => (string)f["key"]!)];
    }
}
