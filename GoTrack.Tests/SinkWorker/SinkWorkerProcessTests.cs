using System.Diagnostics;
using System.Net;
using GoTrack.Tests.EndToEnd;
using GoTrack.Tests.Postgres;

namespace GoTrack.Tests.SinkWorker;

/// <summary>GoTrack.SinkWorker as its own process, the way it is deployed: kill -9 mid-stream, endpoints, --help.</summary>
public sealed class SinkWorkerProcessTests : IAsyncLifetime
{
    private static readonly string Dll = Path.Combine(AppContext.BaseDirectory, "GoTrack.SinkWorker.dll");
    private SinkWorkerRig _rig = null!;

    public async Task InitializeAsync() => _rig = await SinkWorkerRig.CreateAsync();

    public async Task DisposeAsync() => await _rig.DisposeAsync();

    private (Process Process, HttpClient Client, System.Text.StringBuilder Output) Start()
    {
        var port = PublishedIngest.FreePort();
        var env = _rig.Settings().Where(kv => kv.Value is not null).ToDictionary(kv => kv.Key, kv => kv.Value!);
        env["SERVER_ADDR"] = $"127.0.0.1:{port}";
        var process = PublishedIngest.Start("dotnet", $"\"{Dll}\"", env, out var output);
        return (process, new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") }, output);
    }

    /// <summary>
    /// At least once, not once: the killed process wrote rows it never committed, and the second reads them
    /// again from the last commit (ON CONFLICT skips them). A duplicate row cannot exist (event_id is the
    /// table's unique key), so what can fail here is loss, and the committed offsets.
    /// </summary>
    [Fact]
    public async Task Kill_9_mid_stream_then_a_restart_loses_nothing_and_commits_every_message()
    {
        // Enough that the kill lands mid-stream: once batches were COPYed straight in, 5,000 could all be written between two polls.
        const int Total = 20_000;
        var records = Rows.Many(Total);
        await _rig.ProduceAsync(records);

        var (first, client, output) = Start();
        using (first)
        using (client)
        {
            await PublishedIngest.WaitUntilUpAsync(client, first, output);
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (await SafeCountAsync() < 500 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }

            first.Kill();
            await first.WaitForExitAsync();
        }

        var written = await _rig.RowCountAsync();
        Assert.InRange(written, 500, Total - 1);

        var (second, client2, output2) = Start();
        using (second)
        using (client2)
        {
            await PublishedIngest.WaitUntilUpAsync(client2, second, output2);
            // The killed member's partitions move once KAFKA_SESSION_TIMEOUT_MS (10 s) has passed without it.
            await _rig.WaitRowsAsync(Total, TimeSpan.FromSeconds(120));
            Assert.Equal(records.Select(r => r.EventId).ToHashSet(), await Sql.EventIdsAsync(_rig.Check));

            using var ready = await client2.GetAsync("/readyz");
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            var metrics = await client2.GetStringAsync("/metrics");
            Assert.Contains("gotrack_sinkworker_batch_size", metrics, StringComparison.Ordinal);
            Assert.Contains("gotrack_sinkworker_write_latency_seconds", metrics, StringComparison.Ordinal);

            PublishedIngest.SendSigterm(second);
            await second.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
            Assert.True(second.ExitCode == 0, output2.ToString());
        }

        Assert.Equal(Total, _rig.CommittedTotal());
    }

    private async Task<long> SafeCountAsync()
    {
        try
        {
            return await _rig.RowCountAsync();
        }
        catch (Npgsql.PostgresException)
        {
            return 0;
        }
    }

    [Fact]
    public async Task Help_exits_0_and_a_bad_setting_exits_2_naming_it()
    {
        var (code, output) = await PublishedIngest.RunAsync("dotnet", $"\"{Dll}\" --help", TimeSpan.FromSeconds(30));
        Assert.Equal(0, code);
        Assert.Contains("KAFKA_GROUP_ID", output, StringComparison.Ordinal);
        Assert.Contains("KAFKA_DLQ_TOPIC", output, StringComparison.Ordinal);
        Assert.Contains("PG_BATCH_SIZE", output, StringComparison.Ordinal);
        Assert.DoesNotContain("KAFKA_BATCH_SIZE", output, StringComparison.Ordinal);

        var env = new Dictionary<string, string> { ["KAFKA_BROKERS"] = "k:9092", ["PG_TABLE"] = "x;drop", ["KAFKA_DLQ_TOPIC"] = "gotrack.events" };
        (code, output) = await PublishedIngest.RunAsync("dotnet", $"\"{Dll}\"", TimeSpan.FromSeconds(30), env);
        Assert.Equal(2, code);
        Assert.Contains("PG_TABLE:", output, StringComparison.Ordinal);
        Assert.Contains("PG_DSN:", output, StringComparison.Ordinal);
        Assert.Contains("KAFKA_DLQ_TOPIC: must not be KAFKA_TOPIC itself", output, StringComparison.Ordinal);
    }
}
