using System.Globalization;
using PikaIngest.Node.Resp;
using PikaIngest.Node.Tests.Support;

namespace PikaIngest.Node.Tests;

/// <summary>
/// The maxmemory guard (issue 18 item 4): past the budget, commands that may grow memory get Redis's OOM error, while
/// reads, DEL and CONFIG keep working; a command that would build a value past the budget is refused before it builds it.
/// </summary>
public sealed class MaxMemoryTests
{
    private static readonly string Oom = "-" + RespErrors.OutOfMemory;

    [Fact]
    public async Task Past_maxmemory_growing_writes_are_refused_while_reads_and_deletes_work()
    {
        await using var node = await InProcessNode.StartAsync();
        using var client = await node.RawAsync();
        Assert.Equal("+OK", await client.CallAsync("SET", "kept", "v"));
        Assert.Equal("+OK", await client.CallAsync("SET", "gone", "v"));
        Assert.Equal("+OK", await client.CallAsync("CONFIG", "SET", "maxmemory", "1mb"));
        Assert.Equal("*2[$maxmemory,$1048576]", await client.CallAsync("CONFIG", "GET", "maxmemory"));

        string[][] growing =
        [
            ["SET", "k", "v"], ["SETNX", "k", "v"], ["SETEX", "k", "10", "v"], ["MSET", "k", "v"], ["APPEND", "kept", "x"],
            ["SETRANGE", "kept", "0", "x"], ["INCR", "n"], ["INCRBYFLOAT", "n", "1"], ["SETBIT", "b", "7", "1"],
            ["BITFIELD", "b", "SET", "u8", "0", "1"], ["BITOP", "OR", "d", "kept"], ["COPY", "kept", "copy"], ["GETSET", "kept", "w"],
        ];
        foreach (var command in growing)
        {
            Assert.True(await client.CallAsync(command) == Oom, string.Join(' ', command));
        }

        Assert.Equal("$v", await client.CallAsync("GET", "kept"));
        Assert.Equal("*1[:0]", await client.CallAsync("BITFIELD_RO", "kept", "GET", "u1", "0"));
        Assert.Equal(":1", await client.CallAsync("DEL", "gone"));
        Assert.Equal(":1", await client.CallAsync("EXPIRE", "kept", "1000"));
        Assert.Equal(":0", await client.CallAsync("EXISTS", "k", "n", "b", "d", "copy"));
        Assert.Contains("maxmemory:1048576", await client.CallAsync("INFO", "memory"), StringComparison.Ordinal);

        Assert.Equal("+OK", await client.CallAsync("CONFIG", "SET", "maxmemory", "0"));
        Assert.Equal("+OK", await client.CallAsync("SET", "k", "v"));
    }

    [Fact]
    public async Task A_value_that_would_pass_maxmemory_is_refused_before_it_is_built()
    {
        await using var node = await InProcessNode.StartAsync();
        using var client = await node.RawAsync();
        var resident = ResidentBytes(await client.CallAsync("INFO", "memory"));
        var budget = resident + (64L << 20);
        Assert.Equal("+OK", await client.CallAsync("CONFIG", "SET", "maxmemory", budget.ToString(CultureInfo.InvariantCulture)));

        Assert.Equal(Oom, await client.CallAsync("SETRANGE", "big", "104857599", "x"));
        Assert.Equal(Oom, await client.CallAsync("SETBIT", "big", "838860799", "1"));
        Assert.Equal(Oom, await client.CallAsync("BITFIELD", "big", "SET", "u8", "838860792", "1"));
        Assert.Equal(":0", await client.CallAsync("EXISTS", "big"));
        Assert.Equal(":1001", await client.CallAsync("SETRANGE", "big", "1000", "x"));
        Assert.Equal("+OK", await client.CallAsync("SET", "small", "v"));
    }

    [Fact]
    public async Task Config_set_maxmemory_takes_redis_units_and_refuses_other_text()
    {
        await using var node = await InProcessNode.StartAsync();
        using var client = await node.RawAsync();
        foreach (var (text, bytes) in new[] { ("1gb", "1073741824"), ("100k", "100000"), ("5KB", "5120"), ("3m", "3000000"), ("12345", "12345"), ("2G", "2000000000") })
        {
            Assert.Equal("+OK", await client.CallAsync("CONFIG", "SET", "maxmemory", text));
            Assert.Equal($"*2[$maxmemory,${bytes}]", await client.CallAsync("CONFIG", "GET", "maxmemory"));
        }

        foreach (var bad in new[] { "abc", "-1", "1tb", "", "1.5gb" })
        {
            Assert.Equal("-" + RespErrors.ConfigSetFailed("maxmemory", RespErrors.ConfigMemoryArgument), await client.CallAsync("CONFIG", "SET", "maxmemory", bad));
        }

        Assert.Equal("+OK", await client.CallAsync("CONFIG", "SET", "maxmemory-policy", "noeviction"));
        Assert.StartsWith("-ERR CONFIG SET failed", await client.CallAsync("CONFIG", "SET", "maxmemory-policy", "allkeys-lru"), StringComparison.Ordinal);
    }

    private static long ResidentBytes(string info)
    {
        var line = info.Split("\r\n").Single(l => l.StartsWith("used_memory_rss:", StringComparison.Ordinal));
        return long.Parse(line.AsSpan("used_memory_rss:".Length), CultureInfo.InvariantCulture);
    }
}
