using System.Globalization;
using PikaIngest.Node.Resp;
using PikaIngest.Node.Tests.Support;

namespace PikaIngest.Node.Tests.Replication;

/// <summary>Issue 18's replication findings: SLAVEOF of the node's own address, and a slave refused by its master.</summary>
public sealed class SlaveLinkTests
{
    [Fact]
    public async Task Slaveof_its_own_address_is_refused_with_pikas_error_and_the_node_stays_a_master()
    {
        await using var node = await InProcessNode.StartAsync();
        using var client = await node.RawAsync();
        var port = node.Port.ToString(CultureInfo.InvariantCulture);
        foreach (var host in new[] { "127.0.0.1", "localhost", "loCalHoSt", "127.0.0.2", "::1", System.Net.Dns.GetHostName() })
        {
            Assert.Equal("-" + RespErrors.SlaveOfItself, await client.CallAsync("SLAVEOF", host, port));
            Assert.Equal("-" + RespErrors.SlaveOfItself, await client.CallAsync("REPLICAOF", host, port));
        }

        Assert.StartsWith("*3[$master,", await client.CallAsync("ROLE"), StringComparison.Ordinal);
        Assert.Equal(":1", await client.CallAsync("SETNX", "still-writable", "1"));

        // Another port of the same host is another node: accepted (nothing listens there; the link just retries).
        Assert.Equal("+OK", await client.CallAsync("SLAVEOF", "127.0.0.1", (node.Port == 65535 ? 1 : node.Port + 1).ToString(CultureInfo.InvariantCulture)));
        Assert.Equal("+OK", await client.CallAsync("SLAVEOF", "NO", "ONE"));
    }

    [Fact]
    public async Task A_node_started_as_a_slave_of_itself_refuses_to_start()
    {
        var data = Path.Combine(Path.GetTempPath(), "pika-node-self-" + Guid.NewGuid().ToString("N"));
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port.ToString(CultureInfo.InvariantCulture);
        listener.Stop();
        try
        {
            var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => NodeProcess.StartAsync(data, "--port", port, "--slaveof", "localhost", port));
            Assert.Contains("that is this node's own address", failure.Message, StringComparison.Ordinal);
        }
        finally
        {
            if (Directory.Exists(data))
            {
                Directory.Delete(data, recursive: true);
            }
        }
    }

    /// <summary>
    /// A master that wants a password the slave does not give accepts each connection and then refuses it. The slave
    /// used to retry every 200 ms for ever (30 connections in 6 s); with backoff doubling to 5 s, 6 s hold at most 8.
    /// The bound is on a count, so a slow machine only lowers it.
    /// </summary>
    [Fact]
    public async Task A_slave_refused_by_its_master_backs_off_and_logs_the_reason_once()
    {
        await using var master = await InProcessNode.StartAsync(o => o with { RequirePass = "secret" });
        await using var slave = await InProcessNode.StartAsync(o => o with { SlaveOf = ("127.0.0.1", master.Port) });
        await Task.Delay(TimeSpan.FromSeconds(6));

        var attempts = master.Node.Stats.TotalConnections;
        Assert.InRange(attempts, 2, 8);
        using var client = await slave.RawAsync();
        var info = await client.CallAsync("INFO", "replication");
        Assert.Contains("slave_connect_attempts:", info, StringComparison.Ordinal);
        Assert.Contains("NOAUTH", info, StringComparison.Ordinal);
        var failures = slave.LogLines.Where(l => l.Contains("replication: link to", StringComparison.Ordinal)).ToList();
        Assert.True(failures.Count == 1, "logged:\n" + string.Join('\n', failures));
    }
}
