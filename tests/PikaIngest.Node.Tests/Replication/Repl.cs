using System.Globalization;
using System.Net.Sockets;
using System.Text;
using PikaIngest.Node.Tests.Support;

namespace PikaIngest.Node.Tests.Replication;

/// <summary>
/// Helpers for tests with a master and slaves as real processes: one short connection per call (so a call
/// survives node restarts), INFO parsing, polling with a deadline, and the catch-up check.
/// </summary>
internal static class Repl
{
    /// <summary>How long any wait in a replication test may take before it fails with both nodes' state.</summary>
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    public static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>One command on a new connection; <paramref name="timeout"/> bounds the reply.</summary>
    public static async Task<string> CallAsync(int port, TimeSpan timeout, params string[] args)
    {
        using var client = await RawClient.ConnectAsync(port);
        await client.SendCommandAsync(args);
        return await client.ReadReplyAsync(timeout);
    }

    public static Task<string> CallAsync(NodeProcess node, params string[] args) => CallAsync(node.Port, TimeSpan.FromSeconds(30), args);

    public static async Task<string> DigestAsync(NodeProcess node)
    {
        var digest = await CallAsync(node, "DEBUG", "DIGEST");
        Assert.StartsWith("$", digest, StringComparison.Ordinal);
        return digest;
    }

    /// <summary>INGEST_S3 on the master, which may take a while on a busy machine.</summary>
    public static async Task IngestAsync(NodeProcess master, string manifest)
    {
        var reply = await CallAsync(master.Port, Deadline, "INGEST_S3", "local", manifest);
        Assert.True(reply == "+OK", $"INGEST_S3 local {manifest}: {reply}\n{Tail(master)}");
    }

    /// <summary>The fields of an INFO section as name → value.</summary>
    public static async Task<Dictionary<string, string>> InfoAsync(NodeProcess node, string section = "replication") =>
        ParseInfo(await CallAsync(node, "INFO", section));

    public static Dictionary<string, string> ParseInfo(string reply)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var raw in reply.TrimStart('$').Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (line.Length == 0 || line[0] == '#' || colon < 0)
            {
                continue;
            }

            fields[line[..colon]] = line[(colon + 1)..];
        }

        return fields;
    }

    /// <summary>"ip=127.0.0.1,port=7001,state=online" → name → value.</summary>
    public static Dictionary<string, string> ParseList(string value) =>
        value.Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(part => part.Split('=', 2))
            .ToDictionary(kv => kv[0], kv => kv.Length > 1 ? kv[1] : "", StringComparer.Ordinal);

    public static string Field(Dictionary<string, string> info, string name) =>
        info.TryGetValue(name, out var value) ? value : throw new Xunit.Sdk.XunitException($"INFO has no '{name}' field:\n" + string.Join('\n', info.Select(kv => $"{kv.Key}:{kv.Value}")));

    public static long Number(Dictionary<string, string> info, string name) =>
        long.Parse(Field(info, name), CultureInfo.InvariantCulture);

    /// <summary>
    /// Polls <paramref name="condition"/> until it holds; a call that fails because a node is down or
    /// restarting counts as "not yet". At the deadline the test fails with every node's state.
    /// </summary>
    public static async Task WaitForAsync(string what, Func<Task<bool>> condition, params NodeProcess[] nodes) =>
        await WaitForAsync(what, condition, Deadline, TimeSpan.FromMilliseconds(100), nodes);

    public static async Task WaitForAsync(string what, Func<Task<bool>> condition, TimeSpan timeout, TimeSpan interval, params NodeProcess[] nodes)
    {
        var deadline = DateTime.UtcNow + timeout;
        Exception? last = null;
        while (true)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (Exception e) when (e is SocketException or IOException or EndOfStreamException or OperationCanceledException)
            {
                last = e;
            }

            if (DateTime.UtcNow > deadline)
            {
                var failure = new StringBuilder($"timed out after {timeout.TotalSeconds:0} s waiting for: {what}\n");
                if (last is not null)
                {
                    failure.Append("last call failed: ").Append(last.Message).Append('\n');
                }

                failure.Append(await DescribeAsync(nodes));
                throw new Xunit.Sdk.XunitException(failure.ToString());
            }

            await Task.Delay(interval);
        }
    }

    /// <summary>Awaits a task within the deadline; at the deadline the test fails with every node's state.</summary>
    public static async Task WithinDeadlineAsync(Task task, string what, params NodeProcess[] nodes)
    {
        try
        {
            await task.WaitAsync(Deadline);
        }
        catch (TimeoutException)
        {
            throw new Xunit.Sdk.XunitException($"timed out after {Deadline.TotalSeconds:0} s waiting for: {what}\n" + await DescribeAsync(nodes));
        }
    }

    /// <summary>Waits until the slave has applied everything the master logged and both hold the same contents.</summary>
    public static async Task WaitCaughtUpAsync(NodeProcess master, NodeProcess slave)
    {
        await WaitForAsync(
            "slave_repl_offset = master_repl_offset and equal DEBUG DIGEST",
            async () =>
            {
                var masterOffset = Field(await InfoAsync(master), "master_repl_offset");
                var slaveOffset = Field(await InfoAsync(slave), "slave_repl_offset");
                return masterOffset == slaveOffset && await DigestAsync(master) == await DigestAsync(slave);
            },
            master,
            slave);
    }

    /// <summary>INFO replication and the log tail of every node, for failure messages.</summary>
    public static async Task<string> DescribeAsync(params NodeProcess[] nodes)
    {
        var text = new StringBuilder();
        foreach (var node in nodes)
        {
            text.Append("==== node on port ").Append(node.Port).Append(node.HasExited ? " (exited)" : "").Append(" ====\n");
            if (!node.HasExited)
            {
                try
                {
                    text.Append((await CallAsync(node.Port, TimeSpan.FromSeconds(5), "INFO", "replication")).TrimStart('$').Replace("\r", "", StringComparison.Ordinal)).Append('\n');
                    text.Append("digest: ").Append(await CallAsync(node.Port, TimeSpan.FromSeconds(5), "DEBUG", "DIGEST")).Append('\n');
                }
                catch (Exception e) when (e is SocketException or IOException or EndOfStreamException or OperationCanceledException)
                {
                    text.Append("(INFO failed: ").Append(e.Message).Append(")\n");
                }
            }

            text.Append("-- log --\n").Append(Tail(node)).Append('\n');
        }

        return text.ToString();
    }

    public static string Tail(NodeProcess node, int lines = 150)
    {
        var all = node.Log.Split('\n');
        return string.Join('\n', all.Skip(Math.Max(0, all.Length - lines)));
    }

    /// <summary>Starts a node, retrying while its fixed port is still held by the process that just left it.</summary>
    public static async Task<NodeProcess> StartOnPortAsync(string dataFolder, int port, params string[] args)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (true)
        {
            try
            {
                return await NodeProcess.StartAsync(dataFolder, ["--port", Text(port), .. args]);
            }
            catch (InvalidOperationException e) when (e.Message.Contains("cannot listen", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(250);
            }
        }
    }
}
