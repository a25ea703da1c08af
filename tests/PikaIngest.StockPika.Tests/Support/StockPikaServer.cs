using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace PikaIngest.StockPika.Tests;

/// <summary>
/// A stock Pika process (the executable <c>PIKA_SERVER</c> names, e.g. one built by
/// <c>scripts/stock-pika/build.sh</c>) on free ports and a data folder of its own. Its conf is Pika's
/// own <c>conf/pika.conf</c> (next to the build's <c>bin/</c>, or <c>PIKA_CONF</c>) with only the
/// port, the paths, <c>daemonize</c>, the instance count and the settings a test names changed, as
/// <c>scripts/stock-pika/run.sh</c> does.
/// </summary>
public sealed partial class StockPikaServer : IAsyncDisposable
{
    public const string ServerVariable = "PIKA_SERVER";
    public const string ConfVariable = "PIKA_CONF";
    public const string Server35Variable = "PIKA_SERVER_35";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private readonly Process _process;
    private readonly List<string> _output = [];

    private StockPikaServer(Process process, int port, string folder)
    {
        _process = process;
        Port = port;
        Folder = folder;
    }

    /// <summary>The stock Pika executable, or null when <c>PIKA_SERVER</c> is unset or names no executable file.</summary>
    public static string? Executable =>
        Environment.GetEnvironmentVariable(ServerVariable) is { Length: > 0 } path && File.Exists(path) ? Path.GetFullPath(path) : null;

    public static string NotConfiguredReason =>
        $"not run: {ServerVariable} does not name a stock Pika executable ({ServerVariable}='{Environment.GetEnvironmentVariable(ServerVariable)}'); "
        + "build one with scripts/stock-pika/build.sh and run ./test.sh --stock-pika PATH";

    /// <summary>A stock Pika 3.5 executable (<c>PIKA_SERVER_35</c>), for the Pika 3.5 layout; null when unset.</summary>
    public static string? Executable35 =>
        Environment.GetEnvironmentVariable(Server35Variable) is { Length: > 0 } path && File.Exists(path) ? Path.GetFullPath(path) : null;

    /// <summary>Pika's own conf file a server's conf is made from: <c>PIKA_CONF</c> for <c>PIKA_SERVER</c>, else the build's <c>conf/pika.conf</c> beside <c>bin/</c>.</summary>
    public static string ConfTemplateFor(string executable) =>
        executable == Executable && Environment.GetEnvironmentVariable(ConfVariable) is { Length: > 0 } conf ? conf
            : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(executable)!, "..", "conf", "pika.conf"));

    public int Port { get; }

    public string Endpoint => $"127.0.0.1:{Port}";

    /// <summary>The folder holding the conf, <c>db/</c>, <c>log/</c>, <c>dump/</c> and the pid file.</summary>
    public string Folder { get; }

    /// <summary>Pika's <c>db-path</c>; DB 0's RocksDB instances are <c>DbPath/db0/&lt;i&gt;</c> on Pika 4.</summary>
    public string DbPath => Path.Combine(Folder, "db");

    /// <summary>Pika's <c>log-path</c>; DB 0's binlog is <c>LogPath/log_db0/write2file&lt;N&gt;</c>.</summary>
    public string LogPath => Path.Combine(Folder, "log");

    public bool HasExited => _process.HasExited;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return string.Join('\n', _output);
            }
        }
    }

    /// <summary>
    /// Starts Pika on <paramref name="folder"/> (kept between starts, so a test can stop Pika, change its
    /// data and start it again) and waits until it answers PING.
    /// </summary>
    /// <param name="instances">Pika 4's <c>db-instance-num</c>; null keeps the conf's (stock: 3).</param>
    /// <param name="settings">Further conf keys, e.g. <c>cache-model</c> = 0 to switch off Pika 4's read cache.</param>
    /// <param name="executable">Another stock Pika than <c>PIKA_SERVER</c>'s, e.g. <see cref="Executable35"/>.</param>
    public static async Task<StockPikaServer> StartAsync(string folder, int? instances = null, IReadOnlyDictionary<string, string>? settings = null, string? executable = null)
    {
        executable ??= Executable ?? throw new InvalidOperationException(NotConfiguredReason);
        Directory.CreateDirectory(folder);
        folder = Path.GetFullPath(folder);
        var port = FreePort();
        var conf = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["db-path"] = Path.Combine(folder, "db") + "/",
            ["log-path"] = Path.Combine(folder, "log") + "/",
            ["dump-path"] = Path.Combine(folder, "dump") + "/",
            ["db-sync-path"] = Path.Combine(folder, "dbsync") + "/",
            ["pidfile"] = Path.Combine(folder, "pika.pid"),
            ["daemonize"] = "no",

            // Stock Pika aborts at start unless the open-files limit allows maxclients + 5000 (main, src/pika.cc).
            ["maxclients"] = "1000",
        };
        if (instances is { } count)
        {
            conf["db-instance-num"] = count.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            conf[key] = value;
        }

        var confPath = Path.Combine(folder, "pika.conf");
        await File.WriteAllTextAsync(confPath, Conf(await File.ReadAllTextAsync(ConfTemplateFor(executable)), conf));

        var start = new ProcessStartInfo(executable) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = folder };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(confPath);
        var server = new StockPikaServer(new Process { StartInfo = start }, port, folder);
        server._process.OutputDataReceived += (_, line) => server.Add(line.Data);
        server._process.ErrorDataReceived += (_, line) => server.Add(line.Data);
        server._process.Start();
        server._process.BeginOutputReadLine();
        server._process.BeginErrorReadLine();

        var waited = Stopwatch.StartNew();
        while (true)
        {
            if (server._process.HasExited)
            {
                throw new InvalidOperationException($"stock Pika exited at start (code {server._process.ExitCode}):\n{server.Output}");
            }

            try
            {
                if (await server.CommandAsync("PING") == "+PONG\r\n")
                {
                    return server;
                }
            }
            catch (Exception e) when (e is SocketException or IOException)
            {
                // Not listening yet.
            }

            if (waited.Elapsed > StartTimeout)
            {
                await server.DisposeAsync();
                throw new TimeoutException($"stock Pika did not answer PING on {server.Endpoint} in {StartTimeout}:\n{server.Output}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Sends one command and returns its whole raw RESP reply (e.g. <c>"$1\r\nb\r\n"</c>).</summary>
    public async Task<string> CommandAsync(params string[] args) => Encoding.UTF8.GetString(await CommandBytesAsync(args));

    /// <summary>As <see cref="CommandAsync"/>, with the reply's bytes as they came (binary values intact).</summary>
    public async Task<byte[]> CommandBytesAsync(params string[] args)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, Port);
        var stream = client.GetStream();
        var request = new StringBuilder($"*{args.Length}\r\n");
        foreach (var arg in args)
        {
            request.Append(CultureInfoInvariant($"${Encoding.UTF8.GetByteCount(arg)}\r\n{arg}\r\n"));
        }

        await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()));
        var reply = new MemoryStream();
        var buffer = new byte[64 << 10];
        stream.ReadTimeout = 30_000;
        do
        {
            var read = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            if (read == 0)
            {
                break;
            }

            reply.Write(buffer, 0, read);
        }
        while (!IsComplete(reply.ToArray(), 0, out _));

        return reply.ToArray();
    }

    /// <summary>SHUTDOWN, then waits for the process to exit, so its RocksDB instances are closed and unlocked.</summary>
    public async Task StopAsync()
    {
        if (_process.HasExited)
        {
            return;
        }

        try
        {
            await CommandAsync("SHUTDOWN");
        }
        catch (Exception e) when (e is SocketException or IOException or TimeoutException)
        {
            // It may close the connection without a reply.
        }

        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await _process.WaitForExitAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    /// <summary>Pika's conf with each named key's uncommented line replaced, or appended when the conf has none.</summary>
    private static string Conf(string template, Dictionary<string, string> settings)
    {
        var lines = template.Split('\n').ToList();
        foreach (var (key, value) in settings)
        {
            var index = lines.FindIndex(line => ConfKey().Match(line) is { Success: true } match && match.Groups[1].Value == key);
            var line = $"{key} : {value}";
            if (index >= 0)
            {
                lines[index] = line;
            }
            else
            {
                lines.Add(line);
            }
        }

        return string.Join('\n', lines) + "\n";
    }

    /// <summary>
    /// A port whose +1000, +2000 and +10001 are free too: Pika 4 listens on all four (kPortShiftRSync,
    /// kPortShiftReplServer and kPortShiftRsync2 in include/pika_define.h) and aborts if one is taken.
    /// </summary>
    private static int FreePort()
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var port = Random.Shared.Next(20_000, 40_000);
            if (new[] { port, port + 1000, port + 2000, port + 10_001 }.All(IsFree))
            {
                return port;
            }
        }

        throw new InvalidOperationException("no free port triple for stock Pika");
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            listener.Stop();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>Whether <paramref name="reply"/> holds one whole RESP value from <paramref name="at"/>; <paramref name="end"/> is where it ends.</summary>
    private static bool IsComplete(byte[] reply, int at, out int end)
    {
        end = at;
        var lineEnd = Array.IndexOf(reply, (byte)'\n', at);
        if (lineEnd < 0)
        {
            return false;
        }

        end = lineEnd + 1;
        var header = Encoding.ASCII.GetString(reply, at + 1, lineEnd - at - 2);
        switch ((char)reply[at])
        {
            case '$':
                var length = int.Parse(header, System.Globalization.CultureInfo.InvariantCulture);
                end = length < 0 ? end : end + length + 2;
                return end <= reply.Length;
            case '*':
                var count = int.Parse(header, System.Globalization.CultureInfo.InvariantCulture);
                for (var i = 0; i < count; i++)
                {
                    if (end >= reply.Length || !IsComplete(reply, end, out end))
                    {
                        return false;
                    }
                }

                return true;
            default:
                return true;
        }
    }

    private static string CultureInfoInvariant(FormattableString text) => FormattableString.Invariant(text);

    private void Add(string? line)
    {
        lock (_output)
        {
            _output.Add(line ?? "");
        }
    }

    [GeneratedRegex(@"^\s*([A-Za-z0-9_-]+)\s*:")]
    private static partial Regex ConfKey();
}
