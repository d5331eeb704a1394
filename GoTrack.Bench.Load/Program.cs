using HdrHistogram;
using System.Globalization;
using System.Net;

namespace GoTrack.Bench.Load;

// A named class, not top-level statements: GoTrack.Tests references this project and GoTrack.Ingest,
// which has a public global Program.
internal static class LoadMain
{
    private const string Usage =
        "usage: GoTrack.Bench.Load URL RATE SECONDS [CONNECTIONS=64] [--client=raw|http]\n" +
        "  URL: the full URL, query included. raw (default): one keep-alive HTTP/1.1 socket per connection;\n" +
        "  http: HttpClient over SocketsHttpHandler with CONNECTIONS pooled connections (more CPU per request).\n" +
        SinkTools.Usage;

    private static readonly Dictionary<string, string> Headers = new()
    {
        ["User-Agent"] = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
        ["Accept-Language"] = "en-US",
    };

    public static async Task<int> Main(string[] args)
    {
        switch (args)
        {
            case ["--count-topic", var brokers, var topic]:
                return SinkTools.CountTopic(brokers, topic);
            case ["--ddl", var table]:
                return SinkTools.Ddl(table);
            case ["--copy", var path, var dsn, var table, .. var rest] when rest.Length <= 1:
                var batch = 500;
                if (rest.Length == 1 && (!int.TryParse(rest[0], CultureInfo.InvariantCulture, out batch) || batch <= 0))
                {
                    await Console.Error.WriteLineAsync(Usage).ConfigureAwait(false);
                    return 2;
                }

                return await SinkTools.CopyAsync(path, dsn, table, batch).ConfigureAwait(false);
            case [var first, ..] when first is "--count-topic" or "--ddl" or "--copy":
                await Console.Error.WriteLineAsync(Usage).ConfigureAwait(false);
                return 2;
        }

        var client = args.FirstOrDefault(a => a.StartsWith("--client=", StringComparison.Ordinal))?["--client=".Length..] ?? "raw";
        var positional = args.Where(a => !a.StartsWith("--", StringComparison.Ordinal)).ToArray();
        var connections = 64;
        if (positional.Length < 3 || !Uri.TryCreate(positional[0], UriKind.Absolute, out var url)
            || !double.TryParse(positional[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var rate) || rate <= 0
            || !double.TryParse(positional[2], NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) || seconds <= 0
            || (positional.Length > 3 && (!int.TryParse(positional[3], CultureInfo.InvariantCulture, out connections) || connections <= 0))
            || client is not ("raw" or "http"))
        {
            await Console.Error.WriteLineAsync(Usage).ConfigureAwait(false);
            return 2;
        }

        Func<int, long, CancellationToken, ValueTask<bool>> send;
        var disposables = new List<IAsyncDisposable>();
        if (client == "raw")
        {
            var pool = new RawHttpConnection[connections];
            for (var c = 0; c < connections; c++)
            {
                pool[c] = new RawHttpConnection(url, Headers);
                disposables.Add(pool[c]);
            }

            send = (worker, _, ct) => pool[worker].SendAsync(ct);
        }
        else
        {
            var handler = new SocketsHttpHandler
            {
                MaxConnectionsPerServer = connections,
                PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
                PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
                AutomaticDecompression = DecompressionMethods.None,
                UseCookies = false,
                UseProxy = false,
            };
            var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
            foreach (var (name, value) in Headers)
            {
                http.DefaultRequestHeaders.TryAddWithoutValidation(name, value);
            }

            disposables.Add(new DisposeAdapter(http));
            send = (_, _, ct) => SendHttpAsync(http, url, ct);
        }

        try
        {
            // Open every connection before the clock starts, so connecting is not charged to the first requests.
            var warm = new Task<bool>[connections];
            for (var c = 0; c < connections; c++)
            {
                warm[c] = send(c, -1, CancellationToken.None).AsTask();
            }

            await Task.WhenAll(warm).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or System.Net.Sockets.SocketException or InvalidDataException)
        {
            await Console.Error.WriteLineAsync($"cannot reach {url}: {e.Message}").ConfigureAwait(false);
            return 1;
        }

        try
        {
            // A short unrecorded run at the same rate first, so the generator's own JIT tiering is not in the figures.
            var warmSeconds = Math.Min(2, seconds / 5);
            _ = await OpenLoop.RunAsync(send, rate, TimeSpan.FromSeconds(warmSeconds), connections).ConfigureAwait(false);
            var result = await OpenLoop.RunAsync(send, rate, TimeSpan.FromSeconds(seconds), connections).ConfigureAwait(false);
            Print(result, rate, connections, client);
            return 0;
        }
        finally
        {
            foreach (var d in disposables)
            {
                await d.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static async ValueTask<bool> SendHttpAsync(HttpClient client, Uri url, CancellationToken ct)
    {
        using var response = await client.GetAsync(url, HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false);
        return response.IsSuccessStatusCode;
    }

    private sealed class DisposeAdapter(IDisposable inner) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            inner.Dispose();
            return ValueTask.CompletedTask;
        }
    }

    private static void Print(OpenLoopResult r, double rate, int connections, string client)
    {
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(inv,
            $"target {rate:F0} req/s, {connections} connections ({client}): achieved {r.AchievedRate:F0} req/s ({r.Completed} ok, {r.Errors} errors, {r.Scheduled} scheduled, {r.Seconds:F1} s)"));
        Console.WriteLine(string.Create(inv,
            $"latency from intended send time (ms): p50 {r.PercentileMs(50):F3} p99 {r.PercentileMs(99):F3} p99.9 {r.PercentileMs(99.9):F3} max {r.MaxMs:F3}"));
        Console.WriteLine(string.Create(inv,
            $"generator release lag (ms): p99 {r.SendLag.GetValueAtPercentile(99) / 1000.0:F3} max {r.SendLag.GetMaxValue() / 1000.0:F3}; released late (>{OpenLoop.BehindThresholdMicros / 1000.0:F0} ms): {r.SentLate}"));
        Console.WriteLine(r.FellBehind
            ? "generator: FELL BEHIND: over 1% of requests released more than 2 ms after their intended time (the generator did not get the CPU in time);"
              + " their latency still counts from the intended time, so the percentiles include the generator's own delay and are an upper bound for the server"
            : "generator: kept schedule");
        // One machine-readable line for bench/run.sh.
        Console.WriteLine(string.Create(inv,
            $"RESULT client={client} rate={rate:F0} achieved={r.AchievedRate:F0} ok={r.Completed} p50={r.PercentileMs(50):F3} p99={r.PercentileMs(99):F3} p999={r.PercentileMs(99.9):F3} max={r.MaxMs:F3} errors={r.Errors} behind={(r.FellBehind ? "yes" : "no")} late={r.SentLate}"));
    }
}
