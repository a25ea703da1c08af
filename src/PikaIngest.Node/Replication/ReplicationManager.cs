using System.Text;
using PikaIngest.Node.Resp;

namespace PikaIngest.Node.Replication;

/// <summary>The node's role: a master (always able to serve slaves) and, when told to follow one, a slave.</summary>
internal sealed class ReplicationManager
{
    private readonly NodeContext _node;
    private readonly Lock _lock = new();
    private SlaveReplication? _slave;

    public ReplicationManager(NodeContext node)
    {
        _node = node;
        Master = new MasterReplication(node);
    }

    public MasterReplication Master { get; }

    public SlaveReplication? Slave => Volatile.Read(ref _slave);

    public bool IsSlave => Slave is not null;

    /// <summary>Starts following the master given at start-up (once the node's own port is known).</summary>
    public void Start()
    {
        if (_node.Options.SlaveOf is var (host, port))
        {
            Follow(host, port);
        }
    }

    public void Follow(string host, int port)
    {
        lock (_lock)
        {
            var previous = _slave;
            _slave = null;
            previous?.StopAsync().GetAwaiter().GetResult();
            var slave = new SlaveReplication(_node, host, port);
            _slave = slave;
            slave.Start();
            _node.Log($"replication: following {host}:{port}");
        }
    }

    /// <summary>SLAVEOF NO ONE: stop following; the data stays, and writes are accepted again.</summary>
    public void Unfollow()
    {
        lock (_lock)
        {
            var previous = _slave;
            _slave = null;
            previous?.StopAsync().GetAwaiter().GetResult();
            if (previous is not null)
            {
                _node.Log("replication: now a master");
            }
        }
    }

    public async Task StopAsync()
    {
        SlaveReplication? slave;
        lock (_lock)
        {
            slave = _slave;
        }

        if (slave is not null)
        {
            await slave.StopAsync().ConfigureAwait(false);
        }
    }

    public void WriteInfo(StringBuilder info)
    {
        info.Append("# Replication\r\n");
        if (Slave is { } slave)
        {
            info.Append("role:slave\r\n");
            slave.WriteInfo(info);
        }
        else
        {
            info.Append("role:master\r\n");
        }

        Master.WriteInfo(info);
    }

    /// <summary>ROLE, in Redis's shapes: master with its slaves, or slave with its link state and offset.</summary>
    public void WriteRole(RespWriter reply)
    {
        if (Slave is { } slave)
        {
            reply.WriteArrayHeader(5);
            reply.WriteBulk("slave"u8);
            reply.WriteBulk(slave.Host);
            reply.WriteInteger(slave.Port);
            reply.WriteBulk(slave.LinkUp ? (slave.SyncState == "full_sync" ? "sync"u8 : "connected"u8) : "connecting"u8);
            reply.WriteInteger((long)slave.Applied.LogicId);
            return;
        }

        var replicas = Master.Replicas.ToList();
        reply.WriteArrayHeader(3);
        reply.WriteBulk("master"u8);
        reply.WriteInteger((long)_node.Gate.LastLogicId);
        reply.WriteArrayHeader(replicas.Count);
        foreach (var replica in replicas)
        {
            reply.WriteArrayHeader(3);
            reply.WriteBulk(replica.Ip);
            reply.WriteBulk(replica.ListeningPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
            reply.WriteBulk(replica.AckedLogicId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }
}
