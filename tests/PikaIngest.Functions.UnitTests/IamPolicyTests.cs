using PikaIngest.Core.Storage;

namespace PikaIngest.Functions.UnitTests;

/// <summary>The policy evaluator, the template reader and the policy-enforcing store on IAM's and S3's documented cases.</summary>
public sealed class IamPolicyTests
{
    private const string Bucket = "arn:aws:s3:::b";

    private static IamPolicy Allow(string action, params string[] resources) => new([new IamStatement(IamEffect.Allow, [action], resources)]);

    [Theory]
    [InlineData("arn:aws:s3:::b/state/*", "arn:aws:s3:::b/state/b1/lease/i0-000001.lock", true)] // '*' runs across '/'
    [InlineData("arn:aws:s3:::b/state/*", "arn:aws:s3:::b/state/", true)]
    [InlineData("arn:aws:s3:::b/state/*", "arn:aws:s3:::b/statex", false)]
    [InlineData("arn:aws:s3:::b/state/*", "arn:aws:s3:::b/State/x", false)] // ARNs are case-sensitive
    [InlineData("arn:aws:s3:::b/*", "arn:aws:s3:::b", false)] // objects, not the bucket
    [InlineData("arn:aws:s3:::b", "arn:aws:s3:::b/k", false)]
    [InlineData("arn:aws:s3:::b*", "arn:aws:s3:::bucket2/k", true)] // a trailing '*' on the bucket name also covers other buckets
    [InlineData("arn:aws:s3:::b/i?.json", "arn:aws:s3:::b/i1.json", true)]
    [InlineData("arn:aws:s3:::b/i?.json", "arn:aws:s3:::b/i10.json", false)]
    [InlineData("arn:aws:s3:::b/a?b", "arn:aws:s3:::b/a/b", true)]
    [InlineData("arn:aws:s3:::b/*/done/*.json", "arn:aws:s3:::b/state/b1/done/000001.json", true)]
    [InlineData("arn:aws:s3:::b/k", "arn:aws-cn:s3:::b/k", false)] // another partition
    [InlineData("*", "arn:aws:s3:::b/k", true)]
    [InlineData("arn:aws:s3:*", "arn:aws:s3:::b/k", true)] // a segment ending in '*' runs on across colons
    [InlineData("arn:aws:s3:us-*:::b/k", "arn:aws:s3:::b/k", false)]
    [InlineData("arn:*:s3:::b/k", "arn:aws-us-gov:s3:::b/k", true)]
    [InlineData("arn:aws:s3:::b/x:y", "arn:aws:s3:::b/x:y", true)] // a key may hold colons: the sixth segment keeps them
    public void Resources_match_as_iam_matches_arns(string pattern, string arn, bool matches)
    {
        Assert.Equal(matches, IamPatterns.MatchesArn(pattern, arn));
    }

    [Theory]
    [InlineData("s3:GetObject", "s3:GetObject", true)]
    [InlineData("S3:getobject", "s3:GetObject", true)] // actions are not case-sensitive
    [InlineData("s3:Get*", "s3:GetObject", true)]
    [InlineData("s3:Get*", "s3:PutObject", false)]
    [InlineData("s3:*Object", "s3:DeleteObject", true)]
    [InlineData("s3:?etObject", "s3:GetObject", true)]
    [InlineData("s3:*", "sqs:SendMessage", false)]
    [InlineData("*", "sqs:SendMessage", true)]
    [InlineData("s3:GetObject", "s3:GetObjectAcl", false)]
    public void Actions_match_without_case_and_with_wildcards(string pattern, string action, bool matches)
    {
        Assert.Equal(matches, IamPatterns.MatchesAction(pattern, action));
    }

    [Fact]
    public void An_explicit_deny_wins_over_any_allow_and_nothing_is_allowed_by_default()
    {
        var policy = new IamPolicy(
        [
            new IamStatement(IamEffect.Allow, ["s3:*"], ["*"]),
            new IamStatement(IamEffect.Deny, ["s3:DeleteObject"], [Bucket + "/state/*"]),
        ]);

        Assert.Equal(IamDecision.ExplicitDeny, policy.Evaluate(S3Actions.DeleteObject, Bucket + "/state/x"));
        Assert.Equal(IamDecision.Allow, policy.Evaluate(S3Actions.DeleteObject, Bucket + "/runs/x"));
        Assert.Equal(IamDecision.Allow, policy.Evaluate(S3Actions.GetObject, Bucket + "/state/x"));
        Assert.Equal(IamDecision.ImplicitDeny, policy.Evaluate("sqs:SendMessage", "arn:aws:sqs:us-east-1:1:q"));
        Assert.Equal(IamDecision.ImplicitDeny, new IamPolicy([]).Evaluate(S3Actions.GetObject, Bucket + "/k"));
    }

    [Fact]
    public void Not_action_and_not_resource_invert_their_lists()
    {
        var policy = new IamPolicy(
        [
            new IamStatement(IamEffect.Allow, [S3Actions.DeleteObject], [Bucket + "/*"], NotAction: true),
            new IamStatement(IamEffect.Deny, [S3Actions.PutObject], [Bucket + "/state/*"], NotResource: true),
        ]);

        Assert.True(policy.Allows(S3Actions.GetObject, Bucket + "/k"));
        Assert.False(policy.Allows(S3Actions.DeleteObject, Bucket + "/k"));
        Assert.True(policy.Allows(S3Actions.PutObject, Bucket + "/state/k"));
        Assert.Equal(IamDecision.ExplicitDeny, policy.Evaluate(S3Actions.PutObject, Bucket + "/sst/k"));
    }

    [Fact]
    public void Taking_one_grant_out_keeps_the_rest_of_its_statement()
    {
        var policy = new IamPolicy([new IamStatement(IamEffect.Allow, [S3Actions.GetObject, S3Actions.PutObject], [Bucket + "/a/*", Bucket + "/b/*"])]);

        var reduced = policy.Without(new IamGrant(S3Actions.PutObject, Bucket + "/a/*"));

        Assert.Equal(4, policy.Grants().Count());
        Assert.Equal(3, reduced.Grants().Count());
        Assert.False(reduced.Allows(S3Actions.PutObject, Bucket + "/a/k"));
        Assert.True(reduced.Allows(S3Actions.PutObject, Bucket + "/b/k"));
        Assert.True(reduced.Allows(S3Actions.GetObject, Bucket + "/a/k"));
        Assert.False(policy.Without(S3Actions.GetObject).Allows(S3Actions.GetObject, Bucket + "/b/k"));
    }

    [Fact]
    public void The_reader_takes_scalar_and_list_forms_and_resolves_sub_ref_and_getatt_in_short_and_long_form()
    {
        var template = SamTemplate.Parse("""
            Parameters:
              Prefix: { Type: String, Default: data }
            Resources:
              F:
                Type: AWS::Serverless::Function
                Properties:
                  Policies:
                    - Statement:
                        - Effect: Allow
                          Action: s3:ListBucket
                          Resource: !Sub 'arn:${AWS::Partition}:s3:::${Prefix}-${AWS::AccountId}'
                        - Effect: Allow
                          Action: [s3:GetObject, s3:PutObject]
                          Resource:
                            - !Sub ['arn:${AWS::Partition}:s3:::${B}/in/*', { B: !Ref Prefix }]
                            - Fn::Sub: 'arn:${AWS::Partition}:s3:::${Prefix}/out/*'
                        - Effect: Deny
                          NotAction: s3:GetObject
                          Resource: !GetAtt IngestFailureQueue.Arn
                    - SQSSendMessagePolicy:
                        QueueName: !GetAtt IngestFailureQueue.QueueName
            """, partition: "aws-cn");

        var policy = template.PolicyOf("F");

        Assert.True(policy.Allows(S3Actions.ListBucket, "arn:aws-cn:s3:::data-123456789012"));
        Assert.True(policy.Allows(S3Actions.PutObject, "arn:aws-cn:s3:::data/in/k"));
        Assert.True(policy.Allows(S3Actions.GetObject, "arn:aws-cn:s3:::data/out/k"));
        Assert.False(policy.Allows(S3Actions.GetObject, "arn:aws:s3:::data/out/k"));
        var queue = $"arn:aws-cn:sqs:{SamTemplate.Region}:{SamTemplate.AccountId}:pika-ingest-IngestFailureQueue-TEST";
        Assert.Contains(new IamGrant("sqs:SendMessage*", queue), policy.Grants());
        Assert.Equal(IamDecision.ExplicitDeny, policy.Evaluate("sqs:SendMessage", queue));
    }

    [Theory]
    [InlineData("- Statement: [{ Effect: Allow, Action: 's3:*', Resource: '*', Condition: { Bool: { aws:SecureTransport: 'true' } } }]", "a statement with Condition")]
    [InlineData("- AWSLambdaExecute", "a managed policy")]
    [InlineData("- S3ReadPolicy: { BucketName: b }", "a managed policy or a SAM policy template")]
    [InlineData("- Statement: [{ Effect: Allow, Action: 's3:*', Resource: !If [C, a, b] }]", "!If where a string is expected")]
    [InlineData("- Statement: [{ Effect: Allow, Action: 's3:*', Resource: !Sub '${Nowhere}' }]", "a reference to Nowhere")]
    [InlineData("- Statement: [{ Effect: Allow, Action: 's3:*', NotAction: 's3:Get*', Resource: '*' }]", "exactly one of Action and NotAction")]
    public void What_the_reader_cannot_evaluate_is_refused_with_its_line(string policies, string expected)
    {
        var template = SamTemplate.Parse($"""
            Resources:
              F:
                Type: AWS::Serverless::Function
                Properties:
                  Policies:
                    {policies}
            """);

        var refused = Assert.Throws<NotSupportedException>(() => template.PolicyOf("F"));

        Assert.Contains(expected, refused.Message, StringComparison.Ordinal);
        Assert.StartsWith("template.yaml line ", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_key_is_absent_only_to_a_role_that_may_list_the_bucket()
    {
        var root = Directory.CreateTempSubdirectory("pika-policy-").FullName;
        try
        {
            var folder = new LocalFolderStoreProvider(root);
            await folder.Bucket("b").PutBytesAsync("state/there.json", "{}"u8.ToArray());
            var reader = new PolicyEnforcingStoreProvider(folder, Allow(S3Actions.GetObject, Bucket + "/state/*")).Bucket("b");
            var lister = new PolicyEnforcingStoreProvider(folder, new IamPolicy([.. Allow(S3Actions.GetObject, Bucket + "/state/*").Statements, .. Allow(S3Actions.ListBucket, Bucket).Statements])).Bucket("b");

            Assert.NotNull(await reader.HeadAsync("state/there.json"));
            Assert.Equal("{}"u8.ToArray(), await reader.GetBytesAsync("state/there.json", 10));
            var hidden = await Assert.ThrowsAsync<ObjectStoreAccessDeniedException>(() => reader.HeadAsync("state/missing.json"));
            Assert.Equal(("b", "state/missing.json", S3Actions.GetObject), (hidden.Bucket, hidden.Key, hidden.Action));
            await Assert.ThrowsAsync<ObjectStoreAccessDeniedException>(() => reader.GetBytesAsync("state/missing.json", 10));
            await Assert.ThrowsAsync<ObjectStoreAccessDeniedException>(() => reader.GetRangeAsync("state/missing.json", 0, 1));
            await Assert.ThrowsAsync<ObjectStoreAccessDeniedException>(() => reader.DownloadAsync("state/missing.json", Path.Combine(root, "out")));

            Assert.Null(await lister.HeadAsync("state/missing.json"));
            await Assert.ThrowsAsync<ObjectNotFoundException>(() => lister.GetBytesAsync("state/missing.json", 10));
            Assert.Single(await lister.ListAsync("state/").ToListAsync());

            // Without s3:GetObject on the key, S3 refuses whether or not the key exists.
            var denied = await Assert.ThrowsAsync<ObjectStoreAccessDeniedException>(() => lister.HeadAsync("runs/x.run"));
            Assert.Equal(S3Actions.GetObject, denied.Action);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task Writes_deletes_and_lists_need_their_own_actions_and_a_denied_request_changes_nothing()
    {
        var root = Directory.CreateTempSubdirectory("pika-policy-").FullName;
        try
        {
            var folder = new LocalFolderStoreProvider(root);
            await folder.Bucket("b").PutBytesAsync("state/there.json", "{}"u8.ToArray());
            var store = new PolicyEnforcingStoreProvider(folder, Allow(S3Actions.PutObject, Bucket + "/sst/*")).Bucket("b");
            var file = Path.Combine(root, "upload");
            await File.WriteAllTextAsync(file, "x");

            await store.PutBytesAsync("sst/a", "x"u8.ToArray());
            Assert.Equal(CreateOutcome.AlreadyExists, await store.CreateIfAbsentAsync("sst/a", "y"u8.ToArray()));
            await store.UploadAsync("sst/b", file);
            Assert.Equal(S3Actions.PutObject, (await Assert.ThrowsAsync<ObjectStoreAccessDeniedException>(() => store.PutBytesAsync("state/a", "x"u8.ToArray()))).Action);
            await Assert.ThrowsAsync<ObjectStoreAccessDeniedException>(() => store.CreateIfAbsentAsync("runs/a", "x"u8.ToArray()));
            await Assert.ThrowsAsync<ObjectStoreAccessDeniedException>(() => store.UploadAsync("runs/b", file));
            Assert.Equal(S3Actions.DeleteObject, (await Assert.ThrowsAsync<ObjectStoreAccessDeniedException>(() => store.DeleteAsync("state/there.json"))).Action);
            var list = await Assert.ThrowsAsync<ObjectStoreAccessDeniedException>(async () => await store.ListAsync("sst/").ToListAsync());
            Assert.Equal(("sst/", S3Actions.ListBucket), (list.Key, list.Action));
            Assert.StartsWith("listing s3://b/ under 'sst/': access denied to s3:ListBucket", list.Message, StringComparison.Ordinal);

            Assert.True(File.Exists(Path.Combine(root, "b", "state", "there.json")));
            Assert.False(Directory.Exists(Path.Combine(root, "b", "runs")));
            Assert.Equal(["sst/a", "sst/b", "state/there.json"], (await folder.Bucket("b").ListAsync("").ToListAsync()).Select(o => o.Key));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
