namespace PikaIngest.StockPika.Tests;

/// <summary>
/// A test that needs a stock Pika executable: it runs when <c>PIKA_SERVER</c> names one
/// (<c>./test.sh --stock-pika PATH</c> sets it), and is reported as skipped, with the reason and how
/// to run it, when not, so a run without Pika never looks like a pass on Pika.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class StockPikaFactAttribute : FactAttribute
{
    public StockPikaFactAttribute()
    {
        if (StockPikaServer.Executable is null)
        {
            Skip = StockPikaServer.NotConfiguredReason;
        }
    }
}

/// <summary>The data-driven form of <see cref="StockPikaFactAttribute"/>.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class StockPikaTheoryAttribute : TheoryAttribute
{
    public StockPikaTheoryAttribute()
    {
        if (StockPikaServer.Executable is null)
        {
            Skip = StockPikaServer.NotConfiguredReason;
        }
    }
}

/// <summary>A test that needs a stock Pika 3.5 executable (<c>PIKA_SERVER_35</c>, <c>./test.sh --stock-pika PATH --stock-pika-35 PATH</c>).</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class StockPika35FactAttribute : FactAttribute
{
    public StockPika35FactAttribute()
    {
        if (StockPikaServer.Executable35 is null)
        {
            Skip = $"not run: {StockPikaServer.Server35Variable} does not name a stock Pika 3.5 executable; build one with scripts/stock-pika/build.sh --version 3.5.5 and run ./test.sh --stock-pika PATH --stock-pika-35 PATH";
        }
    }
}
