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
    StatusCommand.Create(),
    RedriveCommand.Create(),
    RespCommand.Create(),
    VerifyCommand.Create(),
    RunCommand.Create(),
    ApplyCommand.Create(),
};
// Ctrl-C cancels the running verb; give it time to stop the nodes `run` started before the process ends.
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(30) });
