namespace PikaIngest.Cli.Tests;

/// <summary><c>pika-ingest upload</c> as a real process, into a folder store.</summary>
public sealed class UploadCommandTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Upload_copies_a_converted_batch_in_layout_order_and_a_second_run_skips_everything()
    {
        Assert.Equal(0, ProcessRunner.PikaIngest("mock", "--out", _temp["local"], "--batch", "b", "--size", "2M", "--max-file-size", "512K").ExitCode);
        Assert.Equal(0, ProcessRunner.PikaIngest("convert", "--in", _temp["local"]).ExitCode);
        var local = Directory.GetFiles(_temp["local"], "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(_temp["local"], f)).Order(StringComparer.Ordinal).ToList();

        var first = ProcessRunner.PikaIngest("upload", "--from", _temp["local"], "--to", _temp["bucket"], "--concurrency", "3");
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Contains($"{local.Count} objects uploaded, 0 already present", first.Stdout, StringComparison.Ordinal);
        var uploaded = Directory.GetFiles(_temp["bucket"], "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(_temp["bucket"], f)).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(local, uploaded);
        Assert.All(local, f => Assert.Equal(File.ReadAllBytes(Path.Combine(_temp["local"], f)), File.ReadAllBytes(Path.Combine(_temp["bucket"], f))));

        // Completion records are written after the SSTs they point at: the manifest trigger never sees a dangling record.
        var doneTimes = Directory.GetFiles(Path.Combine(_temp["bucket"], "state"), "*", SearchOption.AllDirectories).Select(File.GetLastWriteTimeUtc).Min();
        var sstTimes = Directory.GetFiles(Path.Combine(_temp["bucket"], "sst"), "*", SearchOption.AllDirectories).Select(File.GetLastWriteTimeUtc).Max();
        Assert.True(doneTimes >= sstTimes);

        File.WriteAllText(Path.Combine(_temp["bucket"], "incoming", "b", "000002.jsonl"), "changed");
        var second = ProcessRunner.PikaIngest("upload", "--from", _temp["local"], "--to", _temp["bucket"]);
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Contains($"1 objects uploaded, {local.Count - 1} already present", second.Stdout, StringComparison.Ordinal);
        Assert.Equal(File.ReadAllBytes(Path.Combine(_temp["local"], "incoming", "b", "000002.jsonl")), File.ReadAllBytes(Path.Combine(_temp["bucket"], "incoming", "b", "000002.jsonl")));
    }

    [Fact]
    public void Upload_of_something_that_is_not_a_store_is_a_one_line_error()
    {
        Directory.CreateDirectory(_temp["empty"]);
        var result = ProcessRunner.PikaIngest("upload", "--from", _temp["empty"], "--to", _temp["bucket"]);
        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("error: ", result.Stderr, StringComparison.Ordinal);
    }
}
