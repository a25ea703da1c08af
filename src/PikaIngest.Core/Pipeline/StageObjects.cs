using System.Globalization;
using System.Text;
using PikaIngest.Core.Layout;
using PikaIngest.Core.Storage;

namespace PikaIngest.Core.Pipeline;

/// <summary>Reading records and holding leases, as every stage does them.</summary>
internal static class StageObjects
{
    /// <summary>A record, or null when it is absent or unreadable (logged: a torn or foreign object counts as not written).</summary>
    public static async Task<T?> ReadRecordAsync<T>(IObjectStore store, string key, int maxBytes, Action<string> log, CancellationToken cancellation)
        where T : class
    {
        byte[] bytes;
        try
        {
            bytes = await store.GetBytesAsync(key, maxBytes, cancellation).ConfigureAwait(false);
        }
        catch (ObjectNotFoundException)
        {
            return null;
        }

        try
        {
            return LayoutJson.Deserialize<T>(bytes, $"{store.Location}/{key}");
        }
        catch (FormatException e)
        {
            log($"{store.Location}/{key}: unreadable ({e.Message}); treating it as absent");
            return null;
        }
    }

    /// <summary>
    /// Takes a lease object, waiting while another invocation holds it; a lease older than
    /// <paramref name="timeout"/> (longer than any holder works) is taken over, its holder presumed dead.
    /// </summary>
    public static async Task AcquireLeaseAsync(IObjectStore store, string lease, string what, TimeSpan timeout, TimeSpan poll, Action<string> log, CancellationToken cancellation)
    {
        var waited = false;
        while (true)
        {
            var now = DateTimeOffset.UtcNow;
            var content = Encoding.UTF8.GetBytes(now.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture));
            if (await store.CreateIfAbsentAsync(lease, content, cancellation).ConfigureAwait(false) == CreateOutcome.Created)
            {
                return;
            }

            var held = await store.HeadAsync(lease, cancellation).ConfigureAwait(false);
            if (held is not null && now - held.LastModified > timeout)
            {
                log($"{what}: taking over the lease {lease} held since {held.LastModified:O}");
                await store.PutBytesAsync(lease, content, cancellation).ConfigureAwait(false);
                return;
            }

            if (!waited)
            {
                log($"{what}: another invocation is working on this; waiting for it");
                waited = true;
            }

            await Task.Delay(poll, cancellation).ConfigureAwait(false);
        }
    }

    /// <summary>How many objects are under a prefix (a LIST, no reads).</summary>
    public static async Task<int> CountAsync(IObjectStore store, string prefix, string suffix, CancellationToken cancellation)
    {
        var count = 0;
        await foreach (var info in store.ListAsync(prefix, cancellation).ConfigureAwait(false))
        {
            count += info.Key.EndsWith(suffix, StringComparison.Ordinal) ? 1 : 0;
        }

        return count;
    }
}
