using System.Text;
using PikaIngest.Node.Binlog;
using static PikaIngest.Node.UnitTests.Binlog.BinlogTestSupport;

namespace PikaIngest.Node.UnitTests.Binlog;

/// <summary>Expected bytes are written out from docs/FORMATS.md §7 and Pika's source, not produced by the encoder under test.</summary>
public sealed class BinlogGoldenTests
{
    private const string Ping = "*1\r\n$4\r\nPING\r\n";
    private const string IngestJson = """{"version":1,"bucket":"b","manifestKey":"manifests/x.json","batchId":"x","files":[]}""";

    [Fact]
    public void A_command_and_an_ingest_item_land_in_a_fresh_binlog_byte_for_byte()
    {
        using var dir = new TempBinlogDirectory();
        using (var writer = BinlogWriter.Open(dir.Path, Options()))
        {
            Assert.Equal(new BinlogPosition(0, 0), writer.Append(BinlogItemType.Command, Encoding.ASCII.GetBytes(Ping)));
            writer.Term = 7;
            Assert.Equal(new BinlogPosition(0, 56), writer.Append(BinlogItemType.IngestSst, Encoding.ASCII.GetBytes(IngestJson)));
            Assert.Equal(new BinlogPosition(0, 182), writer.Position);
        }

        byte[] expected =
        [
            // fragment: length 48 (u24), time 0x5F5E1000, type 1 (full)
            .. H("30 00 00  00 10 5E 5F  01"),

            // item: type 1, exec_time, term 0, logic_id 1, filenum 0, offset 0, content_len 14
            .. H("01 00  00 10 5E 5F  00 00 00 00  01 00 00 00 00 00 00 00  00 00 00 00  00 00 00 00 00 00 00 00  0E 00 00 00"),
            .. Encoding.ASCII.GetBytes(Ping),

            // fragment: length 34 + 84 = 118
            .. H("76 00 00  00 10 5E 5F  01"),

            // item: type 2, exec_time, term 7, logic_id 2, filenum 0, offset 56, content_len 84
            .. H("02 00  00 10 5E 5F  07 00 00 00  02 00 00 00 00 00 00 00  00 00 00 00  38 00 00 00 00 00 00 00  54 00 00 00"),
            .. Encoding.ASCII.GetBytes(IngestJson),
        ];
        Assert.Equal(Hex(expected), Hex(File.ReadAllBytes(dir.DataFile(0))));

        // manifest: filenum 0, offset 182, logic_id 2, term 7
        var manifest = H("00 00 00 00  B6 00 00 00 00 00 00 00  02 00 00 00 00 00 00 00  07 00 00 00");
        Assert.Equal(Hex(manifest), Hex(File.ReadAllBytes(dir.Manifest)));
    }

    private static byte[] H(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));

    private static string Hex(byte[] bytes) => Convert.ToHexString(bytes);
}
