using System.Diagnostics;
using System.Text;
using System.Text.Json;
using GoTrack.Core.Telemetry;
using GoTrack.Tests.Browser;
using GoTrack.Tests.EndToEnd;
using GoTrack.Tests.Postgres;
using GoTrack.Tests.Support;
using Xunit.Abstractions;

namespace GoTrack.Tests.Segment;

/// <summary>
/// The real SDKs, pinned in <c>GoTrack.Tests/Sdk/package.json</c> (installed with <c>npm ci</c>), against
/// Ingest on a real socket: @segment/analytics-node from Node, and @segment/analytics-next in Debian's
/// Chromium. Each test asserts what lands in the NDJSON file (and in Postgres) from the SDK's own requests.
/// </summary>
[Collection(BrowserTests.Name)]
public sealed class RealSdkTests(PostgresDatabase db, ITestOutputHelper output) : IClassFixture<PostgresDatabase>
{
    private const string Key = "wk_sdk_0123456789";

    private static readonly Lazy<string> Harness = new(Install);

    /// <summary>The harness folder, with its node_modules installed from the lockfile on first use.</summary>
    private static string Install()
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "GoTrack.Tests", "Sdk", "package.json")))
        {
            dir = Path.GetDirectoryName(dir);
        }

        var sdk = Path.Combine(dir ?? throw new InvalidOperationException("GoTrack.Tests/Sdk not found above " + AppContext.BaseDirectory), "GoTrack.Tests", "Sdk");
        if (!Directory.Exists(Path.Combine(sdk, "node_modules", "@segment", "analytics-node")))
        {
            if (!DebianPackage.Ensure("nodejs npm", () => File.Exists("/usr/bin/npm") || File.Exists("/usr/local/bin/npm")))
            {
                throw new InvalidOperationException("npm is missing: install Node.js and npm (apt-get install nodejs npm; .ci/run does)");
            }

            var info = new ProcessStartInfo("npm", "ci --no-audit --no-fund") { WorkingDirectory = sdk, RedirectStandardOutput = true, RedirectStandardError = true };
            using var npm = Process.Start(info)!;
            var text = npm.StandardOutput.ReadToEnd() + npm.StandardError.ReadToEnd();
            npm.WaitForExit();
            if (npm.ExitCode != 0)
            {
                throw new InvalidOperationException($"npm ci in {sdk} failed ({npm.ExitCode}): {text}");
            }
        }

        return sdk;
    }

    private async Task<(int Code, JsonElement[] Lines)> NodeAsync(string script, Dictionary<string, string> env, TimeSpan? timeout = null)
    {
        var (code, text) = await PublishedIngest.RunAsync("node", Path.Combine(Harness.Value, script), timeout ?? TimeSpan.FromMinutes(2), env);
        var lines = text.Split('\n').Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToArray();
        foreach (var line in lines.Where(l => l.GetProperty("kind").GetString() is "summary" or "response" or "sdk_error" or "request_failed" or "blocked"))
        {
            output.WriteLine(line.ToString());
        }

        if (code != 0)
        {
            output.WriteLine(text);
        }

        return (code, lines);
    }

    /// <summary>
    /// Debian's Chromium, the same binary as the Microsoft.Playwright tests (<see cref="BrowserFixture.ExecutablePath"/>,
    /// GOTRACK_CHROMIUM overrides it), passed to the harness as CHROMIUM: Node's playwright-core drives it there,
    /// because analytics-next's bundle and its static page live in the npm folder.
    /// </summary>
    private static string Chromium()
    {
        if (!DebianPackage.Ensure("chromium", () => File.Exists(BrowserFixture.ExecutablePath)))
        {
            throw new InvalidOperationException($"Chromium is not at {BrowserFixture.ExecutablePath}. Install Debian's package (apt-get install chromium), or set GOTRACK_CHROMIUM.");
        }

        return BrowserFixture.ExecutablePath;
    }

    private static string? Str(JsonElement e, string path)
    {
        foreach (var part in path.Split('.'))
        {
            if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty(part, out e))
            {
                return null;
            }
        }

        return e.ValueKind switch
        {
            JsonValueKind.String => e.GetString(),
            JsonValueKind.Null => null,
            _ => e.GetRawText(),
        };
    }

    private static JsonElement[] Events(IngestFactory factory) =>
        [.. factory.Lines().Select(l => JsonDocument.Parse(l).RootElement.Clone())];

    [Theory]
    [InlineData("plain")]
    [InlineData("gzip")]
    public async Task Analytics_node_delivers_every_call_and_a_batch_of_500_once_each(string mode)
    {
        using var factory = new IngestFactory(new() { ["WRITE_KEYS"] = Key + ":backend" });
        var host = factory.StartOnKestrel();
        var (code, lines) = await NodeAsync("node-sdk.mjs", new() { ["HOST"] = host, ["WRITE_KEY"] = Key, ["MODE"] = mode, ["BULK"] = "500" });
        Assert.Equal(0, code);
        var requests = lines.Where(l => Str(l, "kind") == "request").ToArray();
        Assert.All(requests, r => Assert.Equal(mode == "gzip" ? "gzip" : null, Str(r, "contentEncoding")));
        Assert.Contains(requests, r => Str(r, "events") == "500");

        await factory.WaitDeliveredAsync();
        var events = Events(factory);
        Assert.Equal(506, events.Length);
        Assert.Equal(506, events.Select(e => Str(e, "event_id")).Distinct().Count());
        Assert.All(events, e => Assert.Equal(5, Guid.Parse(Str(e, "event_id")!).Version)); // node-next-… messageIds
        Assert.All(events, e => Assert.Equal("backend", Str(e, "source")));
        Assert.All(events, e => Assert.Equal("@segment/analytics-node", Str(e, "props.segment.context.library.name")));
        var byType = events.GroupBy(e => Str(e, "props.segment.type")).ToDictionary(g => g.Key!, g => g.Count());
        Assert.Equal(new Dictionary<string, int> { ["track"] = 501, ["page"] = 1, ["identify"] = 1, ["group"] = 1, ["alias"] = 1, ["screen"] = 1 }, byType);
        var identify = events.Single(e => Str(e, "e") == "identify");
        Assert.Equal("sdk-user-1", Str(identify, "uid"));
        Assert.Equal("ada@example.test", Str(identify, "props.email"));

        // What node-sdk.mjs sent, field by field (README, "What is mapped where").
        var order = Assert.Single(events, e => Str(e, "e") == "Order Completed");
        Assert.Equal(("o-1", "42.5", "USD"), (Str(order, "props.orderId"), Str(order, "props.revenue"), Str(order, "props.currency")));
        Assert.Equal("sdk-anon-1", Str(order, "props.segment.anonymousId"));
        var bulk = events.Where(e => Str(e, "e") == "Bulk Event").Select(e => int.Parse(Str(e, "props.i")!, System.Globalization.CultureInfo.InvariantCulture)).Order();
        Assert.Equal(Enumerable.Range(0, 500), bulk);
        var page = Assert.Single(events, e => Str(e, "e") == "pageview");
        Assert.Equal("https://example.test/docs", Str(page, "url"));
        Assert.Equal(("Getting Started", "Docs"), (Str(page, "props.segment.name"), Str(page, "props.segment.category")));
        var group = Assert.Single(events, e => Str(e, "e") == "group");
        Assert.Equal(("Acme", "42", "sdk-group-1"), (Str(group, "props.name"), Str(group, "props.employees"), Str(group, "props.segment.groupId")));
        var alias = Assert.Single(events, e => Str(e, "e") == "alias");
        Assert.Equal(("sdk-user-1", "sdk-anon-1"), (Str(alias, "uid"), Str(alias, "props.segment.previousId")));
        var screen = Assert.Single(events, e => Str(e, "e") == "screen");
        Assert.Equal(("Home", "a"), (Str(screen, "props.segment.name"), Str(screen, "props.variant")));

        // Every message carries a timestamp and its batch a sentAt: each event has a client_ts, none after its ts.
        Assert.All(events, e => Assert.True(DateTimeOffset.Parse(Str(e, "client_ts")!, System.Globalization.CultureInfo.InvariantCulture) <= DateTimeOffset.Parse(Str(e, "ts")!, System.Globalization.CultureInfo.InvariantCulture), e.ToString()));
        Assert.Equal(506, factory.Outcome(EventOutcomes.Accepted));
    }

    [Fact]
    public async Task Analytics_next_in_chromium_delivers_a_page_view_and_a_track_call_with_its_anonymous_id()
    {
        using var factory = new IngestFactory(new() { ["WRITE_KEYS"] = Key + ":website" });
        var collector = factory.StartOnKestrel();
        var (code, lines) = await NodeAsync("browser-run.mjs", new() { ["COLLECTOR"] = collector, ["WRITE_KEY"] = Key, ["CHROMIUM"] = Chromium() });
        Assert.Equal(BrowserFixture.ExecutablePath, Str(lines.Single(l => Str(l, "kind") == "config"), "chromium"));
        Assert.Equal(0, code);
        Assert.DoesNotContain(lines, l => Str(l, "kind") is "blocked" && Str(l, "origin") != "browser");

        await factory.WaitDeliveredAsync();
        var events = Events(factory);
        Assert.Equal(2, events.Length);
        var page = Assert.Single(events, e => Str(e, "e") == "pageview");
        var track = Assert.Single(events, e => Str(e, "e") == "Signed Up");
        Assert.Equal("pro", Str(track, "props.plan"));
        Assert.All(events, e => Assert.Equal("website", Str(e, "source")));
        Assert.All(events, e => Assert.Contains("HeadlessChrome", Str(e, "ua"), StringComparison.Ordinal));
        Assert.StartsWith("http://127.0.0.1:", Str(page, "url"), StringComparison.Ordinal);
        Assert.Null(Str(page, "ref")); // a direct visit: context.page.referrer is ""

        // The anonymousId the SDK keeps in its cookie is on both events, and the write key never is.
        var cookies = lines.Single(l => Str(l, "kind") == "cookies").GetProperty("cookies").EnumerateArray();
        var anonymous = cookies.Single(c => Str(c, "name") == "ajs_anonymous_id").GetProperty("value").GetString()!;
        var anonymousId = Uri.UnescapeDataString(anonymous).Trim('"');
        Assert.All(events, e => Assert.Equal(anonymousId, Str(e, "props.segment.anonymousId")));
        Assert.All(factory.Lines(), l => Assert.DoesNotContain(Key, l, StringComparison.Ordinal));
    }

    /// <summary>
    /// analytics-next with every call type and its own telemetry on: one POST per call to the short paths
    /// (/v1/p, /v1/t, /v1/i, /v1/g, /v1/a, /v1/s), or /v1/b in its batching mode; /v1/m is answered and not stored.
    /// </summary>
    [Theory]
    [InlineData("standard")]
    [InlineData("batching")]
    public async Task Analytics_next_delivers_every_call_type_on_the_short_paths_or_batched_and_its_telemetry_is_not_stored(string strategy)
    {
        using var factory = new IngestFactory(new() { ["WRITE_KEYS"] = Key + ":website" });
        var collector = factory.StartOnKestrel();
        var (code, lines) = await NodeAsync("browser-run.mjs", new()
        {
            ["COLLECTOR"] = collector, ["WRITE_KEY"] = Key, ["CHROMIUM"] = Chromium(), ["STRATEGY"] = strategy, ["ALL_TYPES"] = "1", ["METRICS"] = "1",
        });
        Assert.Equal(0, code);
        var requests = lines.Where(l => Str(l, "kind") == "request" && Str(l, "method") == "POST").ToArray();
        Assert.All(requests, r => Assert.Equal("200", Str(r, "status")));
        var paths = requests.Select(r => Str(r, "path")!).Where(p => p != "/v1/m").ToHashSet();
        Assert.Equal(strategy == "batching" ? ["/v1/b"] : new HashSet<string> { "/v1/p", "/v1/t", "/v1/i", "/v1/g", "/v1/a", "/v1/s" }, paths);
        Assert.Contains(requests, r => Str(r, "path") == "/v1/m");

        await factory.WaitDeliveredAsync();
        var events = Events(factory);
        Assert.Equal(["Signed Up", "alias", "group", "identify", "pageview", "screen"], events.Select(e => Str(e, "e")!).Order(StringComparer.Ordinal));
        Assert.All(events, e => Assert.Equal("website", Str(e, "source")));
        Assert.Equal("browser-user-1", Str(events.Single(e => Str(e, "e") == "identify"), "uid"));
        Assert.Equal(("browser-group-1", "Acme"), (Str(events.Single(e => Str(e, "e") == "group"), "props.segment.groupId"), Str(events.Single(e => Str(e, "e") == "group"), "props.name")));
        // The alias as the SDK sent it (its userId and previousId are the SDK's choice): stored field for field.
        var sentAlias = requests.Where(r => r.TryGetProperty("body", out var b) && b.ValueKind == JsonValueKind.Object)
            .SelectMany(r => r.GetProperty("body").TryGetProperty("batch", out var batch) ? batch.EnumerateArray().ToArray() : [r.GetProperty("body")])
            .Single(m => Str(m, "type") == "alias");
        var alias = events.Single(e => Str(e, "e") == "alias");
        Assert.NotNull(Str(sentAlias, "previousId"));
        Assert.Equal((Str(sentAlias, "userId"), Str(sentAlias, "previousId")), (Str(alias, "uid"), Str(alias, "props.segment.previousId")));
        Assert.Equal("a", Str(events.Single(e => Str(e, "e") == "screen"), "props.variant"));
        Assert.Equal(6, factory.Outcome(EventOutcomes.Accepted));
        Assert.All(factory.Lines(), l => Assert.DoesNotContain(Key, l, StringComparison.Ordinal));
    }

    /// <summary>
    /// GoTrack answers the SDK's batch 503 once (the log is full: the NDJSON sink cannot write), the SDK
    /// retries with the same messageIds, and every event is stored once per sink, Postgres included.
    /// </summary>
    [Fact]
    public async Task An_SDK_retry_after_a_503_stores_each_event_once_per_sink()
    {
        using var dir = new TempDir();
        var blocker = dir.Blocker("data"); // the NDJSON sink fails until it is removed
        var table = "sdk_" + Guid.NewGuid().ToString("N")[..8];
        using var factory = new IngestFactory(new()
        {
            ["OUTPUTS"] = "log,postgres",
            ["LOG_PATH"] = Path.Combine(blocker, "events.ndjson"),
            ["PG_DSN"] = db.Server.Uri(db.Name),
            ["PG_TABLE"] = table,
            ["PG_FLUSH_MS"] = "10",
            ["QUEUE_MAX_EVENTS"] = "600",
            ["SINK_RETRY_BASE_MS"] = "5",
            ["SINK_RETRY_MAX_MS"] = "50",
        });
        var host = factory.StartOnKestrel();
        using (var client = new HttpClient())
        {
            for (var i = 0; i < 200; i++)
            {
                using var pixel = await client.GetAsync($"{host}/px.gif?e=prefill&n={i}");
                Assert.Equal(200, (int)pixel.StatusCode);
            }
        }

        // 200 held + 6 fit; the batch of 500 does not: 503. Repair the sink once GoTrack has said so.
        var repair = Task.Run(async () =>
        {
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (factory.Outcome(EventOutcomes.Overload) == 0 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }

            File.Delete(blocker);
        });
        var (code, lines) = await NodeAsync("node-sdk.mjs", new() { ["HOST"] = host, ["WRITE_KEY"] = Key, ["BULK"] = "500" }, TimeSpan.FromMinutes(3));
        await repair;
        Assert.Equal(0, code);
        var statuses = lines.Where(l => Str(l, "kind") == "response").Select(l => Str(l, "status") ?? "").ToArray();
        Assert.Equal(["200", "503", "200"], statuses);
        Assert.Equal(500, factory.Outcome(EventOutcomes.Overload));

        await factory.WaitDeliveredAsync(TimeSpan.FromSeconds(60));
        var lineIds = Events(factory).Select(e => Str(e, "event_id")).ToArray();
        Assert.Equal(706, lineIds.Length);
        Assert.Equal(706, lineIds.Distinct().Count());
        Assert.Equal(706L, await db.ScalarAsync<long>($"SELECT count(*) FROM {table}"));
        Assert.Equal(706L, await db.ScalarAsync<long>($"SELECT count(DISTINCT event_id) FROM {table}"));
    }
}
