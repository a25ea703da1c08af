using PikaIngest.Node.Storage;

namespace PikaIngest.Node;

/// <summary>
/// Removes expired keys in the background so they do not pile up on disk (reads already treat them
/// as absent). Candidates are found without the write gate; each is deleted under it, and only if
/// still expired, so a key rewritten in between is kept. Removals are not logged: a slave holds the
/// same absolute expiry and sweeps its own copy.
/// </summary>
internal sealed class ExpirySweeper
{
    private readonly NodeContext _node;

    public ExpirySweeper(NodeContext node)
    {
        _node = node;
    }

    public async Task RunAsync()
    {
        using var timer = new PeriodicTimer(_node.Options.ExpireSweepInterval, _node.Clock);
        ExpiryScanPosition? position = null;
        try
        {
            while (await timer.WaitForNextTickAsync(_node.Stopping).ConfigureAwait(false))
            {
                SweepOnce(ref position);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public int SweepOnce(ref ExpiryScanPosition? position)
    {
        var candidates = _node.Store.FindExpired(ref position, _node.Options.ExpireSweepBatch, _node.NowMs);
        if (candidates.Count == 0)
        {
            return 0;
        }

        var removed = 0;
        using (_node.Gate.Enter())
        {
            var now = _node.NowMs;
            foreach (var key in candidates)
            {
                if (_node.Store.DeleteIfExpired(key, now))
                {
                    removed++;
                }
            }

            _node.Store.PublishWrites();
        }

        _node.Stats.Expired(removed);
        return removed;
    }
}
