using PikaIngest.Node.Resp;

namespace PikaIngest.Node.Commands;

/// <summary>ROLE and SLAVEOF/REPLICAOF.</summary>
internal static class ReplicationCommands
{
    public static Task? Role(ref CommandContext context)
    {
        context.Reply.WriteArrayHeader(3);
        context.Reply.WriteBulk("master"u8);
        context.Reply.WriteInteger(context.Node.ReplicationOffset);
        context.Reply.WriteArrayHeader(0);
        return null;
    }

    public static Task? SlaveOf(ref CommandContext context)
    {
        if (context.ArgIs(1, "NO"u8) && context.ArgIs(2, "ONE"u8))
        {
            context.Reply.WriteOk();
            return null;
        }

        context.Reply.WriteError(RespErrors.ReplicationUnavailable);
        return null;
    }
}
