using PikaIngest.Node.Memory;
using PikaIngest.Node.Resp;
using PikaIngest.Node.Storage;

namespace PikaIngest.Node.Commands;

/// <summary>GET, SET and the other string commands. Writes log their effect with an absolute expiry, so replay is deterministic.</summary>
internal static class StringCommands
{
    public static Task? Get(ref CommandContext context)
    {
        if (context.Node.Store.Get(context.Arg(1), context.NowMs, context.Session.BulkSink) == StoreStatus.NotFound)
        {
            context.Reply.WriteNullBulk();
        }

        return null;
    }

    public static Task? MGet(ref CommandContext context)
    {
        context.Reply.WriteArrayHeader(context.Count - 1);
        for (var i = 1; i < context.Count; i++)
        {
            if (context.Node.Store.Get(context.Arg(i), context.NowMs, context.Session.BulkSink) == StoreStatus.NotFound)
            {
                context.Reply.WriteNullBulk();
            }
        }

        return null;
    }

    public static Task? StrLen(ref CommandContext context)
    {
        var status = context.Node.Store.Read(context.Arg(1), context.NowMs, out var stored);
        context.Reply.WriteInteger(status == StoreStatus.Ok ? stored.Value.Length : 0);
        return null;
    }

    [Flags]
    private enum SetOptions
    {
        None = 0,
        Nx = 1,
        Xx = 2,
        Get = 4,
        KeepTtl = 8,
        Ex = 16,
        Px = 32,
        ExAt = 64,
        PxAt = 128,
        Persist = 256,
        Expire = Ex | Px | ExAt | PxAt,
    }

    public static Task? Set(ref CommandContext context)
    {
        if (!TryParseOptions(ref context, 3, forGetEx: false, out var options, out var expireArgument)
            || !TryOptionExpiry(ref context, options, expireArgument, "set", out var expireMs))
        {
            return null;
        }

        return Write(ref context, context.Arg(1), context.Arg(2), expireMs, options);
    }

    /// <summary>
    /// SET's and GETEX's options as Redis 7.0's parseExtendedStringArgumentsOrReply reads them: an option may repeat
    /// (<c>EX 10 EX 20</c>: the last wins), but two expiry kinds, or an expiry with KEEPTTL or PERSIST, are a syntax error.
    /// </summary>
    private static bool TryParseOptions(ref CommandContext context, int from, bool forGetEx, out SetOptions options, out int expireArgument)
    {
        options = SetOptions.None;
        expireArgument = -1;
        for (var i = from; i < context.Count; i++)
        {
            var more = i + 1 < context.Count;
            var expiry = ExpiryOption(ref context, i);
            if (!forGetEx && context.ArgIs(i, "NX"u8) && (options & SetOptions.Xx) == 0)
            {
                options |= SetOptions.Nx;
            }
            else if (!forGetEx && context.ArgIs(i, "XX"u8) && (options & SetOptions.Nx) == 0)
            {
                options |= SetOptions.Xx;
            }
            else if (!forGetEx && context.ArgIs(i, "GET"u8))
            {
                options |= SetOptions.Get;
            }
            else if (!forGetEx && context.ArgIs(i, "KEEPTTL"u8) && (options & SetOptions.Expire) == 0)
            {
                options |= SetOptions.KeepTtl;
            }
            else if (forGetEx && context.ArgIs(i, "PERSIST"u8) && (options & SetOptions.Expire) == 0)
            {
                options |= SetOptions.Persist;
            }
            else if (expiry != SetOptions.None && more
                && (options & (SetOptions.KeepTtl | SetOptions.Persist | (SetOptions.Expire & ~expiry))) == 0)
            {
                options |= expiry;
                expireArgument = ++i;
            }
            else
            {
                context.Reply.WriteError(RespErrors.Syntax);
                return false;
            }
        }

        return true;
    }

    private static SetOptions ExpiryOption(ref CommandContext context, int argument) =>
        context.ArgIs(argument, "EX"u8) ? SetOptions.Ex
        : context.ArgIs(argument, "PX"u8) ? SetOptions.Px
        : context.ArgIs(argument, "EXAT"u8) ? SetOptions.ExAt
        : context.ArgIs(argument, "PXAT"u8) ? SetOptions.PxAt
        : SetOptions.None;

    /// <summary>The absolute expiry the parsed options ask for (0: none), or false with the error written.</summary>
    private static bool TryOptionExpiry(ref CommandContext context, SetOptions options, int expireArgument, string command, out long expireMs)
    {
        expireMs = 0;
        if ((options & SetOptions.Expire) == 0)
        {
            return true;
        }

        var unitMs = (options & (SetOptions.Ex | SetOptions.ExAt)) != 0 ? 1000 : 1;
        var absolute = (options & (SetOptions.ExAt | SetOptions.PxAt)) != 0;
        return TryExpireTime(ref context, expireArgument, unitMs, absolute, command, out expireMs);
    }

    private static Task? Write(ref CommandContext context, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, long expireMs, SetOptions options)
    {
        var store = context.Node.Store;
        var gate = context.Node.Gate;
        using (gate.Enter())
        {
            var now = context.NowMs;
            StoredString existing = default;
            var exists = (options & (SetOptions.Nx | SetOptions.Xx | SetOptions.Get | SetOptions.KeepTtl)) != 0
                && gate.Read(key, now, out existing) == StoreStatus.Ok;
            if ((options & SetOptions.Get) != 0)
            {
                if (exists)
                {
                    context.Reply.WriteBulk(existing.Value);
                }
                else
                {
                    context.Reply.WriteNullBulk();
                }
            }

            if (((options & SetOptions.Nx) != 0 && exists) || ((options & SetOptions.Xx) != 0 && !exists))
            {
                if ((options & SetOptions.Get) == 0)
                {
                    context.Reply.WriteNullBulk();
                }

                return null;
            }

            if ((options & SetOptions.KeepTtl) != 0 && exists)
            {
                expireMs = existing.ExpireUnixMs;
            }

            PutAndLogSet(gate, store, key, value, expireMs, now);
        }

        if ((options & SetOptions.Get) == 0)
        {
            context.Reply.WriteOk();
        }

        return null;
    }

    /// <summary>Stores a whole value and logs it as <see cref="LogSet"/> does, so no such write reaches the store without its binlog item.</summary>
    internal static void PutAndLogSet(WriteGate gate, IStringStore store, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, long expireMs, long nowMs)
    {
        store.Put(key, value, expireMs, nowMs);
        LogSet(gate, key, value, expireMs);
    }

    /// <summary>Logs <c>SET key value [PXAT ms]</c>: the state a write left, independent of when it is replayed.</summary>
    /// <remarks>The value is framed into the binlog from where it lies: a 512 MiB value is not first copied into the command.</remarks>
    internal static void LogSet(WriteGate gate, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, long expireMs)
    {
        var log = gate.BeginCommand(expireMs == 0 ? 3 : 5);
        log.WriteBulk("SET"u8);
        log.WriteBulk(key);
        log.WriteBulkHeader(value.Length);
        // CR LF ending the value, then PXAT and the time as bulks: at most 2 + 10 + 24 bytes.
        Span<byte> tail = stackalloc byte[40];
        "\r\n"u8.CopyTo(tail);
        var length = 2;
        if (expireMs != 0)
        {
            Span<byte> digits = stackalloc byte[20];
            expireMs.TryFormat(digits, out var count, provider: System.Globalization.CultureInfo.InvariantCulture);
            "$4\r\nPXAT\r\n$"u8.CopyTo(tail[length..]);
            length += 11;
            count.TryFormat(tail[length..], out var countLength, provider: System.Globalization.CultureInfo.InvariantCulture);
            length += countLength;
            "\r\n"u8.CopyTo(tail[length..]);
            digits[..count].CopyTo(tail[(length + 2)..]);
            length += 2 + count;
            "\r\n"u8.CopyTo(tail[length..]);
            length += 2;
        }

        gate.CommitCommand(value, tail[..length]);
    }

    public static Task? SetNx(ref CommandContext context)
    {
        var key = context.Arg(1);
        var store = context.Node.Store;
        var gate = context.Node.Gate;
        using (gate.Enter())
        {
            var now = context.NowMs;
            if (store.Read(key, now, out _) == StoreStatus.Ok)
            {
                context.Reply.WriteInteger(0);
                return null;
            }

            PutAndLogSet(gate, store, key, context.Arg(2), 0, now);
        }

        context.Reply.WriteInteger(1);
        return null;
    }

    public static Task? SetEx(ref CommandContext context) => SetWithTtl(ref context, 1000, "setex");

    public static Task? PSetEx(ref CommandContext context) => SetWithTtl(ref context, 1, "psetex");

    private static Task? SetWithTtl(ref CommandContext context, long unitMs, string name)
    {
        if (!TryExpireTime(ref context, 2, unitMs, absolute: false, name, out var expireMs))
        {
            return null;
        }

        return Write(ref context, context.Arg(1), context.Arg(3), expireMs, SetOptions.None);
    }

    /// <summary>Reads an expire argument as Redis does: an integer, positive, and not overflowing once made absolute in ms.</summary>
    internal static bool TryExpireTime(ref CommandContext context, int argument, long unitMs, bool absolute, string command, out long expireMs)
    {
        expireMs = 0;
        if (!context.TryArgInt64(argument, out var amount))
        {
            context.Reply.WriteError(RespErrors.NotAnInteger);
            return false;
        }

        if (amount <= 0 || (unitMs == 1000 && amount > long.MaxValue / 1000))
        {
            context.Reply.WriteError(RespErrors.InvalidExpireTime(command));
            return false;
        }

        expireMs = amount * unitMs;
        if (!absolute)
        {
            var now = context.NowMs;
            if (expireMs > long.MaxValue - now)
            {
                context.Reply.WriteError(RespErrors.InvalidExpireTime(command));
                return false;
            }

            expireMs += now;
        }

        return true;
    }

    public static Task? MSet(ref CommandContext context) => SetPairs(ref context, "mset", onlyIfNoneExists: false);

    public static Task? MSetNx(ref CommandContext context) => SetPairs(ref context, "msetnx", onlyIfNoneExists: true);

    /// <summary>MSET and MSETNX (which writes nothing if any key exists): both logged as the MSET of their pairs.</summary>
    private static Task? SetPairs(ref CommandContext context, string command, bool onlyIfNoneExists)
    {
        if (context.Count % 2 == 0)
        {
            context.Reply.WriteError(RespErrors.WrongNumberOfArguments(command));
            return null;
        }

        var writes = new StringWrite[(context.Count - 1) / 2];
        for (var i = 0; i < writes.Length; i++)
        {
            writes[i] = new StringWrite(context.Arg(1 + (2 * i)).ToArray(), context.Arg(2 + (2 * i)).ToArray(), 0);
        }

        var store = context.Node.Store;
        var gate = context.Node.Gate;
        using (gate.Enter())
        {
            var now = context.NowMs;
            if (onlyIfNoneExists && writes.Any(write => store.Exists(write.Key, now) == StoreStatus.Ok))
            {
                context.Reply.WriteInteger(0);
                return null;
            }

            store.PutMany(writes, now);
            var log = gate.BeginCommand(context.Count);
            log.WriteBulk("MSET"u8);
            foreach (var write in writes)
            {
                log.WriteBulk(write.Key);
                log.WriteBulk(write.Value);
            }

            gate.CommitCommand();
        }

        if (onlyIfNoneExists)
        {
            context.Reply.WriteInteger(1);
        }
        else
        {
            context.Reply.WriteOk();
        }

        return null;
    }

    /// <summary>GETSET: SET … GET under its old name (the TTL is cleared, as by SET).</summary>
    public static Task? GetSet(ref CommandContext context) => Write(ref context, context.Arg(1), context.Arg(2), 0, SetOptions.Get);

    public static Task? GetDel(ref CommandContext context)
    {
        var key = context.Arg(1);
        var store = context.Node.Store;
        var gate = context.Node.Gate;
        using (gate.Enter())
        {
            var now = context.NowMs;
            if (store.Read(key, now, out var existing) != StoreStatus.Ok)
            {
                context.Reply.WriteNullBulk();
                return null;
            }

            store.Delete(key, now);
            KeyCommands.LogDel(gate, key);
            context.Reply.WriteBulk(existing.Value);
        }

        return null;
    }

    /// <summary>
    /// GETEX key [EX|PX|EXAT|PXAT t | PERSIST]: the value, and the expiry changed as asked. Logged as Redis propagates it:
    /// PEXPIREAT with the absolute time, PERSIST, or DEL when the time asked for has already passed.
    /// </summary>
    public static Task? GetEx(ref CommandContext context)
    {
        if (!TryParseOptions(ref context, 2, forGetEx: true, out var options, out var expireArgument))
        {
            return null;
        }

        var key = context.Arg(1);
        var store = context.Node.Store;
        var gate = context.Node.Gate;
        using (gate.Enter())
        {
            var now = context.NowMs;
            if (store.Read(key, now, out var existing) != StoreStatus.Ok)
            {
                context.Reply.WriteNullBulk();
                return null;
            }

            // As in Redis, the time is checked only once the key is found: GETEX of a missing key with EX 0 is nil.
            if (!TryOptionExpiry(ref context, options, expireArgument, "getex", out var expireMs))
            {
                return null;
            }

            context.Reply.WriteBulk(existing.Value);
            if ((options & SetOptions.Expire) != 0 && expireMs <= now)
            {
                store.Delete(key, now);
                KeyCommands.LogDel(gate, key);
            }
            else if ((options & SetOptions.Expire) != 0)
            {
                store.Put(key, existing.Value, expireMs, now);
                KeyCommands.LogPExpireAt(gate, key, expireMs);
            }
            else if ((options & SetOptions.Persist) != 0 && existing.ExpireUnixMs != 0)
            {
                store.Put(key, existing.Value, 0, now);
                KeyCommands.LogPersist(gate, key);
            }
        }

        return null;
    }

    public static Task? Incr(ref CommandContext context) => AddTo(ref context, 1);

    public static Task? Decr(ref CommandContext context) => AddTo(ref context, -1);

    public static Task? IncrBy(ref CommandContext context)
    {
        if (!context.TryArgInt64(2, out var increment))
        {
            context.Reply.WriteError(RespErrors.NotAnInteger);
            return null;
        }

        return AddTo(ref context, increment);
    }

    public static Task? DecrBy(ref CommandContext context)
    {
        if (!context.TryArgInt64(2, out var decrement))
        {
            context.Reply.WriteError(RespErrors.NotAnInteger);
            return null;
        }

        if (decrement == long.MinValue)
        {
            context.Reply.WriteError(RespErrors.DecrementOverflow);
            return null;
        }

        return AddTo(ref context, -decrement);
    }

    private static Task? AddTo(ref CommandContext context, long increment)
    {
        var key = context.Arg(1);
        var store = context.Node.Store;
        var gate = context.Node.Gate;
        long result;
        using (gate.Enter())
        {
            var now = context.NowMs;
            long current = 0;
            long expireMs = 0;
            if (store.Read(key, now, out var existing) == StoreStatus.Ok)
            {
                if (!CommandArguments.TryParseInt64(existing.Value, out current))
                {
                    context.Reply.WriteError(RespErrors.NotAnInteger);
                    return null;
                }

                expireMs = existing.ExpireUnixMs;
            }

            if ((increment < 0 && current < long.MinValue - increment) || (increment > 0 && current > long.MaxValue - increment))
            {
                context.Reply.WriteError(RespErrors.IncrementOverflow);
                return null;
            }

            result = current + increment;
            Span<byte> text = stackalloc byte[20];
            result.TryFormat(text, out var length, provider: System.Globalization.CultureInfo.InvariantCulture);
            PutAndLogSet(gate, store, key, text[..length], expireMs, now);
        }

        context.Reply.WriteInteger(result);
        return null;
    }

    public static Task? Append(ref CommandContext context)
    {
        var key = context.Arg(1);
        var suffix = context.Arg(2);
        var store = context.Node.Store;
        var gate = context.Node.Gate;
        long length;
        using (gate.Enter())
        {
            var now = context.NowMs;
            var exists = store.Read(key, now, out var existing) == StoreStatus.Ok;
            var current = exists ? existing.Value : [];
            if ((long)current.Length + suffix.Length > context.Node.Limits.MaxBulkLength)
            {
                context.Reply.WriteError(RespErrors.StringTooLong);
                return null;
            }

            if (context.RefusedForMemory(current.Length + suffix.Length))
            {
                return null;
            }

            var combined = LargeBuffers.New(current.Length + suffix.Length);
            current.CopyTo(combined, 0);
            suffix.CopyTo(combined.AsSpan(current.Length));
            var expireMs = exists ? existing.ExpireUnixMs : 0;
            // Logged as the SET of the result, like every write: replaying an item twice (a slave resuming from
            // its last recorded position) must not append twice.
            PutAndLogSet(gate, store, key, combined, expireMs, now);
            length = combined.Length;
        }

        context.Reply.WriteInteger(length);
        return null;
    }

    public static Task? SetRange(ref CommandContext context)
    {
        if (!context.TryArgInt64(2, out var offset))
        {
            context.Reply.WriteError(RespErrors.NotAnInteger);
            return null;
        }

        if (offset < 0)
        {
            context.Reply.WriteError(RespErrors.OffsetOutOfRange);
            return null;
        }

        var key = context.Arg(1);
        var patch = context.Arg(3);
        var store = context.Node.Store;
        // As Redis: writing nothing changes nothing, not even creating the key, and is not checked against the limit.
        if (patch.IsEmpty)
        {
            context.Reply.WriteInteger(ValueReader.Read(store, key, context.NowMs, 0, 0, static (value, _, _) => value.Length));
            return null;
        }

        if ((ulong)offset + (ulong)patch.Length > (ulong)context.Node.Limits.MaxBulkLength)
        {
            context.Reply.WriteError(RespErrors.StringTooLong);
            return null;
        }

        var end = (int)offset + patch.Length;
        if (context.RefusedForMemory(end))
        {
            return null;
        }

        var gate = context.Node.Gate;
        long length;
        using (gate.Enter())
        {
            var now = context.NowMs;
            var (value, _, expireMs) = ValueReader.ReadPadded(store, key, now, end) ?? (LargeBuffers.New(end), 0, 0);
            patch.CopyTo(value.AsSpan((int)offset));
            PutAndLogSet(gate, store, key, value, expireMs, now);
            length = value.Length;
        }

        context.Reply.WriteInteger(length);
        return null;
    }

    /// <summary>GETRANGE and SUBSTR: the slice is copied from the storage engine's buffer straight into the reply.</summary>
    public static Task? GetRange(ref CommandContext context)
    {
        if (!context.TryArgInt64(2, out var start) || !context.TryArgInt64(3, out var end))
        {
            context.Reply.WriteError(RespErrors.NotAnInteger);
            return null;
        }

        var found = ValueReader.Read(context.Node.Store, context.Arg(1), context.NowMs, (context.Reply, Start: start, End: end), false, static (value, _, request) =>
        {
            var (offset, count) = Bitmaps.Substring(value.Length, request.Start, request.End);
            request.Reply.WriteBulk(value.Slice(offset, count));
            return true;
        });
        if (!found)
        {
            context.Reply.WriteBulk([]);
        }

        return null;
    }

    /// <summary>
    /// INCRBYFLOAT in Redis's long double arithmetic (see <see cref="LongDouble"/>), so the stored text is byte for
    /// byte redis-server's. The key keeps its TTL; the text is logged, so a replica never redoes the arithmetic.
    /// </summary>
    public static Task? IncrByFloat(ref CommandContext context)
    {
        // Redis reads the stored value first, but both failures give the same error, so the order is not visible.
        if (!LongDouble.TryParse(context.Arg(2), out var increment))
        {
            context.Reply.WriteError(RespErrors.NotAValidFloat);
            return null;
        }

        var key = context.Arg(1);
        var store = context.Node.Store;
        var gate = context.Node.Gate;
        byte[] text;
        using (gate.Enter())
        {
            var now = context.NowMs;
            var current = ValueReader.Read(store, key, now, 0, (Valid: true, Value: LongDouble.Zero, ExpireMs: 0L), static (value, expireMs, _) =>
                (Valid: LongDouble.TryParse(value, out var parsed), Value: parsed, ExpireMs: expireMs));
            if (!current.Valid)
            {
                context.Reply.WriteError(RespErrors.NotAValidFloat);
                return null;
            }

            if (LongDouble.Add(current.Value, increment) is not { IsInfinity: false } sum)
            {
                context.Reply.WriteError(RespErrors.NaNOrInfinity);
                return null;
            }

            text = sum.FormatHuman();
            PutAndLogSet(gate, store, key, text, current.ExpireMs, now);
        }

        context.Reply.WriteBulk(text);
        return null;
    }
}
