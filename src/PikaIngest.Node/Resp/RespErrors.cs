using System.Globalization;
using System.Text;

namespace PikaIngest.Node.Resp;

/// <summary>
/// Error reply texts, given as <see cref="RespWriter.WriteError(string)"/> takes them: without the leading
/// '-'. Each is redis-server 7.0.15's exact reply (RespErrorsTests cites how it was observed), so clients
/// that match on the text behave as against Redis.
/// </summary>
internal static class RespErrors
{
    /// <summary>{0}: the command's lower-case full name, e.g. <c>get</c> or <c>config|get</c>.</summary>
    public const string WrongNumberOfArgumentsFormat = "ERR wrong number of arguments for '{0}' command";

    /// <summary>
    /// {0}: the command name as sent, {1}: its first arguments, each as <c>'arg' </c>. Redis truncates
    /// both; <see cref="WriteUnknownCommand"/> applies its rules byte for byte.
    /// </summary>
    public const string UnknownCommandFormat = "ERR unknown command '{0}', with args beginning with: {1}";

    public const string Syntax = "ERR syntax error";
    public const string NotAnInteger = "ERR value is not an integer or out of range";

    /// <summary>{0}: the command's lower-case name, e.g. <c>set</c>.</summary>
    public const string InvalidExpireTimeFormat = "ERR invalid expire time in '{0}' command";

    public const string IncrementOverflow = "ERR increment or decrement would overflow";
    public const string NoAuth = "NOAUTH Authentication required.";
    public const string WrongPass = "WRONGPASS invalid username-password pair or user is disabled.";
    public const string AuthWithoutPassword = "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?";
    public const string DbIndexOutOfRange = "ERR DB index is out of range";
    public const string StringTooLong = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
    public const string ReadOnlyReplica = "READONLY You can't write against a read only replica.";
    public const string InvalidCursor = "ERR invalid cursor";
    public const string DecrementOverflow = "ERR decrement would overflow";
    public const string ExpireNxConflict = "ERR NX and XX, GT or LT options at the same time are not compatible";
    public const string ExpireGtLtConflict = "ERR GT and LT options at the same time are not compatible";
    public const string NoProto = "NOPROTO unsupported protocol version";
    public const string MaxClients = "ERR max number of clients reached";

    /// <summary>Redis's shared.oomerr: a denyoom command past maxmemory.</summary>
    public const string OutOfMemory = "OOM command not allowed when used memory > 'maxmemory'.";

    /// <summary>CONFIG SET maxmemory with a value memtoull cannot read (Redis 7's text for a memory setting).</summary>
    public const string ConfigMemoryArgument = "argument must be a memory value";
    public const string InvalidMasterPort = "ERR Invalid master port";

    /// <summary>Pika's SlaveofCmd text for SLAVEOF of the node's own address (Redis has no such check).</summary>
    public const string SlaveOfItself = "ERR The master ip:port and the slave ip:port are the same";
    public const string HelloProtocolNotAnInteger = "ERR Protocol version is not an integer or out of range";
    public const string HelloNoAuth = "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time";
    public const string NoSuchKey = "ERR no such key";
    public const string OffsetOutOfRange = "ERR offset is out of range";
    public const string NotAValidFloat = "ERR value is not a valid float";
    public const string NaNOrInfinity = "ERR increment would produce NaN or Infinity";
    public const string BitOffsetOutOfRange = "ERR bit offset is not an integer or out of range";
    public const string BitValueOutOfRange = "ERR bit is not an integer or out of range";
    public const string BitArgumentNotBinary = "ERR The bit argument must be 1 or 0.";
    public const string BitfieldInvalidType = "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";
    public const string BitfieldInvalidOverflow = "ERR Invalid OVERFLOW type specified";
    public const string BitfieldReadOnly = "ERR BITFIELD_RO only supports the GET subcommand";
    public const string BitopNotSingleSource = "ERR BITOP NOT must be called with a single source key.";

    /// <summary>A database index past a C int (SELECT, MOVE).</summary>
    public const string IntOutOfRange = "ERR value is out of range, value must between -2147483648 and 2147483647";
    /// <summary>COPY, MOVE and SWAPDB naming one object twice.</summary>
    public const string SameObject = "ERR source and destination objects are the same";
    public const string InvalidFirstDbIndex = "ERR invalid first DB index";
    public const string InvalidSecondDbIndex = "ERR invalid second DB index";
    public const string LfuNotSelected = "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";
    public const string NoSuchClient = "ERR No such client";
    public const string ClientIdNotPositive = "ERR client-id should be greater than 0";
    public const string InvalidClientId = "ERR Invalid client ID";
    public const string InvalidClientName = "ERR Client names cannot contain spaces, newlines or special characters.";
    public const string NoConfigFile = "ERR The server is running without a config file";

    // The reasons CONFIG SET gives after "possibly related to argument 'x' - ".
    public const string ConfigImmutable = "can't set immutable config";
    public const string ConfigDuplicate = "duplicate parameter";
    public const string ConfigNotAnInteger = "argument couldn't be parsed into an integer";

    // Protocol errors: Redis sends one, then closes the connection.
    public const string ProtocolInvalidMultibulkLength = "ERR Protocol error: invalid multibulk length";
    public const string ProtocolInvalidBulkLength = "ERR Protocol error: invalid bulk length";
    public const string ProtocolTooBigMultibulkCount = "ERR Protocol error: too big mbulk count string";
    public const string ProtocolTooBigBulkCount = "ERR Protocol error: too big bulk count string";
    public const string ProtocolUnauthenticatedMultibulkLength = "ERR Protocol error: unauthenticated multibulk length";
    public const string ProtocolUnauthenticatedBulkLength = "ERR Protocol error: unauthenticated bulk length";
    public const string ProtocolTooBigInline = "ERR Protocol error: too big inline request";
    public const string ProtocolUnbalancedQuotes = "ERR Protocol error: unbalanced quotes in request";

    /// <summary>{0}: the byte found where a bulk header's '$' belongs.</summary>
    public const string ProtocolExpectedDollarFormat = "ERR Protocol error: expected '$', got '{0}'";

    // Redis's processCommand prints the name with %.128s and appends arguments while the list is under 128 bytes.
    private const int UnknownCommandQuoteLimit = 128;

    // 'ERR unknown command ' + 128 + the suffix + the argument list, which stops at most 3 bytes past 128.
    private const int UnknownCommandMaxLength = 512;

    private static readonly CompositeFormat WrongNumberOfArgumentsComposite = CompositeFormat.Parse(WrongNumberOfArgumentsFormat);
    private static readonly CompositeFormat InvalidExpireTimeComposite = CompositeFormat.Parse(InvalidExpireTimeFormat);
    private static readonly CompositeFormat ExpectedDollarComposite = CompositeFormat.Parse(ProtocolExpectedDollarFormat);

    public static string WrongNumberOfArguments(string command) =>
        string.Format(CultureInfo.InvariantCulture, WrongNumberOfArgumentsComposite, command);

    /// <summary>EXPIRE's reply to an option it does not know, e.g. <c>FOO</c>.</summary>
    /// <summary>
    /// pika-node's own: a data command while a batch's ingest is held unfinished (some instances may hold it, others
    /// not). Like Redis's LOADING, it says the data cannot be served yet; the text carries the batch and the safe command.
    /// </summary>
    public static string IngestUnfinished(string why) => "ERR INGEST " + why;

    public static string UnsupportedOption(string option) => "ERR Unsupported option " + option;

    /// <summary>{0}: the subcommand as sent, {1}: the command in upper case, as Redis 7 names it in the hint.</summary>
    public static string UnknownSubcommand(string subcommand, string command) =>
        $"ERR unknown subcommand '{subcommand}'. Try {command.ToUpperInvariant()} HELP.";

    public static string UnknownClientType(string type) => $"ERR Unknown client type '{type}'";

    public static string NoSuchUser(string user) => $"ERR No such user '{user}'";

    /// <summary>{0}: the first name CONFIG SET does not know, as sent.</summary>
    public static string ConfigSetUnknownOption(string name) => $"ERR Unknown option or number of arguments for CONFIG SET - '{name}'";

    /// <summary>{0}: the parameter, {1}: the reason (<see cref="ConfigImmutable"/>, <see cref="ConfigDuplicate"/>, a value's fault).</summary>
    public static string ConfigSetFailed(string name, string reason) => $"ERR CONFIG SET failed (possibly related to argument '{name}') - {reason}";

    public static string ConfigOutOfRange(long min, long max) =>
        string.Create(CultureInfo.InvariantCulture, $"argument must be between {min} and {max} inclusive");

    /// <summary>pika-node's own: a Redis command it deliberately does not serve, and why.</summary>
    public static string NotSupported(string command, string reason) => $"ERR '{command}' is not supported by pika-node: {reason}";

    /// <summary>HELLO's reply to an option it does not know (or one missing its arguments), e.g. <c>x</c>.</summary>
    public static string HelloSyntax(string option) => "ERR Syntax error in HELLO option '" + option + "'";

    /// <summary>A failure inside the node (storage, disk) or a refused ingest, with its reason.</summary>
    public static string Failure(string reason) => "ERR " + reason;

    public static string InvalidExpireTime(string command) =>
        string.Format(CultureInfo.InvariantCulture, InvalidExpireTimeComposite, command);

    /// <summary>
    /// The byte as Redis's <c>%c</c> prints it, CR and LF becoming spaces as in its reply. A byte above 0x7F
    /// is carried as the char of the same value, so it is sent UTF-8 encoded where Redis sends it raw.
    /// </summary>
    public static string ExpectedDollar(byte got) =>
        string.Format(CultureInfo.InvariantCulture, ExpectedDollarComposite, got is (byte)'\r' or (byte)'\n' ? ' ' : (char)got);

    /// <summary>
    /// Writes the unknown-command error for <paramref name="args"/> as Redis 7.0's processCommand does:
    /// the name cut to 128 bytes, then <c>'arg' </c> for each argument while the list is shorter than 128
    /// bytes, each cut to what is left of the 128. Redis prints with <c>%s</c>, so a zero byte ends a name
    /// or argument. The bytes are copied as sent, not decoded. <paramref name="args"/> holds at least the name.
    /// </summary>
    public static void WriteUnknownCommand(RespWriter writer, CommandArguments args, ReadOnlySpan<byte> buffer)
    {
        Span<byte> message = stackalloc byte[UnknownCommandMaxLength];
        var length = Append(message, 0, "ERR unknown command '"u8);
        length = Append(message, length, CString(args.Span(0, buffer), UnknownCommandQuoteLimit));
        length = Append(message, length, "', with args beginning with: "u8);
        var listStart = length;
        for (var i = 1; i < args.Count && length - listStart < UnknownCommandQuoteLimit; i++)
        {
            length = Append(message, length, "'"u8);
            length = Append(message, length, CString(args.Span(i, buffer), UnknownCommandQuoteLimit - (length - 1 - listStart)));
            length = Append(message, length, "' "u8);
        }

        writer.WriteError(message[..length]);
    }

    private static ReadOnlySpan<byte> CString(ReadOnlySpan<byte> value, int precision)
    {
        var end = value.IndexOf((byte)0);
        var text = end < 0 ? value : value[..end];
        return text.Length > precision ? text[..precision] : text;
    }

    private static int Append(Span<byte> message, int length, ReadOnlySpan<byte> part)
    {
        part.CopyTo(message[length..]);
        return length + part.Length;
    }
}
