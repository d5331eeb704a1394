using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using GoTrack.Core.Postgres;
using GoTrack.Core.Queue;
using GoTrack.Core.Sinks;
using GoTrack.Core.Telemetry;
using GoTrack.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Record = GoTrack.Core.Events.Record;

namespace GoTrack.Tests.Postgres;

/// <summary>The real Ingest with OUTPUTS=log,postgres against the shared throwaway cluster.</summary>
public sealed class PostgresIngestTests(PostgresDatabase db) : IClassFixture<PostgresDatabase>
{
    private static string Table() => "ingest_" + Guid.NewGuid().ToString("N")[..8];

    private IngestFactory Ingest(string table, Dictionary<string, string?>? more = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["OUTPUTS"] = "log,postgres",
            ["PG_DSN"] = db.Server.Uri(db.Name),
            ["PG_TABLE"] = table,
            ["PG_FLUSH_MS"] = "10",
            ["SINK_RETRY_BASE_MS"] = "5",
            ["SINK_RETRY_MAX_MS"] = "100",
            ["SHUTDOWN_TIMEOUT"] = "5s",
        };
        foreach (var (k, v) in more ?? [])
        {
            settings[k] = v;
        }

        return new IngestFactory(settings);
    }

    internal static async Task<List<Guid>> PostEventsAsync(HttpClient client, int requests, int perRequest)
    {
        var sent = new List<Guid>();
        for (var i = 0; i < requests; i++)
        {
            var body = new StringBuilder("[");
            for (var j = 0; j < perRequest; j++)
            {
                var id = Guid.CreateVersion7();
                sent.Add(id);
                body.Append(j == 0 ? "" : ",").Append($$"""{"event_id":"{{id}}","e":"pageview","url":"https://shop.example/p/{{j}}","sid":"s{{i}}","utm_source":"news"}""");
            }

            using var response = await client.PostAsync("/collect", new StringContent(body.Append(']').ToString(), Encoding.UTF8, "application/json"));
            Assert.True(response.IsSuccessStatusCode, $"/collect answered {(int)response.StatusCode}");
        }

        return sent;
    }

    /// <summary>
    /// The data source comes from Aspire.Npgsql's AddNpgsqlDataSource with a physical-connection initializer:
    /// the staging table is made once per physical connection, not once per batch as before (20 batches
    /// made 20 CREATE TEMP TABLE round trips).
    /// </summary>
    /// <remarks>
    /// The count is exact because the test controls the batches: each request appends 10 events at once
    /// (a full batch of PG_BATCH_SIZE, so no linger is involved) and the next request waits until that batch
    /// is written. Only one connection is ever in use: the migration's, given back to the pool before the
    /// first batch opens one, then each batch's in turn. So one physical connection, one CREATE TEMP TABLE.
    /// Nothing here waits on a clock but the bounded wait for each real Postgres write.
    /// </remarks>
    [Fact]
    public async Task The_staging_table_is_made_once_per_physical_connection_not_per_batch()
    {
        var creates = 0;
        using var listener = new System.Diagnostics.ActivityListener
        {
            ShouldListenTo = source => source.Name == "Npgsql",
            Sample = (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) => System.Diagnostics.ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                var database = activity.GetTagItem("db.namespace") ?? activity.GetTagItem("db.name");
                var text = (activity.GetTagItem("db.query.text") ?? activity.GetTagItem("db.statement")) as string;
                if (Equals(database, db.Name) && text is not null && text.StartsWith("CREATE TEMP TABLE", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref creates);
                }
            },
        };
        System.Diagnostics.ActivitySource.AddActivityListener(listener);

        var table = Table();
        using var factory = Ingest(table, new() { ["PG_BATCH_SIZE"] = "10", ["OUTPUTS"] = "postgres" });
        using var client = factory.CreateClient();
        for (var i = 0; i < 20; i++)
        {
            await PostEventsAsync(client, requests: 1, perRequest: 10);
            await factory.WaitDeliveredAsync(TimeSpan.FromSeconds(30)); // one batch each
        }

        Assert.Equal(200L, await db.ScalarAsync<long>($"SELECT count(*) FROM {table}"));
        Assert.Equal(1, creates);
    }

    [Theory]
    [InlineData("true")]
    [InlineData("false")]
    public async Task Events_reach_postgres_as_the_same_json_as_the_ndjson_line(string copy)
    {
        var table = Table();
        using var factory = Ingest(table, new() { ["PG_COPY"] = copy });
        using var client = factory.CreateClient();
        var sent = await PostEventsAsync(client, requests: 6, perRequest: 20);
        var pixelId = Guid.CreateVersion7();
        using (var pixel = await client.GetAsync($"/px.gif?event_id={pixelId}&url=https%3A%2F%2Fshop.example%2F&utm_campaign=spring"))
        {
            Assert.Equal(HttpStatusCode.OK, pixel.StatusCode);
        }

        sent.Add(pixelId);
        await factory.WaitDeliveredAsync(TimeSpan.FromSeconds(30));

        var stored = (await Sql.RowsAsync(db.DataSource, $"SELECT event_id, ts, payload::text FROM {table}"))
            .ToDictionary(r => (Guid)r[0]!, r => (Ts: (DateTime)r[1]!, Payload: (string)r[2]!));
        Assert.Equal(sent.ToHashSet(), stored.Keys.ToHashSet());
        var lines = factory.Lines();
        Assert.Equal(sent.Count, lines.Length);
        foreach (var line in lines)
        {
            var node = JsonNode.Parse(line)!;
            var row = stored[Guid.Parse((string)node["event_id"]!)];
            Assert.True(JsonNode.DeepEquals(node, JsonNode.Parse(row.Payload)), line);
            Assert.Equal(DateTime.Parse((string)node["ts"]!, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AdjustToUniversal), row.Ts);
        }

        using var ready = await client.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        // Each sink wrote each event once (the table would hide a second write: event_id is its unique key).
        Assert.Equal(2L * sent.Count, factory.Outcome(EventOutcomes.Delivered));
        var metrics = await client.GetStringAsync("/metrics");
        Assert.Matches("gotrack_batch_flush_seconds_count\\{[^}]*sink=\"postgres\"[^}]*\\} [1-9]", metrics);
    }

    [Fact]
    public async Task Killing_gotracks_connections_mid_stream_loses_nothing_and_delivers_each_event_once_per_sink()
    {
        var table = Table();
        using var factory = Ingest(table, new() { ["PG_BATCH_SIZE"] = "25", ["WORKER_CONCURRENCY"] = "4" });
        using var client = factory.CreateClient();
        using var stop = new CancellationTokenSource();
        var killed = 0L;
        var killer = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                killed += await Sql.ScalarAsync<long>(db.DataSource,
                    $"SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = '{PgDsn.DefaultApplicationName}') k");
                await Task.Delay(15);
            }
        });

        var sent = await PostEventsAsync(client, requests: 80, perRequest: 25);
        await Task.Delay(300);
        await stop.CancelAsync();
        await killer;
        await factory.WaitDeliveredAsync(TimeSpan.FromSeconds(60));

        Assert.True(killed > 0, "no GoTrack connection was ever terminated: the test proved nothing");
        Assert.Equal((long)sent.Count, await db.ScalarAsync<long>($"SELECT count(*) FROM {table}"));
        Assert.Equal(sent.ToHashSet(), await Sql.EventIdsAsync(db.DataSource, table));
        Assert.Equal(sent.Count, factory.Lines().Length);
        // The retried batches count once, when written: each event was delivered once by each of the two
        // sinks. Duplicate rows cannot be seen in the table (event_id is its unique key); this can fail.
        Assert.Equal(2L * sent.Count, factory.Outcome(EventOutcomes.Delivered));
        Assert.True(factory.SinkCounter("gotrack.sink_failures", "postgres") > 0, "no postgres write ever failed: the test proved nothing");
    }

    [Fact]
    public async Task A_row_postgres_refuses_goes_to_the_dead_letter_file_with_the_reason_and_is_counted()
    {
        using var dir = new TempDir();
        var dlq = dir.File("pg.dead-letter.ndjson");
        Assert.True(PgTableName.TryParse(Table(), out var table, out var tableError), tableError);
        var runner = TestPipeline.FastRetries();
        runner.Overrides[PostgresSink.SinkName] = new SinkOverrides { BatchSize = 16, CircuitBreaker = SinkResilience.BatchSinkBreaker(runner) };
        var (sp, pipeline) = TestPipeline.Build(runner, [PostgresSink.SinkName], s =>
            s.AddPostgresEventSink(new PostgresOptions { ConnectionString = db.ConnectionString, Table = table, DeadLetterPath = dlq }));
        await using var _ = sp;

        // This pipeline's own meter only: other hosts running beside it (with every sink's zero series) are not ours.
        var meters = sp.GetRequiredService<IMeterFactory>();
        long deadLetters = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter.Scope, meters) && instrument.Name == "gotrack.dead_letters")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            Assert.Equal(("sink", (object?)"postgres"), (tags[0].Key, tags[0].Value));
            Interlocked.Add(ref deadLetters, value);
        });
        listener.Start();

        await pipeline.StartAsync(default);
        var good = Rows.Many(60);
        Record nul = Rows.WithNul(), broken = Rows.NotJson(), garbage = new(Guid.CreateVersion7(), Rows.Start, "x", [0xff, 0xfe]);
        Record[] all = [.. good[..10], nul, .. good[10..40], broken, garbage, .. good[40..]];
        foreach (var r in all)
        {
            Assert.Equal(AppendResult.Accepted, await pipeline.Log.AppendAsync(r, default));
        }

        await pipeline.StoppedAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);

        Assert.Equal(good.Select(r => r.EventId).ToHashSet(), await Sql.EventIdsAsync(db.DataSource, table.Name));
        // Batches run concurrently, so the file's order is theirs; each line stands on its own.
        var lines = File.ReadAllLines(dlq).Select(l => JsonDocument.Parse(l).RootElement)
            .ToDictionary(l => l.GetProperty("event_id").GetGuid());
        Assert.Equal(new HashSet<Guid> { nul.EventId, broken.EventId, garbage.EventId }, lines.Keys.ToHashSet());
        Assert.All(lines.Values, l => Assert.Equal("postgres", l.GetProperty("sink").GetString()));
        Assert.StartsWith("22P05: ", lines[nul.EventId].GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal("a\0b", lines[nul.EventId].GetProperty("event").GetProperty("props").GetProperty("bad").GetString());
        Assert.StartsWith("22P02: ", lines[broken.EventId].GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal("{\"e\":", lines[broken.EventId].GetProperty("event_text").GetString());
        Assert.Equal(Convert.ToBase64String([0xff, 0xfe]), lines[garbage.EventId].GetProperty("event_base64").GetString());
        Assert.Equal(3, Interlocked.Read(ref deadLetters));
        Assert.Equal(0, pipeline.Runner(PostgresSink.SinkName).Reader.Pending);
    }
}
