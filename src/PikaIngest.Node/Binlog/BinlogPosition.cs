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

    /// <summary>Pika's own notation, as in <c>INFO replication</c>: <c>3:1048576</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{FileNum}:{Offset}");
}
