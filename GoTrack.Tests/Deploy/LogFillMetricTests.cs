using System.Net;
using GoTrack.Tests.Support;

namespace GoTrack.Tests.Deploy;

/// <summary>
/// gotrack_log_fill_ratio is what the "log filling" alert watches: the same fill /readyz judges (the larger
/// of events and bytes against the log's bounds), so the alert does not need to know QUEUE_MAX_EVENTS,
/// QUEUE_MAX_MB or WAL_MAX_BYTES.
/// Runs alone: OpenTelemetry exports every meter named GoTrack in the process, so another test's host
/// running beside would add its own gauge as a second sample (the cause of a failed CI run).
/// </summary>
[Collection(GoTrack.Tests.Http.ZeroSeriesGroup.Name)]
public sealed class LogFillMetricTests
{
    [Fact]
    public async Task The_fill_of_the_event_log_is_exported_as_a_ratio_of_its_bound()
    {
        // The NDJSON sink cannot open its file (its folder is a file), so nothing leaves the log.
        using var dir = new TempDir();
        var blocker = dir.Blocker();
        using var factory = new IngestFactory(new()
        {
            ["LOG_PATH"] = Path.Combine(blocker, "events.ndjson"),
            ["QUEUE_MAX_EVENTS"] = "20",
            ["MAX_BATCH_EVENTS"] = "5", // at most the log's bound, or the start fails
            ["SINK_RETRY_BASE_MS"] = "10",
            ["SINK_RETRY_MAX_MS"] = "50",
            ["SHUTDOWN_TIMEOUT"] = "1s", // the stop gives up on draining a sink that never writes
        });
        using var client = factory.CreateClient();

        await ExpectFillAsync(client, 0);
        await SendAsync(client, 5);
        await ExpectFillAsync(client, 0.25);
        await SendAsync(client, 15);
        await ExpectFillAsync(client, 1);
    }

    /// <summary>
    /// The exporter serves a cached scrape for 300 ms, so a value just changed may show on a later scrape:
    /// scrape until it does, for 5 s at most, then compare what was last seen.
    /// </summary>
    private static async Task ExpectFillAsync(HttpClient client, double expected)
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        double fill;
        while ((fill = PrometheusText.ValueOf(await client.GetStringAsync("/metrics"), "gotrack_log_fill_ratio")) != expected
            && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.Equal(expected, fill);
    }

    [Fact]
    public async Task In_wal_mode_the_fill_is_the_logs_bytes_against_WAL_MAX_BYTES()
    {
        using var factory = new IngestFactory(new()
        {
            ["ACK_MODE"] = "wal",
            ["WAL_MAX_BYTES"] = "8M",
            ["WAL_SEGMENT_MB"] = "1",
            ["MAX_BODY_BYTES"] = "65536",
        });
        using var client = factory.CreateClient();
        await SendAsync(client, 3);
        await factory.WaitDeliveredAsync();

        var metrics = await client.GetStringAsync("/metrics");
        var fill = PrometheusText.ValueOf(metrics, "gotrack_log_fill_ratio");
        var walBytes = PrometheusText.ValueOf(metrics, "gotrack_wal_bytes");
        Assert.True(walBytes > 0);
        Assert.Equal(walBytes / (8 * 1024 * 1024), fill, 9);
    }

    private static async Task SendAsync(HttpClient client, int count)
    {
        for (var i = 0; i < count; i++)
        {
            using var r = await client.GetAsync("/px.gif?e=x");
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        }
    }
}
