using System.Text.RegularExpressions;

namespace PikaIngest.Functions.UnitTests;

public enum IamEffect
{
    Allow,
    Deny,
}

public enum IamDecision
{
    Allow,

    /// <summary>No statement allows the request: IAM's default.</summary>
    ImplicitDeny,

    /// <summary>A Deny statement matches, whatever allows it.</summary>
    ExplicitDeny,
}

/// <summary>
/// One statement of an identity policy. <see cref="NotAction"/> / <see cref="NotResource"/> invert their lists, as IAM's
/// NotAction and NotResource elements do. Conditions are not modelled: the reader refuses statements that carry one.
/// </summary>
public sealed record IamStatement(IamEffect Effect, IReadOnlyList<string> Actions, IReadOnlyList<string> Resources, bool NotAction = false, bool NotResource = false)
{
    public bool Matches(string action, string resourceArn) =>
        Actions.Any(pattern => IamPatterns.MatchesAction(pattern, action)) != NotAction
        && Resources.Any(pattern => IamPatterns.MatchesArn(pattern, resourceArn)) != NotResource;

    public override string ToString() =>
        $"{Effect} {(NotAction ? "NotAction " : "")}[{string.Join(", ", Actions)}] on {(NotResource ? "NotResource " : "")}[{string.Join(", ", Resources)}]";
}

/// <summary>One action on one resource pattern that an Allow statement grants: the unit the least-privilege tests take away.</summary>
public sealed record IamGrant(string Action, string Resource)
{
    public override string ToString() => $"{Action} on {Resource}";
}

/// <summary>
/// The identity policies of one role, evaluated as IAM evaluates them within one account: an explicit Deny wins, else
/// any Allow, else the request is denied by default.
/// </summary>
public sealed record IamPolicy(IReadOnlyList<IamStatement> Statements)
{
    public IamDecision Evaluate(string action, string resourceArn) =>
        Statements.Any(s => s.Effect == IamEffect.Deny && s.Matches(action, resourceArn)) ? IamDecision.ExplicitDeny
        : Statements.Any(s => s.Effect == IamEffect.Allow && s.Matches(action, resourceArn)) ? IamDecision.Allow
        : IamDecision.ImplicitDeny;

    public bool Allows(string action, string resourceArn) => Evaluate(action, resourceArn) == IamDecision.Allow;

    /// <summary>Every action-on-resource pair the plain Allow statements grant (NotAction/NotResource grants are not enumerable).</summary>
    public IEnumerable<IamGrant> Grants() =>
        Statements.Where(s => s.Effect == IamEffect.Allow && !s.NotAction && !s.NotResource)
            .SelectMany(s => s.Actions.SelectMany(a => s.Resources.Select(r => new IamGrant(a, r))))
            .Distinct();

    /// <summary>This policy with <paramref name="grant"/> taken out of every plain Allow statement that grants it (the rest of each statement stays).</summary>
    public IamPolicy Without(IamGrant grant) => new([.. Statements.SelectMany(s =>
        s.Effect != IamEffect.Allow || s.NotAction || s.NotResource || !s.Actions.Contains(grant.Action) || !s.Resources.Contains(grant.Resource)
            ? [s]
            : s.Actions.SelectMany(a => s.Resources.Where(r => (a, r) != (grant.Action, grant.Resource)).Select(r => new IamStatement(IamEffect.Allow, [a], [r]))))]);

    /// <summary>This policy with every plain Allow grant of <paramref name="action"/> taken out.</summary>
    public IamPolicy Without(string action) => Grants().Where(g => g.Action == action).Aggregate(this, (policy, grant) => policy.Without(grant));

    public override string ToString() => string.Join("; ", Statements);
}

/// <summary>IAM's matching of Action and Resource patterns (IAM User Guide, "IAM JSON policy elements: Action" and "Resource").</summary>
public static class IamPatterns
{
    /// <summary>Actions are <c>service:Name</c>, matched without regard to case; <c>*</c> and <c>?</c> are wildcards.</summary>
    public static bool MatchesAction(string pattern, string action) => Glob(pattern, action, ignoreCase: true);

    /// <summary>
    /// ARNs are matched case-sensitively, segment by segment (the parts between the first five colons); <c>*</c> and
    /// <c>?</c> match within a segment, including '/' (so <c>bucket/*</c> covers every key however deep), and a
    /// segment that ends in <c>*</c> may also run on across colons (so <c>*</c> alone, or <c>arn:aws:s3:*</c>, covers every S3 resource).
    /// </summary>
    public static bool MatchesArn(string pattern, string arn) => MatchSegments(Segments(pattern), 0, Segments(arn), 0);

    private static string[] Segments(string arn) => arn.Split(':', 6);

    private static bool MatchSegments(string[] pattern, int p, string[] arn, int a)
    {
        if (p == pattern.Length)
        {
            return a == arn.Length;
        }

        for (var end = a; end < arn.Length; end++)
        {
            if (end > a && !pattern[p].EndsWith('*'))
            {
                return false;
            }

            if (Glob(pattern[p], string.Join(':', arn[a..(end + 1)]), ignoreCase: false) && MatchSegments(pattern, p + 1, arn, end + 1))
            {
                return true;
            }
        }

        return false;
    }

    private static bool Glob(string pattern, string value, bool ignoreCase)
    {
        var regex = "^" + Regex.Escape(pattern).Replace(@"\*", ".*", StringComparison.Ordinal).Replace(@"\?", ".", StringComparison.Ordinal) + @"\z";
        return Regex.IsMatch(value, regex, RegexOptions.Singleline | RegexOptions.CultureInvariant | (ignoreCase ? RegexOptions.IgnoreCase : RegexOptions.None));
    }
}
