using System.Text;

namespace PikaIngest.Node.Tests.Support;

/// <summary>
/// Runs the same commands, in order, against Debian's redis-server and against an in-process pika-node,
/// one connection each, and lists every command whose replies differ. redis-server is started with one
/// database, as the node has, so SELECT, MOVE and SWAPDB are refused by both with Redis's own errors.
/// </summary>
internal static class Differential
{
    /// <summary>The redis-server flags every differential run uses.</summary>
    public static readonly string[] RedisFlags = ["--databases", "1"];

    /// <summary>The differences, one paragraph per command ("" when every reply matched).</summary>
    public static async Task<string> CompareAsync(IEnumerable<string[]> commands, Func<NodeOptions, NodeOptions>? configure = null)
    {
        await using var redis = await RedisServerProcess.StartAsync(RedisFlags);
        await using var node = await InProcessNode.StartAsync(configure);
        using var expected = await RawClient.ConnectAsync(redis.Port);
        using var actual = await node.RawAsync();
        return await CompareAsync(commands, expected, actual);
    }

    /// <summary>The same over connections the caller opened (to keep using them afterwards).</summary>
    public static async Task<string> CompareAsync(IEnumerable<string[]> commands, RawClient expected, RawClient actual)
    {
        var differences = new StringBuilder();
        foreach (var command in commands)
        {
            var want = await expected.CallAsync(command);
            var got = await actual.CallAsync(command);
            if (want != got)
            {
                differences.Append(string.Join(' ', command)).Append("\n  redis:     ").Append(want).Append("\n  pika-node: ").Append(got).Append('\n');
            }
        }

        return differences.ToString();
    }
}
