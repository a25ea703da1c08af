using System.Text.Json;
using PikaIngest.Core.Formats;
using PikaIngest.Core.Sst;

namespace PikaIngest.Cli.Tests;

/// <summary>
/// An independent oracle for what a conversion must produce: reads shards with System.Text.Json
/// (not our parser), applies last-write-wins in shard then line order, routes and encodes each
/// surviving record, and sorts each instance's pairs bytewise.
/// </summary>
public static class ConversionOracle
{
    public static Dictionary<int, List<(byte[] Key, byte[] Value)>> For(IEnumerable<string> shardsInOrder, TargetFormat format, int instances, long createdUnixMs)
    {
        var latest = new Dictionary<string, (byte[] Key, byte[] Value, long Expire)>(StringComparer.Ordinal);
        foreach (var shard in shardsInOrder)
        {
            foreach (var line in File.ReadLines(shard).Where(l => l.Trim().Length > 0))
            {
                using var document = JsonDocument.Parse(line);
                var root = document.RootElement;
                var key = root.TryGetProperty("key64", out var key64) ? key64.GetBytesFromBase64() : System.Text.Encoding.UTF8.GetBytes(root.GetProperty("key").GetString()!);
                var value = root.TryGetProperty("value64", out var value64) ? value64.GetBytesFromBase64() : System.Text.Encoding.UTF8.GetBytes(root.GetProperty("value").GetString()!);
                var expire = root.TryGetProperty("expire", out var e) && e.ValueKind == JsonValueKind.Number ? e.GetInt64() : 0;
                latest[Convert.ToHexString(key)] = (key, value, expire);
            }
        }

        var encoding = format.Encoding();
        return latest.Values
            .GroupBy(r => InstanceRouter.Instance(r.Key, instances))
            .ToDictionary(
                g => g.Key,
                g => g.Select(r => (encoding.EncodeKey(r.Key), encoding.EncodeValue(r.Value, r.Expire, createdUnixMs)))
                    .OrderBy(p => p.Item1, BytewiseComparer.Instance)
                    .ToList());
    }
}
