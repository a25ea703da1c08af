namespace PikaIngest.Node.Resp;

/// <summary>
/// Request size limits of the RESP parser. The defaults are redis-server 7.0.15's, observed on the wire
/// (see RespRequestParserTests): <c>*2147483647</c> is accepted and <c>*2147483648</c> refused, so the
/// multibulk count limit is INT_MAX, not the 1024*1024 of Redis before 7.0.
/// </summary>
internal sealed record RespLimits
{
    public static RespLimits Redis { get; } = new();

    /// <summary>Largest multibulk count (<c>*N</c>); above it "invalid multibulk length".</summary>
    public int MaxArguments { get; init; } = int.MaxValue;

    /// <summary>proto-max-bulk-len: largest <c>$len</c>; above it "invalid bulk length".</summary>
    public int MaxBulkLength { get; init; } = 512 * 1024 * 1024;

    /// <summary>
    /// PROTO_INLINE_MAX_SIZE: how many bytes may wait for the end of an inline line or of a
    /// <c>*N</c>/<c>$len</c> header before the request is refused as too big.
    /// </summary>
    public int MaxInlineLength { get; init; } = 64 * 1024;

    /// <summary>Before AUTH, Redis 7 refuses a multibulk count above this (CVE-2021-32675).</summary>
    public int MaxUnauthenticatedArguments { get; init; } = 10;

    /// <summary>Before AUTH, Redis 7 refuses a bulk length above this (CVE-2021-32675).</summary>
    public int MaxUnauthenticatedBulkLength { get; init; } = 16384;
}
