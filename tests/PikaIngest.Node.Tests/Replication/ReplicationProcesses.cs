namespace PikaIngest.Node.Tests.Replication;

/// <summary>Replication scenarios start several node processes each; on a small machine they run one at a time.</summary>
[CollectionDefinition(Name)]
public sealed class ReplicationProcesses
{
    public const string Name = "Replication processes";
}
