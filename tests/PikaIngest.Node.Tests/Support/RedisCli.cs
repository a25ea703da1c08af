using System.Diagnostics;

namespace PikaIngest.Node.Tests.Support;

/// <summary>Debian's redis-cli, run as a process against a port.</summary>
public static class RedisCli
{
    public static string RequireTool(string name)
    {
        var found = (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);
        return found ?? throw new InvalidOperationException($"{name} is not installed: run ./test.sh (it installs redis-server and redis-tools) or scripts/install-deps.sh");
    }

    /// <summary>Runs <c>redis-cli -p PORT args…</c> (raw output) and returns stdout; stdin is fed from <paramref name="input"/>.</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(int port, IEnumerable<string> args, byte[]? input = null, TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo(RequireTool("redis-cli"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in (string[])["-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), .. args])
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (input is not null)
        {
            await process.StandardInput.BaseStream.WriteAsync(input);
        }

        process.StandardInput.Close();
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(cancel.Token);
        return (process.ExitCode, await stdout, await stderr);
    }
}
