using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace PikaIngest.Functions.UnitTests;

/// <summary>
/// template.yaml as deployed: its functions' <c>Policies</c> turned into IAM statements, with <c>!Sub</c>, <c>!Ref</c> and
/// <c>!GetAtt</c> (short or <c>Fn::</c> form) resolved against test values of the parameters and pseudo parameters.
/// Anything it cannot evaluate faithfully (a condition, a managed policy, an unknown SAM policy template, an <c>!If</c>
/// in a policy) is refused with the node's line, never skipped. SAM also gives each role AWSLambdaBasicExecutionRole
/// (logs), the VPC access policy and sqs:SendMessage on its on-failure queue; none of those touch S3.
/// </summary>
public sealed partial class SamTemplate
{
    public const string AccountId = "123456789012";
    public const string Region = "us-east-1";

    private readonly YamlMappingNode _root;
    private readonly Dictionary<string, string> _values;

    private SamTemplate(YamlMappingNode root, string partition)
    {
        _root = root;
        Partition = partition;
        _values = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["AWS::AccountId"] = AccountId,
            ["AWS::Region"] = Region,
            ["AWS::Partition"] = partition,
            ["IngestFailureQueue.QueueName"] = "pika-ingest-IngestFailureQueue-TEST",
            ["IngestFailureQueue.Arn"] = $"arn:{partition}:sqs:{Region}:{AccountId}:pika-ingest-IngestFailureQueue-TEST",
        };
        IEnumerable<KeyValuePair<YamlNode, YamlNode>> parameters = root.Children.TryGetValue(new YamlScalarNode("Parameters"), out var declared) ? ((YamlMappingNode)declared).Children : [];
        foreach (var (name, parameter) in parameters)
        {
            if (((YamlMappingNode)parameter).Children.TryGetValue(new YamlScalarNode("Default"), out var value))
            {
                _values[((YamlScalarNode)name).Value!] = ((YamlScalarNode)value).Value!;
            }
        }
    }

    /// <summary>The repository's template, resolved for the commercial partition.</summary>
    public static SamTemplate Deployed { get; } = Load();

    public string Partition { get; }

    public IReadOnlyList<string> FunctionNames =>
        [.. Mapping(_root, "Resources").Children.Where(r => Text(r.Value, "Type") == "AWS::Serverless::Function").Select(r => ((YamlScalarNode)r.Key).Value!)];

    /// <summary>The bucket's name as CloudFormation would give it with these values.</summary>
    public string BucketName => Resolve(Mapping(Mapping(Mapping(_root, "Resources"), "IngestBucket"), "Properties").Children[new YamlScalarNode("BucketName")]);

    /// <summary>The repository's template (copied beside the tests) resolved for <paramref name="partition"/>.</summary>
    public static SamTemplate Load(string partition = "aws") =>
        Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "template.yaml")), partition);

    public static SamTemplate Parse(string yaml, string partition = "aws")
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return new SamTemplate((YamlMappingNode)stream.Documents[0].RootNode, partition);
    }

    /// <summary>The statements of one function's <c>Policies</c>, as its execution role would hold them.</summary>
    public IamPolicy PolicyOf(string function)
    {
        var properties = Mapping(Mapping(Mapping(_root, "Resources"), function), "Properties");
        if (!properties.Children.TryGetValue(new YamlScalarNode("Policies"), out var policies))
        {
            return new IamPolicy([]);
        }

        return new IamPolicy([.. Items(policies).SelectMany(PolicyStatements)]);
    }

    private static YamlMappingNode Mapping(YamlNode node, string key) => (YamlMappingNode)((YamlMappingNode)node).Children[new YamlScalarNode(key)];

    private static string Text(YamlNode node, string key) => ((YamlScalarNode)((YamlMappingNode)node).Children[new YamlScalarNode(key)]).Value!;

    /// <summary>A list's items, or the one value (an intrinsic function written as a tagged list, like <c>!If [...]</c>, is one value).</summary>
    private static IEnumerable<YamlNode> Items(YamlNode node) => node is YamlSequenceNode sequence && Tag(node).Length == 0 ? sequence.Children : [node];

    private static NotSupportedException Refuse(YamlNode node, string what) =>
        new($"template.yaml line {node.Start.Line}: {what}; the policy test cannot evaluate it, so it refuses rather than guess");

    private static string Tag(YamlNode node) => node.Tag.IsEmpty || node.Tag.IsNonSpecific ? "" : node.Tag.Value;

    private IEnumerable<IamStatement> PolicyStatements(YamlNode policy)
    {
        if (policy is YamlMappingNode document && document.Children.TryGetValue(new YamlScalarNode("Statement"), out var statements))
        {
            return Items(statements).Select(Statement);
        }

        if (policy is YamlMappingNode { Children.Count: 1 } template && template.Children.Single() is { Key: YamlScalarNode { Value: "SQSSendMessagePolicy" } } entry)
        {
            // SAM's policy template: sqs:SendMessage* on arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:${QueueName}.
            var queue = Resolve(((YamlMappingNode)entry.Value).Children[new YamlScalarNode("QueueName")]);
            return [new IamStatement(IamEffect.Allow, ["sqs:SendMessage*"], [$"arn:{Partition}:sqs:{Region}:{AccountId}:{queue}"])];
        }

        throw Refuse(policy, "a managed policy or a SAM policy template other than SQSSendMessagePolicy");
    }

    private IamStatement Statement(YamlNode node)
    {
        var statement = (YamlMappingNode)node;
        foreach (var key in statement.Children.Keys.Cast<YamlScalarNode>().Select(k => k.Value!))
        {
            if (key is not ("Sid" or "Effect" or "Action" or "NotAction" or "Resource" or "NotResource"))
            {
                throw Refuse(node, $"a statement with {key}");
            }
        }

        var effect = Text(statement, "Effect") switch
        {
            "Allow" => IamEffect.Allow,
            "Deny" => IamEffect.Deny,
            var other => throw Refuse(node, $"Effect '{other}'"),
        };
        var (actionKey, notAction) = Either(statement, "Action", "NotAction");
        var (resourceKey, notResource) = Either(statement, "Resource", "NotResource");
        return new IamStatement(
            effect,
            [.. Items(statement.Children[new YamlScalarNode(actionKey)]).Select(Resolve)],
            [.. Items(statement.Children[new YamlScalarNode(resourceKey)]).Select(Resolve)],
            notAction,
            notResource);
    }

    private static (string Key, bool Negated) Either(YamlMappingNode statement, string plain, string negated) =>
        (statement.Children.ContainsKey(new YamlScalarNode(plain)), statement.Children.ContainsKey(new YamlScalarNode(negated))) switch
        {
            (true, false) => (plain, false),
            (false, true) => (negated, true),
            _ => throw Refuse(statement, $"a statement needs exactly one of {plain} and {negated}"),
        };

    /// <summary>A scalar, <c>!Sub</c>, <c>!Ref</c> or <c>!GetAtt</c> (short or long form) as CloudFormation would resolve it.</summary>
    private string Resolve(YamlNode node)
    {
        var (function, argument) = Tag(node) is { Length: > 0 } tag
            ? (tag.TrimStart('!'), node)
            : node is YamlMappingNode { Children.Count: 1 } longForm && ((YamlScalarNode)longForm.Children.Single().Key).Value is { } name && (name.StartsWith("Fn::", StringComparison.Ordinal) || name == "Ref")
                ? (name.Replace("Fn::", "", StringComparison.Ordinal), longForm.Children.Single().Value)
                : ("", node);
        return function switch
        {
            "" when argument is YamlScalarNode scalar => scalar.Value!,
            "Ref" or "GetAtt" when argument is YamlScalarNode reference => Value(node, reference.Value!),
            "GetAtt" when argument is YamlSequenceNode { Children.Count: 2 } parts => Value(node, string.Join('.', parts.Children.Select(Resolve))),
            "Sub" when argument is YamlScalarNode text => Substitute(node, text.Value!, []),
            "Sub" when argument is YamlSequenceNode { Children.Count: 2 } parts => Substitute(
                node,
                Resolve(parts.Children[0]),
                ((YamlMappingNode)parts.Children[1]).Children.ToDictionary(v => ((YamlScalarNode)v.Key).Value!, v => Resolve(v.Value))),
            _ => throw Refuse(node, $"{(function.Length == 0 ? "a non-scalar value" : "!" + function)} where a string is expected"),
        };
    }

    private string Value(YamlNode node, string name) =>
        _values.TryGetValue(name, out var value) ? value : throw Refuse(node, $"a reference to {name}, which has no test value");

    private string Substitute(YamlNode node, string text, Dictionary<string, string> variables) =>
        SubVariable().Replace(text, m => variables.TryGetValue(m.Groups[1].Value, out var local) ? local : Value(node, m.Groups[1].Value));

    [GeneratedRegex(@"\$\{([^}!]+)\}")]
    private static partial Regex SubVariable();
}
