using PikaIngest.Node.Memory;
using PikaIngest.Node.Storage;

namespace PikaIngest.Node.Commands;

/// <summary>
/// Runs a function over a stored value while it is still in the storage engine's buffer: GETBIT or GETRANGE of a
/// 512 MB value reads a byte or a slice of it without first copying all of it into a managed array.
/// </summary>
internal static class ValueReader
{
    public delegate TResult Function<in TState, out TResult>(ReadOnlySpan<byte> value, long expireUnixMs, TState state);

    /// <summary>The function's result, or <paramref name="missing"/> when the key is absent or expired.</summary>
    public static TResult Read<TState, TResult>(IStringStore store, ReadOnlySpan<byte> key, long nowMs, TState state, TResult missing, Function<TState, TResult> function)
    {
        var sink = new Sink<TState, TResult>(state, function);
        return store.Get(key, nowMs, sink) == StoreStatus.Ok ? sink.Result : missing;
    }

    /// <summary>
    /// A copy of the value zero-padded to at least <paramref name="minLength"/> bytes, made in one copy however much it
    /// grows, with its length before padding and its expiry; null when the key is absent or expired.
    /// </summary>
    public static (byte[] Value, int StoredLength, long ExpireUnixMs)? ReadPadded(IStringStore store, ReadOnlySpan<byte> key, long nowMs, int minLength) =>
        Read(store, key, nowMs, minLength, null, static (value, expireUnixMs, minLength) =>
        {
            var copy = LargeBuffers.New(Math.Max(value.Length, minLength));
            value.CopyTo(copy);
            return ((byte[] Value, int StoredLength, long ExpireUnixMs)?)(copy, value.Length, expireUnixMs);
        });

    private sealed class Sink<TState, TResult>(TState state, Function<TState, TResult> function) : IValueSink
    {
        public TResult Result { get; private set; } = default!;

        public void Accept(ReadOnlySpan<byte> value, long expireUnixMs) => Result = function(value, expireUnixMs, state);
    }
}
