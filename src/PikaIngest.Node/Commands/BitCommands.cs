using System.Numerics;
using System.Runtime.InteropServices;
using PikaIngest.Node.Memory;
using PikaIngest.Node.Resp;
using PikaIngest.Node.Storage;

namespace PikaIngest.Node.Commands;

/// <summary>
/// SETBIT, GETBIT, BITCOUNT, BITPOS and BITOP over string values, as redis-server 7.0.15 answers them. Writes log
/// the SET of the resulting value (or the DEL of an emptied BITOP destination), so a replica replaying an item
/// twice ends in the same state.
/// </summary>
internal static class BitCommands
{
    public static Task? SetBit(ref CommandContext context)
    {
        if (!TryBitOffset(ref context, out var offset))
        {
            return null;
        }

        if (!context.TryArgInt64(3, out var on) || (on & ~1L) != 0)
        {
            context.Reply.WriteError(RespErrors.BitValueOutOfRange);
            return null;
        }

        if (context.RefusedForMemory((offset >> 3) + 1))
        {
            return null;
        }

        var key = context.Arg(1);
        var store = context.Node.Store;
        var gate = context.Node.Gate;
        int previous;
        using (gate.Enter())
        {
            var now = context.NowMs;
            var index = (int)(offset >> 3);
            var found = ValueReader.ReadPadded(store, key, now, index + 1);
            var (value, storedLength, expireMs) = found ?? (LargeBuffers.New(index + 1), 0, 0);
            var grown = found is null || index >= storedLength;
            var shift = 7 - (int)(offset & 7);
            previous = (value[index] >> shift) & 1;
            // As Redis: a write only when the key is created or grown, or the bit changes.
            if (grown || previous != on)
            {
                value[index] = (byte)((value[index] & ~(1 << shift)) | ((int)on << shift));
                StringCommands.PutAndLogSet(gate, store, key, value, expireMs, now);
            }
        }

        context.Reply.WriteInteger(previous);
        return null;
    }

    public static Task? GetBit(ref CommandContext context)
    {
        if (!TryBitOffset(ref context, out var offset))
        {
            return null;
        }

        var bit = ValueReader.Read(context.Node.Store, context.Arg(1), context.NowMs, offset, 0, static (value, _, offset) =>
            (offset >> 3) < value.Length ? (value[(int)(offset >> 3)] >> (7 - (int)(offset & 7))) & 1 : 0);
        context.Reply.WriteInteger(bit);
        return null;
    }

    /// <summary>Redis's getBitOffsetFromArgument: an integer from 0 to below proto-max-bulk-len bytes' worth of bits.</summary>
    private static bool TryBitOffset(ref CommandContext context, out long offset)
    {
        if (!context.TryArgInt64(2, out offset) || offset < 0 || (offset >> 3) >= context.Node.Limits.MaxBulkLength)
        {
            context.Reply.WriteError(RespErrors.BitOffsetOutOfRange);
            return false;
        }

        return true;
    }

    public static Task? BitCount(ref CommandContext context)
    {
        string? error = null;
        long start = 0;
        long end = 0;
        var isBit = false;
        if (context.Count is 4 or 5)
        {
            if (!context.TryArgInt64(2, out start) || !context.TryArgInt64(3, out end))
            {
                error = RespErrors.NotAnInteger;
            }
            else if (context.Count == 5 && !(start < 0 && end < 0 && start > end) && !TryUnit(ref context, 4, out isBit))
            {
                // Redis answers an empty negative range before it looks at the unit.
                error = RespErrors.Syntax;
            }
        }
        else if (context.Count != 2)
        {
            error = RespErrors.Syntax;
        }

        return ReplyCount(ref context, error, (Whole: context.Count == 2, start, end, isBit));
    }

    private static Task? ReplyCount(ref CommandContext context, string? error, (bool Whole, long Start, long End, bool IsBit) range)
    {
        var store = context.Node.Store;
        // Redis 7.0 looks the key up before it reads the range: a missing key answers 0 whatever the arguments.
        if (error is not null)
        {
            if (store.Exists(context.Arg(1), context.NowMs) == StoreStatus.Ok)
            {
                context.Reply.WriteError(error);
            }
            else
            {
                context.Reply.WriteInteger(0);
            }

            return null;
        }

        var count = ValueReader.Read(store, context.Arg(1), context.NowMs, range, 0L, static (value, _, range) =>
            range.Whole ? Bitmaps.PopCount(value) : Bitmaps.Count(value, range.Start, range.End, range.IsBit));
        context.Reply.WriteInteger(count);
        return null;
    }

    public static Task? BitPos(ref CommandContext context)
    {
        if (!context.TryArgInt64(2, out var bit))
        {
            context.Reply.WriteError(RespErrors.NotAnInteger);
            return null;
        }

        if (bit is not (0 or 1))
        {
            context.Reply.WriteError(RespErrors.BitArgumentNotBinary);
            return null;
        }

        // Read in Redis's order (start, unit, end); the errors are only reported for a key that exists.
        string? error = null;
        long? start = null;
        long? end = null;
        long to = 0;
        var isBit = false;
        if (context.Count is >= 4 and <= 6)
        {
            if (!context.TryArgInt64(3, out var from))
            {
                error = RespErrors.NotAnInteger;
            }
            else if (context.Count == 6 && !TryUnit(ref context, 5, out isBit))
            {
                error = RespErrors.Syntax;
            }
            else if (context.Count >= 5 && !context.TryArgInt64(4, out to))
            {
                error = RespErrors.NotAnInteger;
            }
            else
            {
                start = from;
                end = context.Count >= 5 ? to : null;
            }
        }
        else if (context.Count != 3)
        {
            error = RespErrors.Syntax;
        }

        var store = context.Node.Store;
        var key = context.Arg(1);
        if (error is not null && store.Exists(key, context.NowMs) == StoreStatus.Ok)
        {
            context.Reply.WriteError(error);
            return null;
        }

        // A missing key is an endless run of zeros.
        var missing = bit == 1 ? -1L : 0L;
        var position = error is not null
            ? missing
            : ValueReader.Read(store, key, context.NowMs, (Bit: (int)bit, Start: start, End: end, IsBit: isBit), missing, static (value, _, request) =>
                Bitmaps.Position(value, request.Bit, request.Start, request.End, request.IsBit));
        context.Reply.WriteInteger(position);
        return null;
    }

    private static bool TryUnit(ref CommandContext context, int argument, out bool isBit)
    {
        isBit = context.ArgIs(argument, "BIT"u8);
        return isBit || context.ArgIs(argument, "BYTE"u8);
    }

    private enum BitOperation
    {
        And,
        Or,
        Xor,
        Not,
    }

    public static Task? BitOp(ref CommandContext context)
    {
        BitOperation operation;
        if (context.ArgIs(1, "AND"u8))
        {
            operation = BitOperation.And;
        }
        else if (context.ArgIs(1, "OR"u8))
        {
            operation = BitOperation.Or;
        }
        else if (context.ArgIs(1, "XOR"u8))
        {
            operation = BitOperation.Xor;
        }
        else if (context.ArgIs(1, "NOT"u8))
        {
            operation = BitOperation.Not;
        }
        else
        {
            context.Reply.WriteError(RespErrors.Syntax);
            return null;
        }

        if (operation == BitOperation.Not && context.Count != 4)
        {
            context.Reply.WriteError(RespErrors.BitopNotSingleSource);
            return null;
        }

        var destination = context.Arg(2);
        var store = context.Node.Store;
        var gate = context.Node.Gate;
        int length;
        using (gate.Enter())
        {
            var now = context.NowMs;
            var sources = new byte[context.Count - 3][];
            for (var i = 0; i < sources.Length; i++)
            {
                sources[i] = store.Read(context.Arg(3 + i), now, out var source) == StoreStatus.Ok ? source.Value : [];
            }

            var result = Combine(operation, sources);
            length = result.Length;
            if (length == 0)
            {
                if (store.Delete(destination, now) == StoreStatus.Ok)
                {
                    KeyCommands.LogDel(gate, destination);
                }
            }
            else
            {
                // As Redis's setKey: the destination is replaced, its TTL with it.
                StringCommands.PutAndLogSet(gate, store, destination, result, 0, now);
            }
        }

        context.Reply.WriteInteger(length);
        return null;
    }

    /// <summary>
    /// The operation over the sources, the shorter ones read as zero-padded to the longest. The sources are this
    /// command's own copies, so the first one becomes the result when it is the longest.
    /// </summary>
    private static byte[] Combine(BitOperation operation, byte[][] sources)
    {
        var longest = 0;
        foreach (var source in sources)
        {
            longest = Math.Max(longest, source.Length);
        }

        var result = sources[0];
        if (result.Length < longest)
        {
            result = LargeBuffers.New(longest);
            sources[0].CopyTo(result, 0);
        }

        if (operation == BitOperation.Not)
        {
            Apply(result, result, operation);
            return result;
        }

        for (var i = 1; i < sources.Length; i++)
        {
            Apply(result, sources[i], operation);
            if (operation == BitOperation.And)
            {
                // AND with the zero padding past a shorter source.
                result.AsSpan(Math.Min(sources[i].Length, result.Length)).Clear();
            }
        }

        return result;
    }

    /// <summary>result[i] = result[i] op source[i] over the source's length (NOT: result[i] = ~source[i]), a vector at a time.</summary>
    private static void Apply(Span<byte> result, ReadOnlySpan<byte> source, BitOperation operation)
    {
        var target = MemoryMarshal.Cast<byte, Vector<byte>>(result[..source.Length]);
        var vectors = MemoryMarshal.Cast<byte, Vector<byte>>(source);
        for (var i = 0; i < vectors.Length; i++)
        {
            target[i] = operation switch
            {
                BitOperation.And => target[i] & vectors[i],
                BitOperation.Or => target[i] | vectors[i],
                BitOperation.Xor => target[i] ^ vectors[i],
                _ => ~vectors[i],
            };
        }

        for (var i = vectors.Length * Vector<byte>.Count; i < source.Length; i++)
        {
            result[i] = operation switch
            {
                BitOperation.And => (byte)(result[i] & source[i]),
                BitOperation.Or => (byte)(result[i] | source[i]),
                BitOperation.Xor => (byte)(result[i] ^ source[i]),
                _ => (byte)~source[i],
            };
        }
    }
}
