namespace PikaIngest.Cli.Tests;

/// <summary>
/// Reads SST files with Debian's stock <c>sst_dump</c> (RocksDB 7.8): proof that files we write
/// are readable by RocksDB itself, independent of the library we write them with.
/// </summary>
public static class SstDump
{
    /// <summary>The stored key/value pairs, in file order.</summary>
    public static List<(byte[] Key, byte[] Value)> Scan(string sstPath)
    {
        var result = ProcessRunner.Run(ProcessRunner.RequireTool("sst_dump"), [$"--file={sstPath}", "--command=scan", "--output_hex"]);
        Assert.True(result.ExitCode == 0, $"sst_dump failed on {sstPath}: {result}");
        Assert.DoesNotContain("Corruption", result.Stdout + result.Stderr, StringComparison.Ordinal);

        // Lines look like: 'HEXKEY' seq:0, type:1 => HEXVALUE — everything else is per-run noise (pointers, paths).
        var records = new List<(byte[], byte[])>();
        foreach (var line in result.Stdout.Split('\n').Where(l => l.Contains(" => ", StringComparison.Ordinal)))
        {
            var keyHex = line[1..line.IndexOf('\'', 1)];
            var valueHex = line[(line.IndexOf(" => ", StringComparison.Ordinal) + 4)..].Trim();
            records.Add((Convert.FromHexString(keyHex), Convert.FromHexString(valueHex)));
        }

        return records;
    }

    public static Dictionary<string, string> Properties(string sstPath)
    {
        var result = ProcessRunner.Run(ProcessRunner.RequireTool("sst_dump"), [$"--file={sstPath}", "--show_properties"]);
        Assert.True(result.ExitCode == 0, $"sst_dump failed on {sstPath}: {result}");
        return result.Stdout.Split('\n')
            .Select(l => l.Trim())
            .Where(l => l.Contains(": ", StringComparison.Ordinal))
            .Select(l => (Name: l[..l.IndexOf(": ", StringComparison.Ordinal)], Value: l[(l.IndexOf(": ", StringComparison.Ordinal) + 2)..]))
            .GroupBy(p => p.Name)
            .ToDictionary(g => g.Key, g => g.First().Value);
    }
}
