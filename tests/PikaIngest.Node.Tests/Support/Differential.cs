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
            if (want != got && !SameRemainingTime(command, want, got))
            {
                differences.Append(string.Join(' ', command)).Append("\n  redis:     ").Append(want).Append("\n  pika-node: ").Append(got).Append('\n');
            }
        }

        return differences.ToString();
    }

    /// <summary>
    /// A TTL or PTTL asked of both servers in turn: the node is asked after redis-server answered, so on a loaded machine
    /// its key may have lived past the next whole second (both round to the nearest second). One second less counts as
    /// the same reply; any other difference does not.
    /// </summary>
    private static bool SameRemainingTime(string[] command, string want, string got)
    {
        var unit = command[0].ToUpperInvariant() switch
        {
            "TTL" => 1,
            "PTTL" => 1000,
            _ => 0,
        };
        return unit > 0
            && want.StartsWith(':') && got.StartsWith(':')
            && long.TryParse(want.AsSpan(1), out var expected) && long.TryParse(got.AsSpan(1), out var actual)
            && actual >= 0 && actual < expected && expected - actual <= unit;
    }
}
