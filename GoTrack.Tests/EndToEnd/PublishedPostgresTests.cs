using System.Net;
using GoTrack.Tests.Postgres;
using GoTrack.Tests.Support;

namespace GoTrack.Tests.EndToEnd;

/// <summary>The published binary with OUTPUTS=log,postgres: SIGTERM drains every accepted event into Postgres.</summary>
[Collection(PublishedBinaryGroup.Name)]
public sealed class PublishedPostgresTests(PublishedIngest published, PostgresDatabase db) : IClassFixture<PostgresDatabase>, IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Events_accepted_before_sigterm_are_all_in_postgres_when_the_process_exits_0()
    {
        var port = PublishedIngest.FreePort();
        var table = "published_" + Guid.NewGuid().ToString("N")[..8];
        var env = new Dictionary<string, string>
        {
            ["SERVER_ADDR"] = $"127.0.0.1:{port}",
            ["OUTPUTS"] = "log,postgres",
            ["LOG_PATH"] = _dir.File("events.ndjson"),
            ["PG_DSN"] = db.Server.Uri(db.Name),
            ["PG_TABLE"] = table,
            // Long enough that the last batches are still waiting when SIGTERM comes: the drain must write them.
            ["PG_FLUSH_MS"] = "2000",
            ["SHUTDOWN_TIMEOUT"] = "20s",
        };
        using var process = PublishedIngest.Start(published.Executable, "", env, out var output);
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        await PublishedIngest.WaitUntilUpAsync(client, process, output);

        var sent = await PostgresIngestTests.PostEventsAsync(client, requests: 7, perRequest: 30);
        using (var ready = await client.GetAsync("/readyz"))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }

        PublishedIngest.SendSigterm(process);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(40));
        await process.WaitForExitAsync(cts.Token);
        Assert.True(process.ExitCode == 0, "exit code " + process.ExitCode + "\n" + output);

        Assert.Equal((long)sent.Count, await db.ScalarAsync<long>($"SELECT count(*) FROM {table}"));
        Assert.Equal(sent.ToHashSet(), await Sql.EventIdsAsync(db.DataSource, table));
        Assert.Equal(sent.Count, (await File.ReadAllLinesAsync(_dir.File("events.ndjson"))).Length);
    }
}

/// <summary>ACK_MODE=wal: SIGTERM with a sink down exits 0 at once, and the next start delivers what it left.</summary>
[Collection(PublishedBinaryGroup.Name)]
public sealed class PublishedWalShutdownTests(PublishedIngest published, PostgresDatabase db) : IClassFixture<PostgresDatabase>, IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Sigterm_with_postgres_unreachable_exits_0_without_waiting_and_the_next_start_delivers_everything_once()
    {
        var port = PublishedIngest.FreePort();
        var table = "walstop_" + Guid.NewGuid().ToString("N")[..8];
        var env = new Dictionary<string, string>
        {
            ["SERVER_ADDR"] = $"127.0.0.1:{port}",
            ["OUTPUTS"] = "log,postgres",
            ["ACK_MODE"] = "wal",
            ["LOG_PATH"] = _dir.File("events.ndjson"),
            ["PG_DSN"] = $"postgres://postgres@127.0.0.1:{PublishedIngest.FreePort()}/nothing", // nobody listens
            ["PG_TABLE"] = table,
            ["SINK_RETRY_MAX_MS"] = "200",
            ["SHUTDOWN_TIMEOUT"] = "120s",
        };
        List<Guid> sent;
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        using (var process = PublishedIngest.Start(published.Executable, "", env, out var output))
        {
            await PublishedIngest.WaitUntilUpAsync(client, process, output);
            sent = await PostgresIngestTests.PostEventsAsync(client, requests: 5, perRequest: 20);
            PublishedIngest.SendSigterm(process);

            // Far sooner than SHUTDOWN_TIMEOUT: a dead sink is not waited for (memory mode would wait it out, then exit 3).
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await process.WaitForExitAsync(cts.Token);
            Assert.True(process.ExitCode == 0, "exit code " + process.ExitCode + "\n" + output);
            Assert.Contains("stay in the write-ahead log", output.ToString(), StringComparison.Ordinal);
        }

        Assert.Equal(sent.Count, (await File.ReadAllLinesAsync(_dir.File("events.ndjson"))).Length);

        env["PG_DSN"] = db.Server.Uri(db.Name);
        using (var process = PublishedIngest.Start(published.Executable, "", env, out var output))
        {
            await PublishedIngest.WaitUntilUpAsync(client, process, output);
            PublishedIngest.SendSigterm(process);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await process.WaitForExitAsync(cts.Token);
            Assert.True(process.ExitCode == 0, "exit code " + process.ExitCode + "\n" + output);
        }

        Assert.Equal(sent.ToHashSet(), await Sql.EventIdsAsync(db.DataSource, table));
        var lines = await File.ReadAllLinesAsync(_dir.File("events.ndjson"));
        Assert.Equal(sent.Count, lines.Length); // the file got nothing twice on the second start
    }
}
