using System.Net;
using GoTrack.Tests.Support;

namespace GoTrack.Tests.Deploy;

/// <summary>
/// gotrack_log_fill_ratio is what the "log filling" alert watches: the same fill /readyz judges (the larger
/// of events and bytes against the log's bounds), so the alert does not need to know QUEUE_MAX_EVENTS,
/// QUEUE_MAX_MB or WAL_MAX_BYTES.
/// The value is read from the host's own meter (<see cref="HostMeter"/>): in a test process /metrics is
/// not reliably this host's own, and a full-suite run once found the series missing from it altogether. The exported name is checked on the published
/// binary, a process of its own (<c>PublishedBinaryTests</c>).
/// </summary>
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

        ExpectFill(factory, 0);
        await SendAsync(client, 5);
        ExpectFill(factory, 0.25);
        await SendAsync(client, 15);
        ExpectFill(factory, 1);
    }

    private static void ExpectFill(IngestFactory factory, double expected) =>
        Assert.Equal(expected, HostMeter.Observe(factory.Services, "gotrack.log_fill_ratio"));

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

        var fill = HostMeter.Observe(factory.Services, "gotrack.log_fill_ratio");
        var walBytes = HostMeter.Observe(factory.Services, "gotrack.wal_bytes");
        Assert.True(walBytes > 0);
        Assert.Equal(walBytes!.Value / (8 * 1024 * 1024), fill!.Value, 9);
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
