using System.Text;
using PikaIngest.Node.Ingest;
using PikaIngest.Node.Resp;

namespace PikaIngest.Node.Commands;

/// <summary>INGEST_S3 &lt;bucket&gt; &lt;manifest-key&gt;: waits for the ingest, replying +OK, or -ERR and the reason.</summary>
internal static class IngestCommands
{
    public static Task? IngestS3(ref CommandContext context)
    {
        var bucket = Encoding.UTF8.GetString(context.Arg(1));
        var manifestKey = Encoding.UTF8.GetString(context.Arg(2));
        return RunAsync(context.Node, context.Session, bucket, manifestKey);
    }

    private static async Task RunAsync(NodeContext node, ClientSession session, string bucket, string manifestKey)
    {
        try
        {
            await node.Ingest.IngestS3Async(bucket, manifestKey, node.Stopping).ConfigureAwait(false);
            session.Reply.WriteOk();
        }
        catch (IngestException e)
        {
            session.Reply.WriteError(RespErrors.Failure(e.Message));
        }
    }
}
