using System.Diagnostics;
using System.Net;
using System.Text;
using GoTrack.Tests.EndToEnd;
using GoTrack.Tests.SinkWorker;
using GoTrack.Tests.Support;

namespace GoTrack.Tests.Deploy;

/// <summary>
/// The orchestrated topology, running, for the monitoring tests: Ingest in process (ACK_MODE=wal,
/// OUTPUTS=kafka,log) on librdkafka's mock cluster, and SinkWorker as its own process loading a throwaway
/// Postgres from that topic. Keeps what each one's /metrics served: SinkWorker's before any message, and
/// both after events went all the way through.
/// </summary>
public sealed class RunningServices : IAsyncLifetime
{
    public const int Events = 20;

    private static readonly string SinkWorkerDll = Path.Combine(AppContext.BaseDirectory, "GoTrack.SinkWorker.dll");

    private SinkWorkerRig _rig = null!;
    private Process? _worker;
    private StringBuilder _workerOutput = new();
    private IngestFactory? _ingest;

    /// <summary>SinkWorker's /metrics once it started, before any message.</summary>
    public IReadOnlyList<PrometheusSample> SinkWorkerAtStart { get; private set; } = [];

    public IReadOnlyList<PrometheusSample> SinkWorker { get; private set; } = [];

    public IReadOnlyList<PrometheusSample> Ingest { get; private set; } = [];

    /// <summary>The samples of the service a scrape job scrapes.</summary>
    public IReadOnlyList<PrometheusSample> Of(GoTrackImage image) => image == GoTrackImage.Ingest ? Ingest : SinkWorker;

    public async Task InitializeAsync()
    {
        _rig = await SinkWorkerRig.CreateAsync();

        var port = PublishedIngest.FreePort();
        var env = _rig.Settings(("KAFKA_STATS_INTERVAL_MS", "200"))
            .Where(kv => kv.Value is not null).ToDictionary(kv => kv.Key, kv => kv.Value!);
        env["SERVER_ADDR"] = $"127.0.0.1:{port}";
        _worker = PublishedIngest.Start("dotnet", $"\"{SinkWorkerDll}\"", env, out _workerOutput);
        using var workerClient = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        await PublishedIngest.WaitUntilUpAsync(workerClient, _worker, _workerOutput);
        // Its counters are exported at zero once the host has started, a moment after /healthz answers; a
        // SinkWorker that never exports them fails the test that reads this, not the fixture.
        SinkWorkerAtStart = await ScrapeUntilAsync(workerClient, TimeSpan.FromSeconds(5), mustSee: false, "gotrack_sinkworker_dead_letters_total");

        _ingest = new IngestFactory(_rig.Kafka.IngestSettings(("ACK_MODE", "wal")));
        using var client = _ingest.CreateClient();
        for (var i = 0; i < Events; i++)
        {
            using var r = await client.GetAsync($"/px.gif?e=pageview&url=https%3A%2F%2Fshop.example%2F{i}");
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        }

        await _ingest.WaitDeliveredAsync(TimeSpan.FromSeconds(30));
        await _rig.WaitRowsAsync(Events);

        // The write-time histogram comes with the first batch, the lag with librdkafka's next statistics.
        SinkWorker = await ScrapeUntilAsync(workerClient, TimeSpan.FromSeconds(20), mustSee: true, "gotrack_sinkworker_write_latency_seconds_count", "gotrack_kafka_consumer_lag");
        Ingest = await ScrapeUntilAsync(client, TimeSpan.FromSeconds(20), mustSee: true, "gotrack_wal_fsync_seconds_count", "gotrack_batch_flush_seconds_count");
    }

    /// <summary>
    /// Scrapes /metrics until every one of <paramref name="names"/> is there (the exporter caches a scrape for
    /// 300 ms). After <paramref name="timeout"/>: throws, or returns the last scrape when <paramref name="mustSee"/> is false.
    /// </summary>
    private async Task<IReadOnlyList<PrometheusSample>> ScrapeUntilAsync(HttpClient client, TimeSpan timeout, bool mustSee, params string[] names)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var samples = PrometheusText.Parse(await client.GetStringAsync("/metrics"));
            var missing = names.Where(n => !samples.Any(s => s.Name == n)).ToList();
            if (missing.Count == 0)
            {
                return samples;
            }

            if (DateTime.UtcNow > deadline)
            {
                if (!mustSee)
                {
                    return samples;
                }

                throw new TimeoutException($"/metrics never showed {string.Join(", ", missing)}\n{_workerOutput}");
            }

            await Task.Delay(100);
        }
    }

    public async Task DisposeAsync()
    {
        _ingest?.Dispose();
        if (_worker is not null)
        {
            if (!_worker.HasExited)
            {
                PublishedIngest.SendSigterm(_worker);
                await _worker.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
            }

            _worker.Dispose();
        }

        await _rig.DisposeAsync();
    }
}
