using System.Text;
using PikaIngest.Node.Resp;
using PikaIngest.Node.Storage;

namespace PikaIngest.Node.Commands;

/// <summary>Commands on keys whatever they hold: DEL, EXISTS, the EXPIRE family, TTL, TYPE, SCAN, KEYS, DBSIZE.</summary>
internal static class KeyCommands
{
    public static Task? Del(ref CommandContext context)
    {
        var store = context.Node.Store;
        var gate = context.Node.Gate;
        var removed = 0;
        using (gate.Enter())
        {
            var now = context.NowMs;
            for (var i = 1; i < context.Count; i++)
            {
                if (store.Delete(context.Arg(i), now) == StoreStatus.Ok)
                {
                    removed++;
                }
            }

            var log = gate.BeginCommand(context.Count);
            log.WriteBulk("DEL"u8);
            for (var i = 1; i < context.Count; i++)
            {
                log.WriteBulk(context.Arg(i));
            }

            gate.CommitCommand();
        }

        context.Reply.WriteInteger(removed);
        return null;
    }

    public static Task? Exists(ref CommandContext context)
    {
        var found = 0;
        for (var i = 1; i < context.Count; i++)
        {
            if (context.Node.Store.Exists(context.Arg(i), context.NowMs) == StoreStatus.Ok)
            {
                found++;
            }
        }

        context.Reply.WriteInteger(found);
        return null;
    }

    public static Task? Expire(ref CommandContext context) => SetExpire(ref context, 1000, absolute: false, "expire");

    public static Task? PExpire(ref CommandContext context) => SetExpire(ref context, 1, absolute: false, "pexpire");

    public static Task? ExpireAt(ref CommandContext context) => SetExpire(ref context, 1000, absolute: true, "expireat");

    public static Task? PExpireAt(ref CommandContext context) => SetExpire(ref context, 1, absolute: true, "pexpireat");

    [Flags]
    private enum ExpireCondition
    {
        None = 0,
        Nx = 1,
        Xx = 2,
        Gt = 4,
        Lt = 8,
    }

    /// <summary>
    /// Redis 7's EXPIRE family with NX/XX/GT/LT. The new expiry is stored as absolute milliseconds
    /// and logged as PEXPIREAT, so a slave replaying later sets the same instant.
    /// </summary>
    private static Task? SetExpire(ref CommandContext context, long unitMs, bool absolute, string command)
    {
        var condition = ExpireCondition.None;
        for (var i = 3; i < context.Count; i++)
        {
            if (context.ArgIs(i, "NX"u8))
            {
                condition |= ExpireCondition.Nx;
            }
            else if (context.ArgIs(i, "XX"u8))
            {
                condition |= ExpireCondition.Xx;
            }
            else if (context.ArgIs(i, "GT"u8))
            {
                condition |= ExpireCondition.Gt;
            }
            else if (context.ArgIs(i, "LT"u8))
            {
                condition |= ExpireCondition.Lt;
            }
            else
            {
                context.Reply.WriteError(RespErrors.UnsupportedOption(Encoding.UTF8.GetString(context.Arg(i))));
                return null;
            }
        }

        if ((condition & ExpireCondition.Nx) != 0 && (condition & ~ExpireCondition.Nx) != 0)
        {
            context.Reply.WriteError(RespErrors.ExpireNxConflict);
            return null;
        }

        if ((condition & ExpireCondition.Gt) != 0 && (condition & ExpireCondition.Lt) != 0)
        {
            context.Reply.WriteError(RespErrors.ExpireGtLtConflict);
            return null;
        }

        if (!context.TryArgInt64(2, out var amount))
        {
            context.Reply.WriteError(RespErrors.NotAnInteger);
            return null;
        }

        var now = context.NowMs;
        long when;
        try
        {
            when = checked(amount * unitMs);
            if (!absolute)
            {
                when = checked(when + now);
            }
        }
        catch (OverflowException)
        {
            context.Reply.WriteError(RespErrors.InvalidExpireTime(command));
            return null;
        }

        var key = context.Arg(1);
        var store = context.Node.Store;
        var gate = context.Node.Gate;
        using (gate.Enter())
        {
            if (store.Read(key, now, out var existing) != StoreStatus.Ok || !Allows(condition, existing.ExpireUnixMs, when))
            {
                context.Reply.WriteInteger(0);
                return null;
            }

            if (when <= now)
            {
                // Redis deletes a key whose new expiry has passed, and propagates the DEL.
                store.Delete(key, now);
                LogDel(gate, key);
            }
            else
            {
                store.Put(key, existing.Value, when, now);
                LogPExpireAt(gate, key, when);
            }
        }

        context.Reply.WriteInteger(1);
        return null;
    }

    /// <summary>NX/XX/GT/LT as Redis 7 defines them; a key without expiry counts as an infinite TTL for GT/LT.</summary>
    private static bool Allows(ExpireCondition condition, long currentMs, long newMs) =>
        !((condition & ExpireCondition.Nx) != 0 && currentMs != 0)
        && !((condition & ExpireCondition.Xx) != 0 && currentMs == 0)
        && !((condition & ExpireCondition.Gt) != 0 && (currentMs == 0 || newMs <= currentMs))
        && !((condition & ExpireCondition.Lt) != 0 && currentMs != 0 && newMs >= currentMs);

    public static Task? Persist(ref CommandContext context)
    {
        var key = context.Arg(1);
        var store = context.Node.Store;
        var gate = context.Node.Gate;
        using (gate.Enter())
        {
            var now = context.NowMs;
            if (store.Read(key, now, out var existing) != StoreStatus.Ok || existing.ExpireUnixMs == 0)
            {
                context.Reply.WriteInteger(0);
                return null;
            }

            store.Put(key, existing.Value, 0, now);
            LogPersist(gate, key);
        }

        context.Reply.WriteInteger(1);
        return null;
    }

    internal static void LogDel(WriteGate gate, ReadOnlySpan<byte> key) => LogKeyCommand(gate, "DEL"u8, key);

    internal static void LogPersist(WriteGate gate, ReadOnlySpan<byte> key) => LogKeyCommand(gate, "PERSIST"u8, key);

    private static void LogKeyCommand(WriteGate gate, ReadOnlySpan<byte> name, ReadOnlySpan<byte> key)
    {
        var log = gate.BeginCommand(2);
        log.WriteBulk(name);
        log.WriteBulk(key);
        gate.CommitCommand();
    }

    internal static void LogPExpireAt(WriteGate gate, ReadOnlySpan<byte> key, long expireMs)
    {
        var log = gate.BeginCommand(3);
        log.WriteBulk("PEXPIREAT"u8);
        log.WriteBulk(key);
        log.WriteBulkInteger(expireMs);
        gate.CommitCommand();
    }

    /// <summary>EXPIRETIME and PEXPIRETIME: the absolute expiry (-1 none, -2 no key); seconds are rounded, as Redis's ttlGenericCommand does.</summary>
    public static Task? ExpireTime(ref CommandContext context) => AbsoluteExpiry(ref context, milliseconds: false);

    public static Task? PExpireTime(ref CommandContext context) => AbsoluteExpiry(ref context, milliseconds: true);

    private static Task? AbsoluteExpiry(ref CommandContext context, bool milliseconds)
    {
        if (context.Node.Store.Read(context.Arg(1), context.NowMs, out var existing) != StoreStatus.Ok)
        {
            context.Reply.WriteInteger(-2);
        }
        else if (existing.ExpireUnixMs == 0)
        {
            context.Reply.WriteInteger(-1);
        }
        else
        {
            context.Reply.WriteInteger(milliseconds ? existing.ExpireUnixMs : (existing.ExpireUnixMs + 500) / 1000);
        }

        return null;
    }

    /// <summary>TOUCH: the number of keys that exist. A RocksDB store keeps no access time, so there is nothing to update.</summary>
    public static Task? Touch(ref CommandContext context) => Exists(ref context);

    /// <summary>
    /// FLUSHDB and FLUSHALL [ASYNC|SYNC]: one database, so both empty it; logged once as FLUSHALL. The ingested batches
    /// are forgotten with their keys, so INGEST_S3 of one of them afterwards loads it again.
    /// </summary>
    public static Task? FlushAll(ref CommandContext context)
    {
        if (context.Count > 2 || (context.Count == 2 && !context.ArgIs(1, "ASYNC"u8) && !context.ArgIs(1, "SYNC"u8)))
        {
            context.Reply.WriteError(RespErrors.Syntax);
            return null;
        }

        var gate = context.Node.Gate;
        using (gate.Enter())
        {
            context.Node.Store.DeleteAll();
            var log = gate.BeginCommand(1);
            log.WriteBulk("FLUSHALL"u8);
            gate.CommitCommand();

            // A slave replaying the FLUSHALL forgets too, so a later INGEST_SST of the same batch is applied on both.
            context.Node.Ingest.ForgetAppliedBatches();
        }

        context.Reply.WriteOk();
        return null;
    }

    public static Task? Rename(ref CommandContext context) => Move(ref context, onlyIfAbsent: false);

    public static Task? RenameNx(ref CommandContext context) => Move(ref context, onlyIfAbsent: true);

    /// <summary>
    /// RENAME and RENAMENX. Logged as the effect (SET of the destination with the source's value and absolute expiry,
    /// then DEL of the source), like every write here, so a slave that replays an item twice still ends equal.
    /// </summary>
    private static Task? Move(ref CommandContext context, bool onlyIfAbsent)
    {
        var source = context.Arg(1);
        var destination = context.Arg(2);
        var store = context.Node.Store;
        var gate = context.Node.Gate;
        using (gate.Enter())
        {
            var now = context.NowMs;
            if (store.Read(source, now, out var existing) != StoreStatus.Ok)
            {
                context.Reply.WriteError(RespErrors.NoSuchKey);
                return null;
            }

            if (source.SequenceEqual(destination))
            {
                WriteMoved(ref context, onlyIfAbsent, moved: !onlyIfAbsent);
                return null;
            }

            if (onlyIfAbsent && store.Exists(destination, now) == StoreStatus.Ok)
            {
                WriteMoved(ref context, onlyIfAbsent, moved: false);
                return null;
            }

            StringCommands.PutAndLogSet(gate, store, destination, existing.Value, existing.ExpireUnixMs, now);
            store.Delete(source, now);
            LogDel(gate, source);
        }

        WriteMoved(ref context, onlyIfAbsent, moved: true);
        return null;
    }

    private static void WriteMoved(ref CommandContext context, bool onlyIfAbsent, bool moved)
    {
        if (onlyIfAbsent)
        {
            context.Reply.WriteInteger(moved ? 1 : 0);
        }
        else
        {
            context.Reply.WriteOk();
        }
    }

    /// <summary>COPY source destination [DB 0] [REPLACE]: only database 0 exists, so DB takes no other index.</summary>
    public static Task? Copy(ref CommandContext context)
    {
        var replace = false;
        for (var i = 3; i < context.Count; i++)
        {
            if (context.ArgIs(i, "REPLACE"u8))
            {
                replace = true;
            }
            else if (context.ArgIs(i, "DB"u8) && i + 1 < context.Count)
            {
                if (!context.TryArgInt64(++i, out var db))
                {
                    context.Reply.WriteError(RespErrors.NotAnInteger);
                    return null;
                }

                if (db != 0)
                {
                    context.Reply.WriteError(RespErrors.DbIndexOutOfRange);
                    return null;
                }
            }
            else
            {
                context.Reply.WriteError(RespErrors.Syntax);
                return null;
            }
        }

        var source = context.Arg(1);
        var destination = context.Arg(2);
        if (source.SequenceEqual(destination))
        {
            context.Reply.WriteError(RespErrors.SameObject);
            return null;
        }

        var store = context.Node.Store;
        var gate = context.Node.Gate;
        using (gate.Enter())
        {
            var now = context.NowMs;
            if (store.Read(source, now, out var existing) != StoreStatus.Ok
                || (!replace && store.Exists(destination, now) == StoreStatus.Ok))
            {
                context.Reply.WriteInteger(0);
                return null;
            }

            StringCommands.PutAndLogSet(gate, store, destination, existing.Value, existing.ExpireUnixMs, now);
        }

        context.Reply.WriteInteger(1);
        return null;
    }

    public static Task? RandomKey(ref CommandContext context)
    {
        if (context.Node.Store.RandomKey(context.NowMs) is { } key)
        {
            context.Reply.WriteBulk(key);
        }
        else
        {
            context.Reply.WriteNullBulk();
        }

        return null;
    }

    public static Task? Ttl(ref CommandContext context) => TimeToLive(ref context, milliseconds: false);

    public static Task? PTtl(ref CommandContext context) => TimeToLive(ref context, milliseconds: true);

    private static Task? TimeToLive(ref CommandContext context, bool milliseconds)
    {
        var now = context.NowMs;
        if (context.Node.Store.Read(context.Arg(1), now, out var existing) != StoreStatus.Ok)
        {
            context.Reply.WriteInteger(-2);
        }
        else if (existing.ExpireUnixMs == 0)
        {
            context.Reply.WriteInteger(-1);
        }
        else
        {
            var remaining = Math.Max(0, existing.ExpireUnixMs - now);
            context.Reply.WriteInteger(milliseconds ? remaining : (remaining + 500) / 1000);
        }

        return null;
    }

    public static Task? Type(ref CommandContext context)
    {
        context.Reply.WriteSimpleString(context.Node.Store.Exists(context.Arg(1), context.NowMs) == StoreStatus.Ok ? "string"u8 : "none"u8);
        return null;
    }

    public static Task? Scan(ref CommandContext context)
    {
        if (!ulong.TryParse(context.Arg(1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var cursor))
        {
            context.Reply.WriteError(RespErrors.InvalidCursor);
            return null;
        }

        var count = 10L;
        byte[]? pattern = null;
        var onlyStrings = true;
        for (var i = 2; i < context.Count; i++)
        {
            var more = i + 1 < context.Count;
            if (more && context.ArgIs(i, "COUNT"u8))
            {
                if (!context.TryArgInt64(++i, out count))
                {
                    context.Reply.WriteError(RespErrors.NotAnInteger);
                    return null;
                }

                if (count < 1)
                {
                    context.Reply.WriteError(RespErrors.Syntax);
                    return null;
                }
            }
            else if (more && context.ArgIs(i, "MATCH"u8))
            {
                pattern = context.Arg(++i).ToArray();
            }
            else if (more && context.ArgIs(i, "TYPE"u8))
            {
                onlyStrings = context.ArgIs(++i, "string"u8);
            }
            else
            {
                context.Reply.WriteError(RespErrors.Syntax);
                return null;
            }
        }

        var page = context.Node.Store.Scan(cursor, (int)Math.Min(count, 100_000), pattern is null ? null : key => GlobPattern.IsMatch(pattern, key), context.NowMs);
        context.Reply.WriteArrayHeader(2);
        Span<byte> text = stackalloc byte[20];
        page.NextCursor.TryFormat(text, out var length, provider: System.Globalization.CultureInfo.InvariantCulture);
        context.Reply.WriteBulk(text[..length]);
        var keys = onlyStrings ? page.Keys : [];
        context.Reply.WriteArrayHeader(keys.Count);
        foreach (var key in keys)
        {
            context.Reply.WriteBulk(key);
        }

        return null;
    }

    public static Task? Keys(ref CommandContext context)
    {
        var pattern = context.Arg(1).ToArray();
        var keys = new List<byte[]>();
        ulong cursor = 0;
        do
        {
            var page = context.Node.Store.Scan(cursor, 10_000, key => GlobPattern.IsMatch(pattern, key), context.NowMs);
            keys.AddRange(page.Keys);
            cursor = page.NextCursor;
        }
        while (cursor != 0);

        context.Reply.WriteArrayHeader(keys.Count);
        foreach (var key in keys)
        {
            context.Reply.WriteBulk(key);
        }

        return null;
    }

    public static Task? DbSize(ref CommandContext context)
    {
        context.Reply.WriteInteger(context.Node.Store.CountKeys(context.NowMs));
        return null;
    }

    /// <summary>MOVE key db: only database 0 exists, so the answer is Redis's for a missing database or for db 0 (the same one).</summary>
    public static Task? Move(ref CommandContext context)
    {
        if (DatabaseIndex(ref context, 2, RespErrors.NotAnInteger) is { } index)
        {
            context.Reply.WriteError(index == 0 ? RespErrors.SameObject : RespErrors.DbIndexOutOfRange);
        }

        return null;
    }

    /// <summary>SWAPDB a b: with one database only SWAPDB 0 0 is valid, and it changes nothing.</summary>
    public static Task? SwapDb(ref CommandContext context)
    {
        if (DatabaseIndex(ref context, 1, RespErrors.InvalidFirstDbIndex) is not { } first
            || DatabaseIndex(ref context, 2, RespErrors.InvalidSecondDbIndex) is not { } second)
        {
            return null;
        }

        if (first == 0 && second == 0)
        {
            context.Reply.WriteOk();
        }
        else
        {
            context.Reply.WriteError(RespErrors.DbIndexOutOfRange);
        }

        return null;
    }

    /// <summary>
    /// A database index as Redis's getIntFromObjectOrReply reads it: <paramref name="notInteger"/> for a non-integer,
    /// and (with the default message) its own error past a C int. Null when the error is written.
    /// </summary>
    public static int? DatabaseIndex(ref CommandContext context, int argument, string notInteger)
    {
        if (!context.TryArgInt64(argument, out var value))
        {
            context.Reply.WriteError(notInteger);
            return null;
        }

        if (value is < int.MinValue or > int.MaxValue)
        {
            context.Reply.WriteError(notInteger == RespErrors.NotAnInteger ? RespErrors.IntOutOfRange : notInteger);
            return null;
        }

        return (int)value;
    }

    /// <summary>
    /// OBJECT ENCODING as Redis encodes a string it is given (SET, MSET, SETEX…): an integer of up to 20 characters
    /// is int, up to 44 bytes embstr, longer raw. Redis also keeps raw for a value grown by APPEND or SETRANGE;
    /// the node stores only bytes, so it answers for the value as if it had been SET.
    /// </summary>
    public static Task? ObjectEncoding(ref CommandContext context)
    {
        if (ReadForObject(ref context) is { } value)
        {
            context.Reply.WriteBulk(IsRedisInteger(value, out _) ? "int"u8 : value.Length <= 44 ? "embstr"u8 : "raw"u8);
        }

        return null;
    }

    /// <summary>Redis tracks access frequency only under an LFU maxmemory policy; the node has no eviction, so Redis's error (after nil for a missing key).</summary>
    public static Task? ObjectFreq(ref CommandContext context)
    {
        if (ReadForObject(ref context) is not null)
        {
            context.Reply.WriteError(RespErrors.LfuNotSelected);
        }

        return null;
    }

    /// <summary>The node does not track access times (RocksDB reads leave no trace), so 0 for a live key.</summary>
    public static Task? ObjectIdleTime(ref CommandContext context)
    {
        if (ReadForObject(ref context) is not null)
        {
            context.Reply.WriteInteger(0);
        }

        return null;
    }

    /// <summary>
    /// Redis's count for a value it is given: 0-9999 are its shared integers (INT_MAX references), anything else
    /// one. The node shares nothing, but answers as Redis would for the same SET.
    /// </summary>
    public static Task? ObjectRefCount(ref CommandContext context)
    {
        if (ReadForObject(ref context) is { } value)
        {
            context.Reply.WriteInteger(IsRedisInteger(value, out var number) && number is >= 0 and < 10_000 ? int.MaxValue : 1);
        }

        return null;
    }

    /// <summary>The live value of OBJECT's key (its second argument), or null having answered nil, as Redis does for a missing key.</summary>
    private static byte[]? ReadForObject(ref CommandContext context)
    {
        if (context.Node.Store.Read(context.Arg(2), context.NowMs, out var stored) == StoreStatus.Ok)
        {
            return stored.Value;
        }

        context.Reply.WriteNullBulk();
        return null;
    }

    /// <summary>Redis's tryObjectEncoding test: at most 20 characters that string2ll takes.</summary>
    private static bool IsRedisInteger(byte[] value, out long number)
    {
        number = 0;
        return value.Length <= 20 && CommandArguments.TryParseInt64(value, out number);
    }
}
