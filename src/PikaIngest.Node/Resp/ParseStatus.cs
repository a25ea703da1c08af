namespace PikaIngest.Node.Resp;

internal enum ParseStatus
{
    /// <summary>A command was read; it may have no arguments (<c>*0</c>, <c>*-1</c>, a blank line), which Redis skips.</summary>
    Complete,

    /// <summary>The buffer ends inside a command; call again with the same bytes and more after them.</summary>
    NeedMore,

    /// <summary>The request is malformed; Redis replies with the error and closes the connection.</summary>
    ProtocolError,
}
