using System.Globalization;

namespace PikaIngest.Node.Binlog;

/// <summary>A byte position in the binlog: <c>write2file&lt;FileNum&gt;</c> at <see cref="Offset"/>.</summary>
internal readonly record struct BinlogPosition(uint FileNum, ulong Offset) : IComparable<BinlogPosition>
{
    public int CompareTo(BinlogPosition other)
    {
        var byFile = FileNum.CompareTo(other.FileNum);
        return byFile != 0 ? byFile : Offset.CompareTo(other.Offset);
    }

    public static bool operator <(BinlogPosition left, BinlogPosition right) => left.CompareTo(right) < 0;

    public static bool operator >(BinlogPosition left, BinlogPosition right) => left.CompareTo(right) > 0;

    public static bool operator <=(BinlogPosition left, BinlogPosition right) => left.CompareTo(right) <= 0;

    public static bool operator >=(BinlogPosition left, BinlogPosition right) => left.CompareTo(right) >= 0;

    /// <summary>Reads <see cref="ToString"/>'s notation.</summary>
    public static bool TryParse(string text, out BinlogPosition position)
    {
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        position = default;
        if (colon <= 0
            || !uint.TryParse(text.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out var fileNum)
            || !ulong.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
        {
            return false;
        }

        position = new BinlogPosition(fileNum, offset);
        return true;
    }

    /// <summary>Pika's own notation, as in <c>INFO replication</c>: <c>3:1048576</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{FileNum}:{Offset}");
}
