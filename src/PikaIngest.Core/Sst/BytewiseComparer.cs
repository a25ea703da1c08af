namespace PikaIngest.Core.Sst;

/// <summary>Bytewise order and equality of byte strings: RocksDB's default comparator, the order of every SST here.</summary>
public sealed class BytewiseComparer : IComparer<byte[]>, IEqualityComparer<byte[]>
{
    public static readonly BytewiseComparer Instance = new();

    public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);

    public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

    public int GetHashCode(byte[] obj)
    {
        var hash = new HashCode();
        hash.AddBytes(obj);
        return hash.ToHashCode();
    }
}
