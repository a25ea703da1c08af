using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace PikaIngest.Cli.Tests;

/// <summary><c>pika-ingest run</c> end to end as a real process, with the real pika-node children it starts.</summary>
public sealed partial class RunCommandTests : IDisposable
{
    private readonly TempFolder _temp = new();
    private NodeProcess? _node;

    public void Dispose()
    {
        _node?.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public void Run_on_embedded_defaults_verifies_master_and_slave_prints_the_stage_table_and_leaves_nothing_running()
    {
        var work = _temp["work"];
        var result = ProcessRunner.PikaIngest("run", "--size", "6M", "--shards", "3", "--work", work, "--keep");

        Assert.True(result.ExitCode == 0, result.ToString());
        foreach (var stage in new[] { "mock", "map", "merge", "manifest", "ingest on master", "ingest on slave", "verify", "total" })
        {
            Assert.Matches($@"(?m)^\| {stage} \| \d+\.\d\d \| ", result.Stdout);
        }

        Assert.Equal(2, VerifiedNodes().Count(result.Stdout));
        AssertStopped(result.Stdout);

        // The kept data stands on its own: a node restarted on the master's folder passes a separate verify.
        _node = NodeProcess.Start(Path.Combine(work, "master"), Path.Combine(work, "store"));
        var verify = ProcessRunner.PikaIngest("verify", "--source", Path.Combine(work, "store", "local"), "--node", _node.Endpoint, "--sample", "500");
        Assert.True(verify.ExitCode == 0, verify.ToString());
    }

    [Fact]
    public void A_batch_with_a_bad_shard_is_not_ingested_the_run_names_the_file_and_line_and_stops_the_nodes()
    {
        var source = _temp["shards"];
        Directory.CreateDirectory(source);
        File.WriteAllText(Path.Combine(source, "a.jsonl"), "{\"key\":\"k1\",\"value\":\"v1\"}\n");
        File.WriteAllText(Path.Combine(source, "b.jsonl"), "{\"key\":\"k2\",\"value\":\"v2\"}\n{\"key\":\"k3\",\n");
        var work = _temp["work"];

        var result = ProcessRunner.PikaIngest("run", "--source", source, "--work", work);

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains($"shard 2 (your {Path.Combine(source, "b.jsonl")})", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("000002.jsonl:2:", result.Stderr, StringComparison.Ordinal);
        AssertStopped(result.Stdout);
        Assert.True(File.Exists(Path.Combine(work, "master.log")), "a failed run keeps its logs");
        Assert.False(Directory.Exists(Path.Combine(work, "store", "local", "manifests")), "no manifest for a failed batch");
    }

    [Fact]
    public void A_master_that_is_down_is_a_one_line_error_and_nothing_is_left_behind()
    {
        var work = _temp["work"];
        var result = ProcessRunner.PikaIngest("run", "--master", "127.0.0.1:1", "--work", work);

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("error: 127.0.0.1:1: cannot connect", result.Stderr, StringComparison.Ordinal);
        Assert.Single(result.Stderr.Trim().Split('\n'));
        Assert.False(Directory.Exists(work));
    }

    [Fact]
    public void An_unreachable_store_is_a_one_line_error_before_any_node_starts()
    {
        var work = _temp["work"];
        var result = ProcessRunner.Run(
            "dotnet", [ProcessRunner.CliPath, "run", "--store", "s3://no-such-endpoint", "--work", work],
            environment: new Dictionary<string, string> { ["AWS_ENDPOINT_URL_S3"] = "http://127.0.0.1:1", ["AWS_ACCESS_KEY_ID"] = "x", ["AWS_SECRET_ACCESS_KEY"] = "y", ["AWS_REGION"] = "us-east-1" });

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("error: store s3://no-such-endpoint cannot be reached: ", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotMatch(NodePid(), result.Stdout);
        Assert.False(Directory.Exists(work));
    }

    [Fact]
    public void Run_against_an_existing_master_ingests_and_verifies_it()
    {
        var work = _temp["work"];
        _node = NodeProcess.Start(_temp["external"], Path.Combine(work, "store"));

        var result = ProcessRunner.PikaIngest("run", "--master", _node.Endpoint, "--size", "2M", "--work", work);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"verify {_node.Endpoint}: ok", result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("| ingest on slave |", result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotMatch(NodePid(), result.Stdout);
        Assert.False(_node.HasExited, "an existing node is not the run's to stop");
    }

    [Fact]
    public async Task Ctrl_c_stops_the_children_and_exits_130()
    {
        var work = _temp["work"];

        // A terminal's Ctrl-C reaches a process whose SIGINT has its default disposition. Suites started in
        // the background (`cmd &` without job control) inherit SIGINT ignored, and .NET then leaves it
        // ignored, so the run is started with SIGINT reset, as it is when typed at a terminal.
        var start = new ProcessStartInfo("env") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { "--default-signal=INT", "dotnet", ProcessRunner.CliPath, "run", "--size", "64M", "--work", work })
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["CI"] = "true";
        using var run = Process.Start(start)!;
        var stderr = run.StandardError.ReadToEndAsync();
        var stdout = new StringBuilder();
        while (run.StandardOutput.ReadLine() is { } line)
        {
            stdout.AppendLine(line);
            if (line.Contains("slave: pika-node pid", StringComparison.Ordinal))
            {
                break;
            }
        }

        Assert.Equal(0, ProcessRunner.Run("kill", ["-INT", run.Id.ToString(CultureInfo.InvariantCulture)]).ExitCode);
        stdout.Append(run.StandardOutput.ReadToEnd());
        Assert.True(run.WaitForExit(TimeSpan.FromSeconds(60)), "run did not stop after SIGINT");
        var errors = await stderr;

        Assert.True(run.ExitCode == 130, $"exit {run.ExitCode}\n{stdout}\n{errors}");
        Assert.Contains("interrupted", errors, StringComparison.Ordinal);
        AssertStopped(stdout.ToString());
        Assert.False(Directory.Exists(work), "an interrupted run removes its folder");
    }

    [Fact]
    public async Task A_run_killed_outright_leaves_no_node_running()
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { ProcessRunner.CliPath, "run", "--size", "64M", "--work", _temp["work"] })
        {
            start.ArgumentList.Add(argument);
        }

        using var run = Process.Start(start)!;
        var pids = new List<int>();
        while (pids.Count < 2 && run.StandardOutput.ReadLine() is { } line)
        {
            if (NodePid().Match(line) is { Success: true } match)
            {
                pids.Add(int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture));
            }
        }

        run.Kill();
        await run.WaitForExitAsync();

        Assert.Equal(2, pids.Count);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (pids.Any(IsAlive) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }

        Assert.All(pids, pid => Assert.False(IsAlive(pid), $"pika-node {pid} outlived its killed run"));
    }

    /// <summary>Running and not a zombie: an orphan that exited may wait for its reaper a while.</summary>
    private static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..][0] != 'Z';
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or IOException)
        {
            return false;
        }
    }

    /// <summary>Every pika-node the run reported starting has exited.</summary>
    private static void AssertStopped(string stdout)
    {
        var pids = NodePid().Matches(stdout).Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToList();
        Assert.NotEmpty(pids);
        foreach (var pid in pids)
        {
            Assert.False(IsRunning(pid), $"pika-node {pid} is still running");
        }
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    [GeneratedRegex(@"pika-node pid (\d+)")]
    private static partial Regex NodePid();

    [GeneratedRegex(@"verify 127\.0\.0\.1:\d+: ok")]
    private static partial Regex VerifiedNodes();
}
