extern alias apphost;

using System.Net;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using GoTrack.Tests.Kafka;
using GoTrack.Tests.Postgres;
using GoTrack.Tests.SinkWorker;
using Microsoft.Extensions.DependencyInjection;
using TestEventCommand = apphost::GoTrack.AppHost.TestEventCommand;

namespace GoTrack.Tests.Aspire;

/// <summary>
/// The real AppHost, started with Aspire.Hosting.Testing and pointed at existing servers through
/// ConnectionStrings:kafka and ConnectionStrings:analytics (librdkafka's mock cluster and a throwaway
/// PostgreSQL), so it runs without Docker. DCP starts ingest and sinkworker as processes.
/// </summary>
[Collection(AppHostGroup.Name)]
public sealed class AppHostTests : IAsyncLifetime
{
    private SinkWorkerRig _rig = null!;

    public async Task InitializeAsync() => _rig = await SinkWorkerRig.CreateAsync();

    public async Task DisposeAsync() => await _rig.DisposeAsync();

    [Fact]
    public async Task Pixels_sent_to_ingest_in_wal_mode_and_the_dashboards_test_event_reach_Postgres_through_Kafka_and_the_worker_exactly_once()
    {
        using var walDir = new Support.TempDir();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        var ct = timeout.Token;
        var appHost = await DistributedApplicationTestingBuilder.CreateAsync<apphost::Projects.GoTrack_AppHost>(
            [
                "--ConnectionStrings:kafka=" + _rig.Kafka.Bootstrap,
                "--ConnectionStrings:analytics=" + _rig.Server.ConnectionString(_rig.Database),
                "--Parameters:ingest-ack-mode=wal",
                "--GoTrack:IngestWalDir=" + walDir.Path,
            ],
            ct);
        await using var app = await appHost.BuildAsync(ct);
        await app.StartAsync(ct);
        await app.ResourceNotifications.WaitForResourceHealthyAsync("ingest", ct);
        await app.ResourceNotifications.WaitForResourceHealthyAsync("sinkworker", ct);

        using var client = app.CreateHttpClient("ingest");
        Assert.Equal(100, await client.SendPixelsAsync(100, "aspire"));
        await _rig.WaitRowsAsync(100, TimeSpan.FromSeconds(90));

        var urls = await Sql.RowsAsync(_rig.Check, "select payload->>'url' from events_json");
        Assert.Equal(
            Enumerable.Range(0, 100).Select(i => $"https://example.com/aspire{i}").Order(StringComparer.Ordinal),
            urls.Select(r => (string)r[0]!).Order(StringComparer.Ordinal));

        // Operations answer on the management port only; the public port serves intake alone.
        using var opsClient = app.CreateHttpClient("ingest", "ops");
        using var ready = await opsClient.GetAsync("/readyz", ct);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        using var hidden = await client.GetAsync("/readyz", ct);
        Assert.Equal(HttpStatusCode.NotFound, hidden.StatusCode);

        // Ingest ran with ACK_MODE=wal from the parameter: its acks came from the write-ahead log.
        Assert.NotEmpty(Directory.GetFiles(walDir.Path, "*.wal"));
        var opsMetrics = await opsClient.GetStringAsync("/metrics", ct);
        Assert.Contains("gotrack_wal_bytes", opsMetrics, StringComparison.Ordinal);
        // The damage counters exist from the start, at 0 on a clean log (their values are tested in-process).
        Assert.Contains("gotrack_wal_corrupt_segments_total{otel_scope_name=\"GoTrack\"} 0\n", opsMetrics, StringComparison.Ordinal);
        Assert.Contains("gotrack_wal_torn_tails_total{otel_scope_name=\"GoTrack\"} 0\n", opsMetrics, StringComparison.Ordinal);

        // The dashboard's "Send test event" command, run the way the dashboard runs it: one more event,
        // through ingest's endpoint, in Postgres once, with the event_id the command's answer names.
        var result = await app.Services.GetRequiredService<ResourceCommandService>().ExecuteCommandAsync("ingest", TestEventCommand.Name, ct);
        Assert.True(result.Success, result.Message);
        await _rig.WaitRowsAsync(101, TimeSpan.FromSeconds(60));
        var test = Assert.Single(await Sql.RowsAsync(_rig.Check, "select payload->>'event_id', payload->>'url' from events_json where payload->>'e' = 'test_event'"));
        Assert.Equal(TestEventCommand.PageUrl, test[1]);
        Assert.Contains((string)test[0]!, result.Message, StringComparison.Ordinal);

        // Once: Postgres cannot show a second copy (event_id is its unique key), the topic can. Read to
        // each partition's high watermark: exactly the 101 events, each once.
        var messages = await _rig.Kafka.ReadAsync(101);
        Assert.Equal(101, messages.Count);
        Assert.Equal(101, messages.Select(m => m.Key()).Distinct().Count());
    }
}
