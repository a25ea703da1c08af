using System.Diagnostics;

namespace PikaIngest.Cli.Tests;

public sealed record ProcessResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
}

/// <summary>Runs real processes: the built <c>pika-ingest</c> and stock tools such as <c>sst_dump</c>.</summary>
public static class ProcessRunner
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);

    public static string CliPath => Path.Combine(AppContext.BaseDirectory, "pika-ingest.dll");

    public static ProcessResult PikaIngest(params string[] args) => Run("dotnet", [CliPath, .. args]);

    public static ProcessResult Run(string fileName, IEnumerable<string> args, string? workingDirectory = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        // Plain progress lines, not a live terminal bar.
        start.Environment["CI"] = "true";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {fileName}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            // What it printed before it hung is what tells why.
            throw new TimeoutException($"{fileName} {string.Join(' ', args)} did not finish in {Timeout}\n{new ProcessResult(-1, stdout.Result, stderr.Result)}");
        }

        return new ProcessResult(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Full path of a tool on PATH, or a failure telling how to install it (./test.sh does).</summary>
    public static string RequireTool(string name)
    {
        var found = (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);
        return found ?? throw new InvalidOperationException($"{name} is not installed: run ./test.sh (it installs rocksdb-tools and redis) or scripts/install-deps.sh");
    }
}
