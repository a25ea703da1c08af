using System.Text.RegularExpressions;

namespace PikaIngest.Core.Storage;

/// <summary>
/// Store addressing (docs/ARCHITECTURE.md §3.2). A whole store is <c>s3</c> (the standard AWS chain,
/// <c>AWS_ENDPOINT_URL_S3</c> for S3-compatible endpoints) or <c>file:///ROOT</c>, whose bucket
/// <c>B</c> is the folder <c>ROOT/B</c>. A data location is <c>s3://bucket[/prefix]</c>,
/// <c>file:///path</c> or a plain folder, which is that bucket's root.
/// </summary>
public static partial class ObjectStores
{
    private const string S3Scheme = "s3://";
    private const string FileScheme = "file://";

    /// <summary>A whole store: <c>s3</c>, <c>s3://</c>, <c>file:///ROOT</c> or a plain folder.</summary>
    public static IObjectStoreProvider OpenProvider(string uri)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(uri);
        if (uri.Equals("s3", StringComparison.OrdinalIgnoreCase) || uri.Equals(S3Scheme, StringComparison.OrdinalIgnoreCase))
        {
            return S3ObjectStoreProvider.FromEnvironment();
        }

        if (uri.StartsWith(S3Scheme, StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"'{uri}' names a bucket, but a store is wanted here: use 's3' (the bucket is chosen per request)");
        }

        return new LocalFolderStoreProvider(LocalPath(uri));
    }

    /// <summary>A data location: <c>s3://bucket[/prefix]</c>, <c>file:///path</c> or a plain folder (bucket: the folder's name).</summary>
    public static IObjectStore OpenLocation(string location)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(location);
        if (location.Equals("s3", StringComparison.OrdinalIgnoreCase) || location.StartsWith(S3Scheme, StringComparison.OrdinalIgnoreCase))
        {
            var (bucket, prefix) = ParseS3Location(location);
            return S3ObjectStoreProvider.FromEnvironment().Bucket(bucket, prefix);
        }

        return new LocalFolderStore(LocalPath(location));
    }

    /// <summary>Splits <c>s3://bucket[/prefix]</c>, checking the bucket name and the prefix's segments.</summary>
    public static (string Bucket, string Prefix) ParseS3Location(string location)
    {
        ArgumentNullException.ThrowIfNull(location);
        var rest = location.StartsWith(S3Scheme, StringComparison.OrdinalIgnoreCase) ? location[S3Scheme.Length..] : "";
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var bucket = slash < 0 ? rest : rest[..slash];
        var prefix = slash < 0 ? "" : rest[(slash + 1)..].TrimEnd('/');
        if (bucket.Length == 0)
        {
            throw new ArgumentException($"'{location}' names no bucket: use s3://bucket[/prefix]");
        }

        if (!S3ObjectStore.IsValidBucketName(bucket))
        {
            throw new ArgumentException($"'{location}': invalid S3 bucket name '{bucket}': use 3-63 of [a-z0-9.-], starting and ending with a letter or digit");
        }

        if (prefix.Length > 0 && !IsValidKey(prefix))
        {
            throw new ArgumentException($"'{location}': invalid key prefix '{prefix}'");
        }

        return (bucket, prefix);
    }

    /// <summary>
    /// Keys are '/'-separated relative paths with no empty, '.' or '..' segments, no backslash and
    /// no NUL, so that every store, a folder included, maps them the same way.
    /// </summary>
    public static bool IsValidKey(string? key) =>
        !string.IsNullOrEmpty(key) && !key.Contains('\\', StringComparison.Ordinal) && !key.Contains('\0', StringComparison.Ordinal)
        && !key.Split('/').Any(segment => segment is "" or "." or "..");

    internal static string RequireValidKey(string key) =>
        IsValidKey(key) ? key : throw new ArgumentException($"invalid object key '{key}'");

    private static string LocalPath(string uri)
    {
        if (uri.StartsWith(FileScheme, StringComparison.OrdinalIgnoreCase))
        {
            if (!Uri.TryCreate(uri, UriKind.Absolute, out var parsed) || !parsed.IsFile || !string.IsNullOrEmpty(parsed.Host))
            {
                throw new ArgumentException($"'{uri}': a folder URI is file:///absolute/path (three slashes, no host)");
            }

            return parsed.LocalPath;
        }

        if (SchemePattern().IsMatch(uri))
        {
            throw new ArgumentException($"'{uri}': unsupported store; use s3://bucket[/prefix], s3, file:///path or a folder path");
        }

        return uri;
    }

    [GeneratedRegex(@"^[A-Za-z][A-Za-z0-9+.-]*://")]
    private static partial Regex SchemePattern();
}
