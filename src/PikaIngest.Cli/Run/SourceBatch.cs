using PikaIngest.Core.Formats;
using PikaIngest.Core.Layout;

namespace PikaIngest.Cli.Run;

/// <summary>
/// Places the user's own shards into a store as one batch for <c>pika-ingest run --source</c>: a batch folder
/// (with <c>_batch.json</c>) keeps its id and descriptor; a folder of loose <c>*.jsonl</c> files becomes a new
/// batch whose shard order is the files' name order.
/// </summary>
internal static class SourceBatch
{
    /// <summary>Returns the batch's descriptor and, for each shard in sequence order, the file it came from.</summary>
    public static (BatchDescriptor Descriptor, IReadOnlyList<string> Sources) Place(string source, string storeRoot, int instances, long? targetFileBytes, string newBatchId)
    {
        if (!Directory.Exists(source))
        {
            throw new DirectoryNotFoundException($"--source {source}: no such folder");
        }

        var descriptorPath = Path.Combine(source, ObjectLayout.DescriptorName);
        BatchDescriptor descriptor;
        List<string> shards;
        if (File.Exists(descriptorPath))
        {
            descriptor = LayoutJson.Deserialize<BatchDescriptor>(File.ReadAllBytes(descriptorPath), descriptorPath);
            shards = [.. Enumerable.Range(1, descriptor.Shards).Select(seq => Path.Combine(source, ObjectLayout.Seq(seq) + ObjectLayout.ShardSuffix))];
            if (shards.FirstOrDefault(s => !File.Exists(s)) is { } missing)
            {
                throw new FileNotFoundException($"{descriptorPath} lists {descriptor.Shards} shards but {missing} is missing");
            }
        }
        else
        {
            shards = [.. Directory.EnumerateFiles(source, "*" + ObjectLayout.ShardSuffix).Order(StringComparer.Ordinal)];
            if (shards.Count == 0)
            {
                throw new FileNotFoundException($"--source {source}: no {ObjectLayout.DescriptorName} and no *{ObjectLayout.ShardSuffix} shards");
            }

            descriptor = new BatchDescriptor
            {
                BatchId = newBatchId,
                Shards = shards.Count,
                Format = TargetFormats.Name(TargetFormat.PikaV4),
                Instances = instances,
                CreatedAt = DateTimeOffset.UtcNow,
                TargetFileBytes = targetFileBytes,
            };
        }

        var batchFolder = Path.Combine(storeRoot, "incoming", descriptor.BatchId);
        if (Directory.Exists(batchFolder))
        {
            throw new IOException($"{batchFolder} exists already: batch {descriptor.BatchId} is in the store");
        }

        // The descriptor goes first, as the layout requires: no shard event may find its batch undescribed.
        Directory.CreateDirectory(batchFolder);
        AtomicFile.Write(Path.Combine(batchFolder, ObjectLayout.DescriptorName), LayoutJson.Serialize(descriptor));
        for (var i = 0; i < shards.Count; i++)
        {
            var target = Path.Combine(batchFolder, ObjectLayout.Seq(i + 1) + ObjectLayout.ShardSuffix);
            File.Copy(shards[i], target + ".tmp");
            File.Move(target + ".tmp", target);
        }

        return (descriptor, shards);
    }
}
