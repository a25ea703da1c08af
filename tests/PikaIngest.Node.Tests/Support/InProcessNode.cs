using PikaIngest.Core.Storage;
using StackExchange.Redis;

namespace PikaIngest.Node.Tests.Support;

/// <summary>A node served in the test process on a free loopback port, over a folder object store.</summary>
internal sealed class InProcessNode : IAsyncDisposable
{
    private readonly List<string> _log = [];
    private NodeServer? _server;

    private InProcessNode(string root, NodeOptions options)
    {
        Root = root;
        Options = options;
    }

    public string Root { get; }

    public string StoreRoot => Path.Combine(Root, "store");

    public NodeOptions Options { get; private set; }

    public NodeContext Node { get; private set; } = null!;

    public int Port => Node.Port;

    public IReadOnlyList<string> LogLines
    {
        get
        {
            lock (_log)
            {
                return [.. _log];
            }
        }
    }

    public static async Task<InProcessNode> StartAsync(Func<NodeOptions, NodeOptions>? configure = null)
    {
        var root = Path.Combine(Path.GetTempPath(), "pika-node-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        var options = new NodeOptions
        {
            Port = 0,
            DataFolder = Path.Combine(root, "data"),
            ObjectStore = "file://" + Path.Combine(root, "store"),
        };
        var node = new InProcessNode(root, configure?.Invoke(options) ?? options);
        await node.OpenAsync();
        return node;
    }

    private Task OpenAsync()
    {
        Node = NodeContext.Open(Options with { Port = Options.Port }, TimeProvider.System, Log, new LocalFolderStoreProvider(StoreRoot));
        _server = NodeServer.Start(Node);
        Options = Options with { Port = Node.Port };
        return Task.CompletedTask;
    }

    /// <summary>Stops the node (as SHUTDOWN would) and opens it again on the same data and port.</summary>
    public async Task RestartAsync()
    {
        await StopAsync();
        await OpenAsync();
    }

    public async Task StopAsync()
    {
        if (_server is not null)
        {
            Node.RequestShutdown("test");
            await _server.DisposeAsync();
            _server = null;
            Node.Dispose();
        }
    }

    public Task<RawClient> RawAsync() => RawClient.ConnectAsync(Port);

    public async Task<ConnectionMultiplexer> ConnectAsync(string? password = null)
    {
        var options = new ConfigurationOptions
        {
            EndPoints = { { "127.0.0.1", Port } },
            Password = password ?? Options.RequirePass,
            AllowAdmin = true,
            AbortOnConnectFail = true,
            ConnectTimeout = 10_000,
            SyncTimeout = 60_000,
            AsyncTimeout = 60_000,
        };
        return await ConnectionMultiplexer.ConnectAsync(options);
    }

    public void Log(string line)
    {
        lock (_log)
        {
            _log.Add(line);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        Directory.Delete(Root, recursive: true);
    }
}
