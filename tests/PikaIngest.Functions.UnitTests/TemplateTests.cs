using System.Reflection;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace PikaIngest.Functions.UnitTests;

/// <summary>template.yaml checked against the code it deploys: handlers, triggers, variables, packaging.</summary>
public sealed partial class TemplateTests
{
    private static readonly YamlMappingNode Root = Load();

    private static YamlMappingNode Load()
    {
        var stream = new YamlStream();
        using var reader = new StreamReader(Path.Combine(AppContext.BaseDirectory, "template.yaml"));
        stream.Load(reader);
        return (YamlMappingNode)stream.Documents[0].RootNode;
    }

    private static YamlMappingNode Map(YamlNode node, string key) => (YamlMappingNode)((YamlMappingNode)node).Children[new YamlScalarNode(key)];

    private static string Scalar(YamlNode node, string key) => ((YamlScalarNode)((YamlMappingNode)node).Children[new YamlScalarNode(key)]).Value!;

    private static IEnumerable<(string Name, YamlMappingNode Properties)> Functions() =>
        Map(Root, "Resources").Children
            .Where(r => Scalar(r.Value, "Type") == "AWS::Serverless::Function")
            .Select(r => (((YamlScalarNode)r.Key).Value!, Map(r.Value, "Properties")));

    [Theory]
    [InlineData("SstFunction")]
    [InlineData("MergeFunction")]
    [InlineData("ManifestFunction")]
    public void Each_handler_string_resolves_to_one_public_stream_in_stream_out_method(string function)
    {
        var handler = Scalar(Functions().Single(f => f.Name == function).Properties, "Handler");
        var parts = handler.Split("::");
        Assert.Equal(3, parts.Length);
        var assembly = Assembly.Load(parts[0]);
        var type = assembly.GetType(parts[1], throwOnError: true)!;
        Assert.NotNull(type.GetConstructor(Type.EmptyTypes));
        var method = Assert.Single(type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static), m => m.Name == parts[2]);
        Assert.Equal([typeof(Stream)], method.GetParameters().Select(p => p.ParameterType));
        Assert.Equal(typeof(Task<Stream>), method.ReturnType);
    }

    [Fact]
    public void S3_triggers_use_prefixes_that_no_key_can_match_both_of()
    {
        var filters = Functions().Select(f =>
        {
            var s3 = Map(Map(Map(f.Properties, "Events").Children.Single().Value, "Properties"), "Filter");
            var rules = (YamlSequenceNode)Map(s3, "S3Key").Children[new YamlScalarNode("Rules")];
            var byName = rules.Children.ToDictionary(r => Scalar(r, "Name"), r => Scalar(r, "Value"));
            return (f.Name, Prefix: byName["prefix"], Suffix: byName["suffix"]);
        }).ToDictionary(f => f.Name);

        Assert.Equal(("incoming/", ".jsonl"), (filters["SstFunction"].Prefix, filters["SstFunction"].Suffix));
        Assert.Equal(("state/", ".json"), (filters["ManifestFunction"].Prefix, filters["ManifestFunction"].Suffix));
        Assert.Equal(("tasks/", ".json"), (filters["MergeFunction"].Prefix, filters["MergeFunction"].Suffix));
        Assert.Equal(3, filters.Count);
        var prefixes = filters.Values.Select(f => f.Prefix).ToList();
        Assert.All(prefixes, a => Assert.All(prefixes.Where(b => b != a), b => Assert.False(a.StartsWith(b, StringComparison.Ordinal))));
    }

    [Fact]
    public void Every_environment_variable_the_code_reads_is_declared()
    {
        var declared = new HashSet<string>(Map(Map(Map(Root, "Globals"), "Function"), "Environment") is var globals
            ? Map(globals, "Variables").Children.Keys.Select(k => ((YamlScalarNode)k).Value!)
            : []);
        foreach (var (_, properties) in Functions())
        {
            if (properties.Children.ContainsKey(new YamlScalarNode("Environment")))
            {
                declared.UnionWith(Map(Map(properties, "Environment"), "Variables").Children.Keys.Select(k => ((YamlScalarNode)k).Value!));
            }
        }

        var setByLambda = new[] { FunctionEnvironment.LambdaMemoryVariable };
        Assert.Empty(FunctionEnvironment.All.Except(setByLambda).Except(declared));
    }

    [Fact]
    public void Functions_run_on_dotnet10_x86_64_built_by_the_makefile_and_the_makefile_has_their_targets()
    {
        var globals = Map(Map(Root, "Globals"), "Function");
        Assert.Equal("dotnet10", Scalar(globals, "Runtime"));
        Assert.Equal("x86_64", ((YamlScalarNode)((YamlSequenceNode)globals.Children[new YamlScalarNode("Architectures")]).Children.Single()).Value);
        var makefile = File.ReadAllText(Path.Combine(FlowFixture.RepositoryRoot(), "Makefile"));
        foreach (var resource in Map(Root, "Resources").Children.Where(r => Scalar(r.Value, "Type") == "AWS::Serverless::Function"))
        {
            Assert.Equal("makefile", Scalar(Map(resource.Value, "Metadata"), "BuildMethod"));
            Assert.Contains($"build-{((YamlScalarNode)resource.Key).Value}:", makefile, StringComparison.Ordinal);
        }

        Assert.Contains("dotnet publish", makefile, StringComparison.Ordinal);
        Assert.Contains("-r linux-x64", makefile, StringComparison.Ordinal);
    }

    [Fact]
    public void The_bucket_name_is_an_explicit_sub_and_policies_never_reference_the_bucket_resource()
    {
        var bucket = Map(Map(Map(Root, "Resources"), "IngestBucket"), "Properties").Children[new YamlScalarNode("BucketName")];
        Assert.Equal("!Sub", bucket.Tag.Value);
        foreach (var (name, properties) in Functions())
        {
            var policies = properties.Children[new YamlScalarNode("Policies")];
            Assert.DoesNotContain(AllNodes(policies), n => n is YamlScalarNode { Value: "IngestBucket" } or YamlScalarNode { Value: "IngestBucket.Arn" });
            Assert.True(AllNodes(policies).Any(n => !n.Tag.IsEmpty && !n.Tag.IsNonSpecific && n.Tag.Value == "!Sub"), $"{name}'s policies name the bucket with !Sub");
        }
    }

    [Fact]
    public void The_manifest_function_has_vpc_parameters_a_hidden_password_and_an_sqs_on_failure_destination()
    {
        var parameters = Map(Root, "Parameters");
        Assert.Equal("true", Scalar(Map(parameters, "PikaPassword"), "NoEcho"));
        Assert.True(parameters.Children.ContainsKey(new YamlScalarNode("SubnetIds")));
        Assert.True(parameters.Children.ContainsKey(new YamlScalarNode("SecurityGroupIds")));
        var manifest = Functions().Single(f => f.Name == "ManifestFunction").Properties;
        Assert.True(manifest.Children.ContainsKey(new YamlScalarNode("VpcConfig")));
        var onFailure = Map(Map(Map(manifest, "EventInvokeConfig"), "DestinationConfig"), "OnFailure");
        Assert.Equal("SQS", Scalar(onFailure, "Type"));
        Assert.Equal("AWS::SQS::Queue", Scalar(Map(Map(Root, "Resources"), "IngestFailureQueue"), "Type"));
        var sst = Functions().Single(f => f.Name == "SstFunction").Properties;
        Assert.True(sst.Children.ContainsKey(new YamlScalarNode("EphemeralStorage")));
    }

    /// <summary>Without one, an event whose invocation failed every retry is dropped and its batch stops with no record anywhere.</summary>
    [Fact]
    public void Every_function_retries_and_then_sends_failed_events_to_the_failure_queue()
    {
        foreach (var (name, properties) in Functions())
        {
            var invoke = Map(properties, "EventInvokeConfig");
            Assert.True(int.Parse(Scalar(invoke, "MaximumRetryAttempts"), System.Globalization.CultureInfo.InvariantCulture) is >= 0 and <= 2, name);
            var onFailure = Map(Map(invoke, "DestinationConfig"), "OnFailure");
            Assert.Equal("SQS", Scalar(onFailure, "Type"));
            var destination = (YamlScalarNode)onFailure.Children[new YamlScalarNode("Destination")];
            Assert.Equal(("!GetAtt", "IngestFailureQueue.Arn"), (destination.Tag.Value, destination.Value));
        }
    }

    [Fact]
    public void Every_arn_names_the_stacks_partition()
    {
        var arns = Root.AllNodes.OfType<YamlScalarNode>().Where(n => n.Value!.Contains("arn:", StringComparison.Ordinal)).ToList();

        Assert.NotEmpty(arns);
        Assert.All(arns, n => Assert.True(
            n.Tag.Value == "!Sub" && ArnPrefix().Count(n.Value!) == ArnStart().Count(n.Value!),
            $"line {n.Start.Line}: {n.Value} hard-codes a partition (GovCloud and China regions could not deploy it); use arn:${{AWS::Partition}}:"));
    }

    /// <summary>The policies resolve per partition, so the same grants hold in aws-cn and aws-us-gov.</summary>
    [Theory]
    [InlineData("aws-cn")]
    [InlineData("aws-us-gov")]
    public void The_policies_grant_the_same_in_every_partition(string partition)
    {
        var other = SamTemplate.Load(partition);
        foreach (var function in SamTemplate.Deployed.FunctionNames)
        {
            Assert.Equal(
                SamTemplate.Deployed.PolicyOf(function).Grants().Select(g => g with { Resource = g.Resource.Replace("arn:aws:", $"arn:{partition}:", StringComparison.Ordinal) }),
                other.PolicyOf(function).Grants());
        }
    }

    /// <summary>cfn-lint's I3011: resources that keep data say what happens to it when the stack is deleted or the resource replaced.</summary>
    [Fact]
    public void Stateful_resources_are_retained_on_deletion_and_replacement()
    {
        var stateful = Map(Root, "Resources").Children
            .Where(r => Scalar(r.Value, "Type") is "AWS::S3::Bucket" or "AWS::SQS::Queue" or "AWS::DynamoDB::Table" or "AWS::Logs::LogGroup" or "AWS::SNS::Topic")
            .ToList();

        Assert.Equal(2, stateful.Count);
        Assert.All(stateful, r => Assert.Equal(("Retain", "Retain"), (Scalar(r.Value, "DeletionPolicy"), Scalar(r.Value, "UpdateReplacePolicy"))));
    }

    [Fact]
    public void The_flow_tests_use_the_bucket_the_template_names()
    {
        Assert.Equal(FlowFixture.BucketName, SamTemplate.Deployed.BucketName);
    }

    private static IEnumerable<YamlNode> AllNodes(YamlNode node) => node.AllNodes;

    [GeneratedRegex(@"arn:\$\{AWS::Partition\}:")]
    private static partial Regex ArnPrefix();

    [GeneratedRegex("arn:")]
    private static partial Regex ArnStart();
}
