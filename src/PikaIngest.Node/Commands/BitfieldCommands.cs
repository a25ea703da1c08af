using PikaIngest.Node.Memory;
using PikaIngest.Node.Resp;

namespace PikaIngest.Node.Commands;

/// <summary>
/// BITFIELD and BITFIELD_RO as redis-server 7.0.15's bitfieldGeneric: every operation is parsed (and any error
/// replied) before the key is touched; the reply has one entry per GET/SET/INCRBY, nil for a FAIL overflow. A write
/// pads the value to the farthest bit any SET or INCRBY reaches (creating the key) even if every one then fails, as
/// Redis does, and is logged as the SET of the whole value, like SETBIT.
/// </summary>
internal static class BitfieldCommands
{
    private enum Operation
    {
        Get,
        Set,
        IncrBy,
    }

    private readonly record struct FieldOperation(Operation Kind, bool Signed, int Bits, long Offset, long Argument, BitfieldOverflow Overflow);

    public static Task? Bitfield(ref CommandContext context) => Run(ref context, readOnlyCommand: false);

    public static Task? BitfieldReadOnly(ref CommandContext context) => Run(ref context, readOnlyCommand: true);

    private static Task? Run(ref CommandContext context, bool readOnlyCommand)
    {
        if (!TryParse(ref context, out var operations, out var highestWriteBit, out var error))
        {
            context.Reply.WriteError(error!);
            return null;
        }

        if (highestWriteBit < 0)
        {
            var found = ValueReader.Read(context.Node.Store, context.Arg(1), context.NowMs, (Reply: context.Reply, Operations: operations), false, static (value, _, state) =>
            {
                WriteResults(state.Reply, state.Operations, value, []);
                return true;
            });
            if (!found)
            {
                WriteResults(context.Reply, operations, [], []);
            }

            return null;
        }

        if (readOnlyCommand)
        {
            context.Reply.WriteError(RespErrors.BitfieldReadOnly);
            return null;
        }

        var length = (highestWriteBit >> 3) + 1;
        if (context.RefusedForMemory(length))
        {
            return null;
        }

        var key = context.Arg(1);
        var store = context.Node.Store;
        var gate = context.Node.Gate;
        using (gate.Enter())
        {
            var now = context.NowMs;
            var found = ValueReader.ReadPadded(store, key, now, (int)length);
            var (value, storedLength, expireMs) = found ?? (LargeBuffers.New((int)length), 0, 0);
            var changes = WriteResults(context.Reply, operations, value, value);
            if (found is null || length > storedLength || changes > 0)
            {
                StringCommands.PutAndLogSet(gate, store, key, value, expireMs, now);
            }
        }

        return null;
    }

    /// <summary>
    /// Replies each operation's result, applying SET and INCRBY to <paramref name="writable"/> (the value itself, padded
    /// past every written field; empty when there are only GETs); returns the writes made.
    /// </summary>
    private static int WriteResults(RespWriter reply, List<FieldOperation> operations, ReadOnlySpan<byte> value, Span<byte> writable)
    {
        reply.WriteArrayHeader(operations.Count);
        var changes = 0;
        // Redis reads a GET's field from a zero-padded copy of the up to 9 bytes it spans, so past the end reads zeros.
        Span<byte> window = stackalloc byte[9];
        foreach (var op in operations)
        {
            if (op.Kind == Operation.Get)
            {
                var first = op.Offset >> 3;
                window.Clear();
                if (first < value.Length)
                {
                    var available = value[(int)first..];
                    available[..Math.Min(9, available.Length)].CopyTo(window);
                }

                var inWindow = op.Offset - (first * 8);
                reply.WriteInteger(op.Signed ? Bitfields.GetSigned(window, inWindow, op.Bits) : (long)Bitfields.GetUnsigned(window, inWindow, op.Bits));
                continue;
            }

            var bytes = writable;
            if (op.Signed)
            {
                var old = Bitfields.GetSigned(bytes, op.Offset, op.Bits);
                long wrapped = 0;
                bool overflowed;
                long stored;
                long result;
                if (op.Kind == Operation.IncrBy)
                {
                    overflowed = Bitfields.SignedOverflows(old, op.Argument, op.Bits, op.Overflow, ref wrapped);
                    stored = result = overflowed ? wrapped : unchecked(old + op.Argument);
                }
                else
                {
                    overflowed = Bitfields.SignedOverflows(op.Argument, 0, op.Bits, op.Overflow, ref wrapped);
                    stored = overflowed ? wrapped : op.Argument;
                    result = old;
                }

                changes += Store(reply, bytes, op, overflowed, (ulong)stored, result);
            }
            else
            {
                var old = Bitfields.GetUnsigned(bytes, op.Offset, op.Bits);
                ulong wrapped = 0;
                bool overflowed;
                ulong stored;
                ulong result;
                if (op.Kind == Operation.IncrBy)
                {
                    overflowed = Bitfields.UnsignedOverflows(old, op.Argument, op.Bits, op.Overflow, ref wrapped);
                    stored = result = overflowed ? wrapped : unchecked(old + (ulong)op.Argument);
                }
                else
                {
                    overflowed = Bitfields.UnsignedOverflows((ulong)op.Argument, 0, op.Bits, op.Overflow, ref wrapped);
                    stored = overflowed ? wrapped : (ulong)op.Argument;
                    result = old;
                }

                changes += Store(reply, bytes, op, overflowed, stored, (long)result);
            }
        }

        return changes;
    }

    /// <summary>Stores a SET or INCRBY result and replies it, or replies nil when OVERFLOW FAIL refuses it.</summary>
    private static int Store(RespWriter reply, Span<byte> bytes, FieldOperation op, bool overflowed, ulong stored, long result)
    {
        if (overflowed && op.Overflow == BitfieldOverflow.Fail)
        {
            reply.WriteNullBulk();
            return 0;
        }

        reply.WriteInteger(result);
        Bitfields.Set(bytes, op.Offset, op.Bits, stored);
        return 1;
    }

    private static bool TryParse(ref CommandContext context, out List<FieldOperation> operations, out long highestWriteBit, out string? error)
    {
        operations = [];
        highestWriteBit = -1;
        error = null;
        var overflow = BitfieldOverflow.Wrap;
        for (var j = 2; j < context.Count; j++)
        {
            var remaining = context.Count - j - 1;
            Operation kind;
            if (context.ArgIs(j, "GET"u8) && remaining >= 2)
            {
                kind = Operation.Get;
            }
            else if (context.ArgIs(j, "SET"u8) && remaining >= 3)
            {
                kind = Operation.Set;
            }
            else if (context.ArgIs(j, "INCRBY"u8) && remaining >= 3)
            {
                kind = Operation.IncrBy;
            }
            else if (context.ArgIs(j, "OVERFLOW"u8) && remaining >= 1)
            {
                j++;
                if (context.ArgIs(j, "WRAP"u8))
                {
                    overflow = BitfieldOverflow.Wrap;
                }
                else if (context.ArgIs(j, "SAT"u8))
                {
                    overflow = BitfieldOverflow.Saturate;
                }
                else if (context.ArgIs(j, "FAIL"u8))
                {
                    overflow = BitfieldOverflow.Fail;
                }
                else
                {
                    error = RespErrors.BitfieldInvalidOverflow;
                    return false;
                }

                continue;
            }
            else
            {
                error = RespErrors.Syntax;
                return false;
            }

            if (!TryType(context.Arg(j + 1), out var signed, out var bits))
            {
                error = RespErrors.BitfieldInvalidType;
                return false;
            }

            if (!TryOffset(context.Arg(j + 2), bits, context.Node.Limits.MaxBulkLength, out var offset))
            {
                error = RespErrors.BitOffsetOutOfRange;
                return false;
            }

            long argument = 0;
            if (kind != Operation.Get)
            {
                highestWriteBit = Math.Max(highestWriteBit, offset + bits - 1);
                if (!context.TryArgInt64(j + 3, out argument))
                {
                    error = RespErrors.NotAnInteger;
                    return false;
                }
            }

            operations.Add(new FieldOperation(kind, signed, bits, offset, argument, overflow));
            j += kind == Operation.Get ? 2 : 3;
        }

        return true;
    }

    /// <summary>Redis's getBitfieldTypeFromArgument: i1-i64 or u1-u63, the letter lower-case only (7.0.15 refuses I8, U8).</summary>
    private static bool TryType(ReadOnlySpan<byte> text, out bool signed, out int bits)
    {
        bits = 0;
        signed = text.Length > 0 && text[0] == 'i';
        if (text.IsEmpty || !(signed || text[0] == 'u')
            || !CommandArguments.TryParseInt64(text[1..], out var parsed) || parsed < 1 || parsed > (signed ? 64 : 63))
        {
            return false;
        }

        bits = (int)parsed;
        return true;
    }

    /// <summary>Redis's getBitOffsetFromArgument with #N (N fields of the type's width): 0 up to proto-max-bulk-len bytes' worth of bits.</summary>
    private static bool TryOffset(ReadOnlySpan<byte> text, int bits, long maxBulkLength, out long offset)
    {
        var fields = text.Length > 0 && text[0] == '#';
        if (!CommandArguments.TryParseInt64(fields ? text[1..] : text, out offset))
        {
            return false;
        }

        if (fields)
        {
            // Redis multiplies unchecked; an offset that overflows is out of range either way.
            offset = unchecked(offset * bits);
        }

        return offset >= 0 && (offset >> 3) < maxBulkLength;
    }
}
