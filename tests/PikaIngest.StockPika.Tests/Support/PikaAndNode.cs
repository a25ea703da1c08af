using PikaIngest.Node.Tests.Support;

namespace PikaIngest.StockPika.Tests.Support;

/// <summary>
/// One stock Pika (stock conf) and one in-process pika-node, shared by the tests of a class: a Pika start takes
/// 10–15 s. Each test empties both first, so tests do not see each other's keys.
/// </summary>
public sealed class PikaAndNode : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("stock-pika-diff-").FullName;
    private StockPikaServer? _pika;
    private InProcessNode? _node;

    public StockPikaServer Pika => _pika ?? throw new InvalidOperationException("not started");

    internal InProcessNode Node => _node ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync()
    {
        // A fixture is built even for skipped tests; without PIKA_SERVER there is nothing to start.
        if (StockPikaServer.Executable is null)
        {
            return;
        }

        _pika = await StockPikaServer.StartAsync(_folder);
        _node = await InProcessNode.StartAsync();
    }

    /// <summary>A connection to each server, both databases emptied first.</summary>
    public async Task<(RawClient Pika, RawClient Node)> ConnectEmptyAsync()
    {
        var pika = await RawClient.ConnectAsync(Pika.Port);
        var node = await RawClient.ConnectAsync(Node.Port);
        Assert.Equal("+OK", await pika.CallAsync("FLUSHALL"));
        Assert.Equal("+OK", await node.CallAsync("FLUSHALL"));
        return (pika, node);
    }

    public async Task DisposeAsync()
    {
        if (_node is not null)
        {
            await _node.DisposeAsync();
        }

        if (_pika is not null)
        {
            await _pika.StopAsync();
            await _pika.DisposeAsync();
        }

        Directory.Delete(_folder, recursive: true);
    }
}
