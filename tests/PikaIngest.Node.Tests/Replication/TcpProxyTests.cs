using System.Diagnostics;
using PikaIngest.Node.Tests.Support;

namespace PikaIngest.Node.Tests.Replication;

/// <summary>The link-fault proxy itself, in front of Debian's redis-server: forwarding, cuts, delay, pause.</summary>
public sealed class TcpProxyTests
{
    [Fact]
    public async Task The_proxy_forwards_cuts_delays_and_pauses_traffic_to_its_target()
    {
        await using var redis = await RedisServerProcess.StartAsync();
        await using var proxy = TcpProxy.Start(redis.Port);

        using (var client = await RawClient.ConnectAsync(proxy.Port))
        {
            Assert.Equal("+OK", await client.CallAsync("SET", "k", "through the proxy"));
            Assert.Equal("$through the proxy", await client.CallAsync("GET", "k"));
            Assert.Equal(1, proxy.Open);

            Assert.Equal(1, proxy.CutAll());
            Assert.True(await client.IsClosedAsync(TimeSpan.FromSeconds(10)), "a cut connection must be closed for the client");
            Assert.Equal(0, proxy.Open);
            Assert.Equal(1, proxy.Cuts);
        }

        using (var direct = await RawClient.ConnectAsync(redis.Port))
        {
            Assert.Equal("$through the proxy", await direct.CallAsync("GET", "k"));
        }

        using (var client = await RawClient.ConnectAsync(proxy.Port))
        {
            proxy.Delay = TimeSpan.FromMilliseconds(150);
            var watch = Stopwatch.StartNew();
            Assert.Equal("+PONG", await client.CallAsync("PING"));
            // The request and the reply are each held for the delay.
            Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(290), $"a delayed round trip took {watch.Elapsed.TotalMilliseconds} ms");
            proxy.Delay = TimeSpan.Zero;

            proxy.Paused = true;
            await client.SendCommandAsync("INCR", "paused");
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.ReadReplyAsync(TimeSpan.FromMilliseconds(500)));
            proxy.Paused = false;
        }

        using (var check = await RawClient.ConnectAsync(redis.Port))
        {
            // The INCR held during the pause went through once the proxy resumed.
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            while (await check.CallAsync("GET", "paused") != "$1" && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }

            Assert.Equal("$1", await check.CallAsync("GET", "paused"));
        }

        proxy.Paused = true;
        using (var held = await RawClient.ConnectAsync(proxy.Port))
        {
            await held.SendCommandAsync("PING");
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => held.ReadReplyAsync(TimeSpan.FromMilliseconds(300)));
            proxy.Paused = false;
            Assert.Equal("+PONG", await held.ReadReplyAsync());
        }

        Assert.Equal(3, proxy.Accepted);
    }

    [Fact]
    public async Task A_connection_to_a_target_that_is_down_is_closed_and_the_proxy_keeps_accepting()
    {
        int port;
        await using (var gone = await RedisServerProcess.StartAsync())
        {
            port = gone.Port;
        }

        await using var proxy = TcpProxy.Start(port);
        using var client = await RawClient.ConnectAsync(proxy.Port);
        Assert.True(await client.IsClosedAsync(TimeSpan.FromSeconds(10)));
        using var again = await RawClient.ConnectAsync(proxy.Port);
        Assert.True(await again.IsClosedAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(2, proxy.Accepted);
    }
}
