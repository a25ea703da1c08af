namespace PikaIngest.Functions;

/// <summary>Lambda captures stdout into CloudWatch Logs; one line per message.</summary>
internal static class FunctionLog
{
    public static void Write(string message) => Console.WriteLine(message);
}
