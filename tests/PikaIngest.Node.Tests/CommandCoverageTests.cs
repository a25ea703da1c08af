using System.Reflection;
using PikaIngest.Node.Commands;
using PikaIngest.Node.Tests.Replication;
using PikaIngest.Node.Tests.Support;

namespace PikaIngest.Node.Tests;

/// <summary>
/// Every row of the command table, subcommands included, is either compared with redis-server by a differential test
/// or named here with the test that covers it, so a command added to the table without a test fails this test.
/// </summary>
public sealed class CommandCoverageTests
{
    /// <summary>Rows whose replies cannot be compared with redis-server's (node-only, or time- and state-dependent).</summary>
    private static readonly Dictionary<string, string> TestedElsewhere = new(StringComparer.Ordinal)
    {
        ["hello"] = $"{nameof(SessionTests)}.{nameof(SessionTests.Hello_and_time_answer_in_redis_shapes)}",
        ["time"] = $"{nameof(SessionTests)}.{nameof(SessionTests.Hello_and_time_answer_in_redis_shapes)}",
        ["client|setinfo"] = $"{nameof(SessionTests)}.{nameof(SessionTests.Hello_and_time_answer_in_redis_shapes)} (Redis 7.2's, not in 7.0.15: accepted for clients that send it)",
        ["config|help"] = $"{nameof(ServerCommandTests)}.{nameof(ServerCommandTests.Container_help_lists_each_subcommand_from_the_table)}",
        ["client|list"] = $"{nameof(ServerCommandTests)}.{nameof(ServerCommandTests.Client_list_shows_every_connection_and_kill_closes_only_the_chosen_ones)}",
        ["client|info"] = $"{nameof(ServerCommandTests)}.{nameof(ServerCommandTests.Client_list_shows_every_connection_and_kill_closes_only_the_chosen_ones)}",
        ["client|kill"] = $"{nameof(ServerCommandTests)}.{nameof(ServerCommandTests.Client_list_shows_every_connection_and_kill_closes_only_the_chosen_ones)}",
        ["client|id"] = $"{nameof(ServerCommandTests)}.{nameof(ServerCommandTests.Client_list_shows_every_connection_and_kill_closes_only_the_chosen_ones)}",
        ["config|set"] = $"{nameof(ServerCommandTests)}.{nameof(ServerCommandTests.A_refused_config_set_changes_nothing_and_an_accepted_one_changes_all)}",
        ["config|get"] = $"{nameof(ServerCommandTests)}.{nameof(ServerCommandTests.A_refused_config_set_changes_nothing_and_an_accepted_one_changes_all)}",
        ["command"] = $"{nameof(ServerCommandTests)}.{nameof(ServerCommandTests.Command_count_and_command_list_the_table)}",
        ["command|count"] = $"{nameof(ServerCommandTests)}.{nameof(ServerCommandTests.Command_count_and_command_list_the_table)}",
        ["command|list"] = $"{nameof(ServerCommandTests)}.{nameof(ServerCommandTests.Command_count_and_command_list_the_table)}",
        ["command|info"] = $"{nameof(ServerCommandTests)}.{nameof(ServerCommandTests.Command_info_for_every_row_and_subcommand_is_consistent_with_the_row)}",
        ["command|docs"] = $"{nameof(ServerCommandTests)}.{nameof(ServerCommandTests.Command_docs_gives_every_row_its_summary_and_group)}",
        ["lastsave"] = $"{nameof(ServerCommandTests)}.{nameof(ServerCommandTests.Lastsave_is_the_start_time_and_idletime_is_zero)}",
        ["object|idletime"] = $"{nameof(ServerCommandTests)}.{nameof(ServerCommandTests.Lastsave_is_the_start_time_and_idletime_is_zero)}",
        ["info"] = $"{nameof(ProcessTests)}.{nameof(ProcessTests.Info_rocksdb_gives_every_instances_levels_and_compaction_state_and_their_totals)}",
        ["debug"] = $"{nameof(IngestTests)}.{nameof(IngestTests.Ingest_applies_later_shards_over_earlier_ones_and_writes_before_and_after_order_correctly)}",
        ["shutdown"] = $"{nameof(ProcessTests)}.{nameof(ProcessTests.Redis_cli_pipes_writes_and_they_survive_shutdown_and_restart)}",
        ["role"] = $"{nameof(ReplicationTests)}.{nameof(ReplicationTests.An_ingest_on_the_master_reaches_a_connected_slave_which_serves_reads_and_refuses_writes)}",
        ["slaveof"] = $"{nameof(ReplicationBadInputTests)}.{nameof(ReplicationBadInputTests.A_sync_request_beyond_the_masters_binlog_gets_an_error_and_a_closed_connection)}",
        ["replicaof"] = $"{nameof(WriteCommandReplicationTests)}.{nameof(WriteCommandReplicationTests.Replicaof_makes_a_running_node_a_slave_and_replicaof_no_one_makes_it_writable_again)}",
        ["replconf"] = $"{nameof(ReplicationBadInputTests)}.{nameof(ReplicationBadInputTests.Garbage_after_replconf_closes_the_connection_and_the_master_carries_on)}",
        ["pika_sync"] = $"{nameof(ReplicationBadInputTests)}.{nameof(ReplicationBadInputTests.A_sync_request_beyond_the_masters_binlog_gets_an_error_and_a_closed_connection)}",
        ["ingest_s3"] = $"{nameof(IngestTests)}.{nameof(IngestTests.Ingest_applies_later_shards_over_earlier_ones_and_writes_before_and_after_order_correctly)}",
        ["randomkey"] = $"{nameof(DifferentialTests)}.{nameof(DifferentialTests.Keyspace_commands_reply_like_redis_server)} (empty and one-key databases) and RocksStringStoreTests.A_random_key_is_a_live_key_and_every_live_key_can_be_picked",
    };

    private static IEnumerable<string[]> DifferentialCommands() =>
    [
        .. DifferentialTests.Script, .. DifferentialTests.KeyspaceScript, .. StringDifferentialTests.Script,
        .. ServerDifferentialTests.OneDatabase, .. ServerDifferentialTests.Object, .. ServerDifferentialTests.Config,
        .. ServerDifferentialTests.Command, .. ServerDifferentialTests.Client,
        .. new RandomCommands(1).Take(3000), .. StringDifferentialTests.RandomWorkload(1, 3000),
        .. BitfieldDifferentialTests.Script, .. BitfieldDifferentialTests.RandomWorkload(1, 2000),
    ];

    [Fact]
    public void Every_table_row_is_compared_with_redis_or_has_a_named_test()
    {
        var compared = new HashSet<string>(StringComparer.Ordinal);
        foreach (var command in DifferentialCommands())
        {
            var name = command[0].ToLowerInvariant();
            compared.Add(name);
            if (command.Length > 1)
            {
                compared.Add(name + "|" + command[1].ToLowerInvariant());
            }
        }

        var rows = CommandTable.All.SelectMany(spec => (IEnumerable<CommandSpec>)[spec, .. spec.Subcommands]).Select(spec => spec.Name).ToList();
        var untested = rows.Where(name => !compared.Contains(name) && !TestedElsewhere.ContainsKey(name)).ToList();
        Assert.True(untested.Count == 0, "table rows with no test: " + string.Join(", ", untested));

        var stale = TestedElsewhere.Keys.Where(name => !rows.Contains(name)).ToList();
        Assert.True(stale.Count == 0, "named but not in the table: " + string.Join(", ", stale));
    }

    [Fact]
    public void Every_test_named_for_a_row_is_a_test_of_this_assembly()
    {
        var tests = typeof(CommandCoverageTests).Assembly.GetTypes()
            .SelectMany(type => type.GetMethods().Where(m => m.GetCustomAttributes<FactAttribute>().Any()).Select(m => $"{type.Name}.{m.Name}"))
            .ToHashSet(StringComparer.Ordinal);
        foreach (var (row, test) in TestedElsewhere)
        {
            var named = test.Split(' ')[0];
            Assert.True(tests.Contains(named), $"{row}: {named} is not a test");
        }
    }
}
