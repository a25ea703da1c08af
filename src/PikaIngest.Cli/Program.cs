using System.CommandLine;
using PikaIngest.Cli.Commands;

var root = new RootCommand("pika-ingest: bulk-load data into Pika through SST files built offline")
{
    MockCommand.Create(),
    ConvertCommand.Create(),
    InspectCommand.Create(),
    UploadCommand.Create(),
    InvokeCommand.Create(),
    WatchCommand.Create(),
    RespCommand.Create(),
    VerifyCommand.Create(),
};
return await root.Parse(args).InvokeAsync();
