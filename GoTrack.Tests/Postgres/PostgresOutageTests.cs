using System.Net;
using System.Text.Json;
using GoTrack.Tests.Support;
using Npgsql;

namespace GoTrack.Tests.Postgres;

/// <summary>
/// Stops and starts a whole cluster under a running Ingest. These tests own a private cluster, so the
/// other test classes on the shared one are not disturbed; xunit runs a class's tests one at a time.
/// </summary>
public sealed class PostgresOutageTests : IAsyncLifetime
{
    private PostgresServer _server = null!;
    private string _database = "";
    private NpgsqlDataSource _check = null!;

    public async Task InitializeAsync()
    {
        _server = await PostgresServer.StartNewAsync();
        _database = await _server.CreateDatabaseAsync("outage");
        _check = NpgsqlDataSource.Create(_server.ConnectionString(_database));
    }

    public async Task DisposeAsync()
    {
        await _check.DisposeAsync();
        await _server.DisposeAsync();
    }

    private IngestFactory Ingest(string table, string ackMode = "memory") => new(new()
    {
        ["ACK_MODE"] = ackMode,
        ["OUTPUTS"] = "log,postgres",
        ["PG_DSN"] = _server.Uri(_database),
        ["PG_TABLE"] = table,
        ["PG_FLUSH_MS"] = "10",
        ["PG_BATCH_SIZE"] = "50",
        ["PG_HEALTH_TIMEOUT_MS"] = "1000",
        ["READY_SINK_GRACE_MS"] = "500",
        ["SINK_RETRY_BASE_MS"] = "5",
        ["SINK_RETRY_MAX_MS"] = "200",
        ["SHUTDOWN_TIMEOUT"] = "5s",
    });

    private static async Task<(HttpStatusCode Status, JsonElement Checks)> ReadyAsync(HttpClient client)
    {
        using var response = await client.GetAsync("/readyz");
        var checks = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("checks").Clone();
        return (response.StatusCode, checks);
    }

    /// <summary>
    /// Polls /readyz until it answers <paramref name="wanted"/> and, when given, sink-postgres has
    /// <paramref name="postgres"/> (30 s at most). A Degraded sink still answers 200, so a test that means
    /// "healthy" must say so: a clean-clone CI run saw the first 200 come with sink-postgres Degraded (not
    /// reproduced since; a first ping or write slowed by a loaded machine is the likely cause).
    /// </summary>
    private static async Task<(HttpStatusCode Status, JsonElement Checks)> WaitReadyAsync(HttpClient client, HttpStatusCode wanted, string? postgres = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var result = await ReadyAsync(client);
            if ((result.Status == wanted && (postgres is null || Status(result.Checks, "sink-postgres") == postgres)) || DateTime.UtcNow > deadline)
            {
                return result;
            }

            await Task.Delay(50);
        }
    }

    private static string Status(JsonElement checks, string name) => checks.GetProperty(name).GetProperty("status").GetString()!;

    [Theory]
    [InlineData("memory")]
    [InlineData("wal")]
    public async Task A_full_stop_and_start_mid_stream_loses_nothing_delivers_each_event_once_per_sink_and_the_log_sink_keeps_going(string ackMode)
    {
        var table = "restart_" + Guid.NewGuid().ToString("N")[..8];
        using var factory = Ingest(table, ackMode);
        using var client = factory.CreateClient();
        var sent = await PostgresIngestTests.PostEventsAsync(client, requests: 10, perRequest: 20);
        var stopping = _server.StopAsync();
        sent.AddRange(await PostgresIngestTests.PostEventsAsync(client, requests: 10, perRequest: 20));
        await stopping;
        sent.AddRange(await PostgresIngestTests.PostEventsAsync(client, requests: 10, perRequest: 20));

        // Postgres is down: the NDJSON sink still delivers everything, and /readyz says which sink is not ready.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (factory.Lines().Length < sent.Count && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.Equal(sent.Count, factory.Lines().Length);
        var (status, checks) = await WaitReadyAsync(client, HttpStatusCode.ServiceUnavailable);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("Unhealthy", Status(checks, "sink-postgres"));
        Assert.Equal("Healthy", Status(checks, "sink-log"));

        await _server.StartAsync();
        await factory.WaitDeliveredAsync(TimeSpan.FromSeconds(60));
        Assert.Equal((long)sent.Count, await Sql.ScalarAsync<long>(_check, $"SELECT count(*) FROM {table}"));
        Assert.Equal(sent.ToHashSet(), await Sql.EventIdsAsync(_check, table));
        Assert.Equal(HttpStatusCode.OK, (await WaitReadyAsync(client, HttpStatusCode.OK)).Status);
        // Duplicate rows cannot be seen in the table (event_id is its unique key): count what each sink
        // wrote instead. The log sink's lines, and both sinks' deliveries, once each.
        Assert.Equal(sent.Count, factory.Lines().Length);
        Assert.Equal(2L * sent.Count, factory.Outcome(GoTrack.Core.Telemetry.EventOutcomes.Delivered));
    }

    [Fact]
    public async Task Readyz_turns_not_ready_while_postgres_is_down_and_ready_again_after_it_restarts()
    {
        using var factory = Ingest("ready_" + Guid.NewGuid().ToString("N")[..8]);
        using var client = factory.CreateClient();
        var (status, checks) = await WaitReadyAsync(client, HttpStatusCode.OK, postgres: "Healthy");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("Healthy", Status(checks, "sink-postgres"));

        await _server.StopAsync();
        (status, checks) = await WaitReadyAsync(client, HttpStatusCode.ServiceUnavailable);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("Unhealthy", Status(checks, "sink-postgres"));
        var description = checks.GetProperty("sink-postgres").GetProperty("description").GetString()!;
        Assert.Matches("^(writes failing|not reachable) for \\d+ s", description);
        Assert.DoesNotContain("127.0.0.1", description, StringComparison.Ordinal);
        Assert.DoesNotContain(_server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), description, StringComparison.Ordinal);
        Assert.Equal("Healthy", Status(checks, "sink-log"));

        // Intake keeps working while Postgres is down.
        using (var pixel = await client.GetAsync("/px.gif?e=pageview"))
        {
            Assert.Equal(HttpStatusCode.OK, pixel.StatusCode);
        }

        await _server.StartAsync();
        Assert.Equal(HttpStatusCode.OK, (await WaitReadyAsync(client, HttpStatusCode.OK)).Status);
        await factory.WaitDeliveredAsync(TimeSpan.FromSeconds(30));
    }
}
