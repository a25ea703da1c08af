namespace PikaIngest.Cli.Tests;

/// <summary><c>pika-ingest verify</c> as a real process against a real pika-node that ingested a converted batch.</summary>
public sealed class VerifyCommandTests : IDisposable
{
    private readonly TempFolder _temp = new();
    private NodeProcess? _node;

    public void Dispose()
    {
        _node?.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public void Verify_passes_on_the_node_that_ingested_the_batch_and_names_what_differs_after_a_stray_write()
    {
        var store = _temp["store"];
        Assert.Equal(0, ProcessRunner.PikaIngest("mock", "--out", Path.Combine(store, "local"), "--batch", "b", "--size", "2M", "--max-file-size", "512K", "--dup-ratio", "0.2", "--expire-ratio", "0.1").ExitCode);
        Assert.Equal(0, ProcessRunner.PikaIngest("convert", "--in", Path.Combine(store, "local")).ExitCode);
        _node = NodeProcess.Start(_temp["data"], store);
        var port = _node.Port;
        var lastDone = Directory.GetFiles(Path.Combine(store, "local", "state", "b", "merged")).Order(StringComparer.Ordinal).Last();
        var eventFile = Path.Combine(_temp.Path, "event.json");
        File.WriteAllText(eventFile, "{\"Records\":[{\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":\"local\"},\"object\":{\"key\":\"state/b/merged/" + Path.GetFileName(lastDone) + "\",\"size\":1}}}]}");
        var invoke = ProcessRunner.PikaIngest("invoke", "manifest", "--event", eventFile, "--store", "file://" + store, "--pika", $"127.0.0.1:{port}");
        Assert.True(invoke.ExitCode == 0, invoke.ToString());

        var ok = ProcessRunner.PikaIngest("verify", "--source", Path.Combine(store, "local"), "--node", $"127.0.0.1:{port}", "--sample", "200");
        Assert.True(ok.ExitCode == 0, ok.ToString());
        Assert.Contains($"127.0.0.1:{port}: ok", ok.Stdout, StringComparison.Ordinal);

        var cli = ProcessRunner.Run(ProcessRunner.RequireTool("redis-cli"), ["-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "SET", "stray", "write"]);
        Assert.Equal(0, cli.ExitCode);
        var differs = ProcessRunner.PikaIngest("verify", "--source", Path.Combine(store, "local"), "--node", $"127.0.0.1:{port}");
        Assert.Equal(1, differs.ExitCode);
        Assert.Matches(@"holds [\d,]+ keys; expected [\d,]+", differs.Stdout);
        Assert.Contains("digest ", differs.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_with_an_unreachable_store_is_a_one_line_error_naming_it()
    {
        var result = ProcessRunner.Run(
            "dotnet", [ProcessRunner.CliPath, "verify", "--source", "s3://no-such-endpoint", "--node", "127.0.0.1:1"],
            environment: new Dictionary<string, string> { ["AWS_ENDPOINT_URL_S3"] = "http://127.0.0.1:1", ["AWS_ACCESS_KEY_ID"] = "x", ["AWS_SECRET_ACCESS_KEY"] = "y", ["AWS_REGION"] = "us-east-1" });

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("error: store s3://no-such-endpoint cannot be reached: ", result.Stderr, StringComparison.Ordinal);
        Assert.Single(result.Stderr.Trim().Split('\n'));
    }

    [Fact]
    public void Verify_against_a_node_that_is_down_is_a_one_line_error()
    {
        Assert.Equal(0, ProcessRunner.PikaIngest("mock", "--out", _temp["local"], "--batch", "b", "--size", "256K").ExitCode);
        var result = ProcessRunner.PikaIngest("verify", "--source", _temp["local"], "--node", "127.0.0.1:1");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("error: 127.0.0.1:1: cannot connect", result.Stderr, StringComparison.Ordinal);
    }
}
