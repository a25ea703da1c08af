using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace PikaIngest.Functions;

internal static class FunctionJson
{
    /// <summary>Reads an S3 notification from the invocation payload, logging the parts that are not object-created records.</summary>
    public static async Task<IReadOnlyList<PikaIngest.Core.Pipeline.S3ObjectEvent>> ReadEventsAsync(Stream input, string function, Action<string> log)
    {
        using var buffer = new MemoryStream();
        await input.CopyToAsync(buffer).ConfigureAwait(false);
        var events = PikaIngest.Core.Pipeline.S3Event.Parse(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), out var ignored);
        if (ignored is not null)
        {
            log($"{function}: ignored part of the event: {ignored}");
        }

        return events;
    }

    /// <summary>The invocation's response: <c>{"results":[…]}</c>.</summary>
    public static Stream Reply<T>(IReadOnlyList<T> results) => new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(new { results }, Options));

    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
}
