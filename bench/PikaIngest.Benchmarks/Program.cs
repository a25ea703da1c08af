using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/PikaIngest.Benchmarks -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(PikaIngest.Benchmarks.ShardParserBenchmarks).Assembly).Run(args);
