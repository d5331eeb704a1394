using GoTrack.Tests.Kafka;
using GoTrack.Tests.Postgres;
using GoTrack.Tests.Support;

namespace GoTrack.Tests.EndToEnd;

/// <summary>
/// GoTrack.Ingest published for linux-x64 with <paramref name="publishArgs"/>, into a folder of its own: once per
/// test run. Its own obj and bin (--artifacts-path): the restore for linux-x64 would otherwise rewrite the
/// shared obj folders while other tests' publishes read them.
/// </summary>
public abstract class PublishedForLinuxIngest(string name, string publishArgs) : IAsyncLifetime
{
    public string Directory { get; } = Path.Combine(Path.GetTempPath(), "gotrack-tests", $"published-{name}-" + Guid.NewGuid().ToString("N"));

    public string Executable => Path.Combine(Directory, "GoTrack.Ingest");

    private string Artifacts => Directory + "-artifacts";

    public Task InitializeAsync() =>
        PublishedIngest.PublishAsync(Directory, $"{publishArgs} --artifacts-path \"{Artifacts}\"", TimeSpan.FromMinutes(10));

    public async Task DisposeAsync()
    {
        await PublishedIngest.DeleteAsync(Directory);
        await PublishedIngest.DeleteAsync(Artifacts);
    }
}

/// <summary>Native AOT (<c>-r linux-x64 -p:PublishAot=true</c>): a minute or two to publish.</summary>
public sealed class PublishedAotIngest() : PublishedForLinuxIngest("aot", "-r linux-x64 -p:PublishAot=true");

/// <summary>
/// Trimmed and self-contained for JIT (<c>-r linux-x64 -p:PublishTrimmed=true</c>): the build the docs give for
/// the 150 MiB memory target at JIT's speed. Under a minute to publish.
/// </summary>
public sealed class PublishedTrimmedIngest() : PublishedForLinuxIngest("trimmed", "-r linux-x64 -p:PublishTrimmed=true");

/// <summary>
/// The Native AOT binary with OUTPUTS=log,kafka,postgres: trimming once broke the Kafka sink at start
/// (librdkafka's bindings found by reflection) and every GeoIP lookup; this runs the three sinks for real.
/// </summary>
[Collection(PublishedBinaryGroup.Name)] // one published-binary test at a time: the AOT publish is heavy
public sealed class PublishedAotTests(PublishedAotIngest published, PostgresDatabase db)
    : PublishedAllSinksTests(published.Executable, db), IClassFixture<PublishedAotIngest>
{
    [Fact]
    public Task The_native_aot_binary_delivers_every_event_to_all_three_sinks_and_exits_0_on_sigterm()
    {
        Assert.False(File.Exists(Path.Combine(published.Directory, "GoTrack.Ingest.dll")), "the publish was not Native AOT");
        return RunAllThreeSinksAsync("aot_");
    }
}

/// <summary>The trimmed JIT binary with OUTPUTS=log,kafka,postgres, for the same reason as the AOT one.</summary>
[Collection(PublishedBinaryGroup.Name)]
public sealed class PublishedTrimmedTests(PublishedTrimmedIngest published, PostgresDatabase db)
    : PublishedAllSinksTests(published.Executable, db), IClassFixture<PublishedTrimmedIngest>
{
    [Fact]
    public Task The_trimmed_binary_delivers_every_event_to_all_three_sinks_and_exits_0_on_sigterm()
    {
        // Self-contained and trimmed: the runtime is in the folder, and an assembly nothing uses is gone.
        Assert.True(File.Exists(Path.Combine(published.Directory, "libcoreclr.so")), "the publish was not self-contained");
        Assert.False(File.Exists(Path.Combine(published.Directory, "System.Xml.XDocument.dll")), "the publish was not trimmed");
        return RunAllThreeSinksAsync("trim_");
    }
}

/// <summary>A published Ingest with all three sinks: every event in each, and exit 0 on SIGTERM.</summary>
public abstract class PublishedAllSinksTests(string executable, PostgresDatabase db) : IClassFixture<PostgresDatabase>, IDisposable
{
    private readonly TempDir _dir = new();
    private readonly MockKafka _kafka = new(brokers: 1, partitions: 3);

    public void Dispose()
    {
        _kafka.Dispose();
        _dir.Dispose();
        GC.SuppressFinalize(this);
    }

    protected async Task RunAllThreeSinksAsync(string tablePrefix)
    {
        Assert.True(File.Exists(executable), "no executable: " + executable);
        var port = PublishedIngest.FreePort();
        var table = tablePrefix + Guid.NewGuid().ToString("N")[..8];

        // GeoIP too: trimmed, MaxMind's reader could not build its responses and every lookup failed.
        var geo = _dir.File("GeoLite2-City.mmdb");
        await File.WriteAllBytesAsync(geo, MmdbWriter.CityFixture());
        var env = new Dictionary<string, string>
        {
            ["GEOIP_DB"] = geo,
            ["TRUST_PROXY"] = "true",
            ["SERVER_ADDR"] = $"127.0.0.1:{port}",
            ["OUTPUTS"] = "log,kafka,postgres",
            ["LOG_PATH"] = _dir.File("events.ndjson"),
            ["KAFKA_BROKERS"] = _kafka.Bootstrap,
            ["KAFKA_TOPIC"] = MockKafka.Topic,
            ["PG_DSN"] = db.Server.Uri(db.Name),
            ["PG_TABLE"] = table,
            ["SHUTDOWN_TIMEOUT"] = "30s",
        };
        using var process = PublishedIngest.Start(executable, "", env, out var output);
        List<Guid> sent;
        try
        {
            using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            await PublishedIngest.WaitUntilUpAsync(client, process, output);

            sent = await PostgresIngestTests.PostEventsAsync(client, requests: 6, perRequest: 25);
            for (var i = 0; i < 10; i++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, $"/px.gif?e=pageview&url=https%3A%2F%2Fshop.example%2F{i}");
                request.Headers.Add("X-Forwarded-For", "81.2.69.160"); // London in the fixture
                using var pixel = await client.SendAsync(request);
                Assert.True(pixel.IsSuccessStatusCode, $"/px.gif answered {(int)pixel.StatusCode}");
            }

            PublishedIngest.SendSigterm(process);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await process.WaitForExitAsync(cts.Token);
            Assert.True(process.ExitCode == 0, "exit code " + process.ExitCode + "\n" + output);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        var expected = sent.Count + 10;
        var lines = await File.ReadAllLinesAsync(_dir.File("events.ndjson"));
        Assert.Equal(expected, lines.Length);
        Assert.Equal(10, lines.Count(l => l.Contains("\"geo\":{\"country\":\"GB\"", StringComparison.Ordinal)));
        Assert.Equal((long)expected, await db.ScalarAsync<long>($"SELECT count(*) FROM {table}"));
        Assert.Superset(sent.ToHashSet(), await Sql.EventIdsAsync(db.DataSource, table));
        var messages = await _kafka.ReadAsync(expected);
        Assert.Equal(expected, messages.Count);
    }
}
