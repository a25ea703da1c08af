namespace PikaIngest.StockPika.Tests;

/// <summary>The harness itself: a stock Pika starts on its own folder, answers, and keeps its data across a restart.</summary>
public sealed class StockPikaSmokeTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("stock-pika-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [StockPikaFact]
    public async Task Stock_pika_answers_and_keeps_a_key_across_a_restart()
    {
        await using (var pika = await StockPikaServer.StartAsync(_folder))
        {
            Assert.Equal("+OK\r\n", await pika.CommandAsync("SET", "a", "b"));
            await pika.StopAsync();
        }

        await using var again = await StockPikaServer.StartAsync(_folder);
        Assert.Equal("$1\r\nb\r\n", await again.CommandAsync("GET", "a"));
    }
}
