using System.Diagnostics;
using PikaIngest.Core.Layout;
using PikaIngest.Core.Tests;

namespace PikaIngest.Cli.Tests;

/// <summary><c>pika-ingest run --store s3://…</c> against a real S3 protocol server (npm s3rver), locally and with "deployed" functions.</summary>
public sealed class RunOnS3Tests(S3rverFixture s3) : IClassFixture<S3rverFixture>, IDisposable
{
    private readonly TempFolder _temp = new();
    private readonly List<IDisposable> _processes = [];

    private Dictionary<string, string> Environment => new()
    {
        ["AWS_ENDPOINT_URL_S3"] = s3.Endpoint,
        ["AWS_ACCESS_KEY_ID"] = "S3RVER",
        ["AWS_SECRET_ACCESS_KEY"] = "S3RVER",
        ["AWS_REGION"] = "us-east-1",
    };

    public void Dispose()
    {
        foreach (var process in _processes)
        {
            process.Dispose();
        }

        _temp.Dispose();
    }

    [Fact]
    public async Task Run_stages_the_batch_in_the_bucket_and_its_nodes_ingest_from_there()
    {
        var bucket = await s3.CreateBucketAsync();

        var result = ProcessRunner.Run("dotnet", [ProcessRunner.CliPath, "run", "--store", $"s3://{bucket}", "--size", "3M", "--shards", "2", "--work", _temp["work"]], environment: Environment);

        Assert.True(result.ExitCode == 0, result.ToString());
        // s3rver lets a second If-None-Match PUT through: the run finds that out and never races writers of one key.
        Assert.Contains($"s3://{bucket} ignores conditional writes", result.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^\| upload \| ", result.Stdout);
        Assert.Equal(2, System.Text.RegularExpressions.Regex.Count(result.Stdout, @"verify 127\.0\.0\.1:\d+: ok"));
        var keys = await KeysAsync(bucket);
        Assert.Single(keys, k => k.StartsWith(ObjectLayout.ManifestsPrefix, StringComparison.Ordinal));
        Assert.Single(keys, k => k.StartsWith(ObjectLayout.ResultsPrefix, StringComparison.Ordinal));
        // Two shards of 1.5 MB: one key range per instance, merged from both shards' runs with range GETs on S3; the runs are gone after the ingest.
        Assert.Equal(3, keys.Count(k => k.StartsWith(ObjectLayout.SstPrefix, StringComparison.Ordinal) && System.Text.RegularExpressions.Regex.IsMatch(k, @"/i[0-2]-000001\.sst$")));
        Assert.Equal(3, keys.Count(k => k.StartsWith(ObjectLayout.SstPrefix, StringComparison.Ordinal)));
        Assert.Equal(3, keys.Count(k => k.StartsWith(ObjectLayout.TasksPrefix, StringComparison.Ordinal)));
        Assert.DoesNotContain(keys, k => k.StartsWith(ObjectLayout.RunsPrefix, StringComparison.Ordinal));
    }

    [Fact]
    public async Task With_deployed_functions_the_run_only_uploads_and_watches_while_the_bucket_triggers_do_the_rest()
    {
        var bucket = await s3.CreateBucketAsync();
        var master = NodeProcess.Start(_temp["master"], "s3", Environment, "--ingest-allow-bucket", bucket);
        _processes.Add(master);
        // What a deployed stack does on S3 events, done by `pika-ingest watch` on the same bucket.

        var watcher = StartWatch(bucket, master.Endpoint);
        _processes.Add(watcher);

        ProcessResult result;
        try
        {
            result = ProcessRunner.Run(
                "dotnet", [ProcessRunner.CliPath, "run", "--store", $"s3://{bucket}", "--functions", "deployed", "--master", master.Endpoint, "--size", "2M", "--work", _temp["work"]],
                environment: Environment);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\nwatch printed:\n{watcher.Output}", e);
        }

        Assert.True(result.ExitCode == 0, $"{result}\nwatch printed:\n{watcher.Output}");
        Assert.Contains("waiting for the deployed functions", result.Stdout, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^\| manifest \+ ingest on master \| ", result.Stdout);
        Assert.Contains($"verify {master.Endpoint}: ok", result.Stdout, StringComparison.Ordinal);
    }

    private async Task<List<string>> KeysAsync(string bucket) =>
        (await s3.Client.ListObjectsV2Async(new Amazon.S3.Model.ListObjectsV2Request { BucketName = bucket })).S3Objects.Select(o => o.Key).ToList();

    private Watcher StartWatch(string bucket, string master)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { ProcessRunner.CliPath, "watch", "--store", "s3", "--bucket", bucket, "--pika", master, "--interval", "0.2" })
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in Environment)
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start)!;
        var watcher = new Watcher(process);
        process.OutputDataReceived += (_, line) => watcher.Add(line.Data);
        process.ErrorDataReceived += (_, line) => watcher.Add(line.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return watcher;
    }

    private sealed class Watcher(Process process) : IDisposable
    {
        private readonly System.Text.StringBuilder _output = new();

        public string Output
        {
            get
            {
                lock (_output)
                {
                    return _output.ToString();
                }
            }
        }

        public void Add(string? line)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }

        public void Dispose()
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
            }

            process.Dispose();
        }
    }
}
