using BenchmarkDotNet.Running;

namespace GoTrack.Benchmarks;

// A named class in this namespace, not top-level statements: GoTrack.Ingest has a public global
// Program (for WebApplicationFactory), and a second global Program here would be CS0436.
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "kafka")
        {
            return await KafkaThroughput.RunAsync(args);
        }

        if (args.Length > 0 && args[0] == "postgres")
        {
            return await PostgresThroughput.RunAsync(args);
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
