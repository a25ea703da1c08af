namespace PikaIngest.Node.Binlog;

/// <summary>The u16 at the start of a binlog item (docs/FORMATS.md §7).</summary>
internal enum BinlogItemType : ushort
{
    /// <summary>Pika's <c>TypeFirst</c>: the content is a command in RESP.</summary>
    Command = 1,

    /// <summary>An <see cref="IngestSstRecord"/> as canonical JSON; stock Pika does not know this type.</summary>
    IngestSst = 2,
}
