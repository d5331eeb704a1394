using System.Net;
using System.Text;
using GoTrack.Tests.Support;

namespace GoTrack.Tests.EndToEnd;

[Collection(PublishedBinaryGroup.Name)]
public sealed class PublishedBinaryTests(PublishedIngest published) : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private Dictionary<string, string> Env(int port, params (string Key, string Value)[] extra)
    {
        var env = new Dictionary<string, string>
        {
            ["SERVER_ADDR"] = $"127.0.0.1:{port}",
            ["LOG_PATH"] = _dir.File("events.ndjson"),
            ["FLUSH_INTERVAL_MS"] = "50",
            ["SHUTDOWN_TIMEOUT"] = "20s",
        };
        foreach (var (k, v) in extra)
        {
            env[k] = v;
        }

        return env;
    }

    [Fact]
    public async Task Events_sent_then_sigterm_land_as_exactly_these_lines_and_the_process_exits_0()
    {
        var port = PublishedIngest.FreePort();
        using var process = PublishedIngest.Start(published.Executable, "", Env(port), out var output);
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        await PublishedIngest.WaitUntilUpAsync(client, process, output);

        var ids = Enumerable.Range(1, 6).Select(i => $"01937a3c-0000-7000-8000-{i:D12}").ToArray();
        for (var i = 0; i < 3; i++)
        {
            using var r = await client.GetAsync($"/px.gif?event_id={ids[i]}&e=view&n={i}");
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        }

        using (var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/px.gif?event_id={ids[3]}")))
        {
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        }

        var batch = $$"""[{"event_id":"{{ids[4]}}","e":"a"},{"event_id":"{{ids[5]}}","e":"b"}]""";
        using (var c = await client.PostAsync("/collect", new StringContent(batch, Encoding.UTF8, "text/plain")))
        {
            Assert.Equal(HttpStatusCode.Accepted, c.StatusCode);
        }

        // The published binary runs as Production: the operations endpoints must answer there too.
        using (var ready = await client.GetAsync("/readyz"))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }

        var metrics = await client.GetStringAsync("/metrics");
        Assert.Contains("gotrack_events_total{otel_scope_name=\"GoTrack\",outcome=\"accepted\"} 6", metrics, StringComparison.Ordinal);
        // The gauge the "log filling" alert watches, exported under that name (in-process tests read it from the host's meter).
        Assert.InRange(GoTrack.Tests.Deploy.PrometheusText.ValueOf(metrics, "gotrack_log_fill_ratio"), 0, 0.01);

        PublishedIngest.SendSigterm(process);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(cts.Token);
        Assert.True(process.ExitCode == 0, "exit code " + process.ExitCode + "\n" + output);

        var lines = await File.ReadAllLinesAsync(_dir.File("events.ndjson"));
        Assert.Equal(ids, lines.Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("event_id").GetString()));
        Assert.Equal(["view", "view", "view", "pageview", "a", "b"], lines.Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("e").GetString()));
        Assert.All(lines, l => Assert.Contains("\"ip\":\"127.0.0.1\"", l, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_burst_over_concurrent_keep_alive_connections_then_shutdown_loses_nothing()
    {
        var port = PublishedIngest.FreePort();
        // A long flush interval keeps events in the log until shutdown, so the drain really has work.
        using var process = PublishedIngest.Start(published.Executable, "", Env(port, ("FLUSH_INTERVAL_MS", "2000"), ("BATCH_SIZE", "500")), out var output);
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 16, PooledConnectionLifetime = TimeSpan.FromMinutes(5) };
        using var client = new HttpClient(handler) { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        await PublishedIngest.WaitUntilUpAsync(client, process, output);

        var accepted = 0;
        var workers = Enumerable.Range(0, 16).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < 250; i++)
            {
                using var r = w % 4 == 0
                    ? await client.PostAsync("/collect", new StringContent("""[{"e":"b1"},{"e":"b2"}]""", Encoding.UTF8, "application/json"))
                    : await client.GetAsync($"/px.gif?e=burst&w={w}&i={i}");
                if (r.StatusCode == HttpStatusCode.OK)
                {
                    Interlocked.Increment(ref accepted);
                }
                else if (r.StatusCode == HttpStatusCode.Accepted)
                {
                    Interlocked.Add(ref accepted, 2);
                }
            }
        }));
        await Task.WhenAll(workers);
        Assert.Equal(12 * 250 + (4 * 250 * 2), accepted);

        PublishedIngest.SendSigterm(process);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(cts.Token);
        Assert.True(process.ExitCode == 0, "exit code " + process.ExitCode + "\n" + output);
        var lines = await File.ReadAllLinesAsync(_dir.File("events.ndjson"));
        Assert.Equal(accepted, lines.Length);
        Assert.Equal(accepted, lines.Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("event_id").GetString()).Distinct().Count());
    }

    [Fact]
    public async Task Help_prints_every_variable_and_exits_0()
    {
        var (code, output) = await PublishedIngest.RunAsync(published.Executable, "--help", TimeSpan.FromSeconds(30));
        Assert.Equal(0, code);
        Assert.Contains("SERVER_ADDR", output, StringComparison.Ordinal);
        Assert.Contains("LOG_MAX_AGE_DAYS", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_setting_exits_2_naming_the_variable()
    {
        var env = Env(PublishedIngest.FreePort(), ("BATCH_SIZE", "lots"), ("OUTPUTS", "log,kafka"), ("COLLECT_PATHS", "/metrics/e"));
        var (code, output) = await PublishedIngest.RunAsync(published.Executable, "", TimeSpan.FromSeconds(30), env);
        Assert.Equal(2, code);
        Assert.Contains("BATCH_SIZE: must be a whole number", output, StringComparison.Ordinal);
        Assert.Contains("KAFKA_BROKERS: required", output, StringComparison.Ordinal);
        Assert.Contains("COLLECT_PATHS: '/metrics/e' is under /metrics", output, StringComparison.Ordinal);
    }

    /// <summary>
    /// SERVER_ADDR taken by another process (a second instance, an old one still stopping): one line naming
    /// the address and the way out, and exit 1; not an unhandled exception that aborts the runtime (SIGABRT,
    /// exit 134, a core dump where core dumps are on).
    /// </summary>
    [Fact]
    public async Task An_address_in_use_exits_1_with_one_line_naming_it()
    {
        using var taken = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var (code, output) = await PublishedIngest.RunAsync(published.Executable, "", TimeSpan.FromSeconds(60), Env(port));
        Assert.True(code == 1, $"exit code {code}:\n{output}");
        Assert.Contains($"127.0.0.1:{port}: address already in use", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", output, StringComparison.Ordinal);
    }
}

/// <summary>OPS_ADDR on the published binary: real sockets, so the split by local port is what runs in production.</summary>
[Collection(PublishedBinaryGroup.Name)]
public sealed class PublishedOpsPortTests(PublishedIngest published) : IDisposable
{
    private readonly GoTrack.Tests.Support.TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task With_OPS_ADDR_operations_answer_only_there_and_intake_only_on_the_public_port()
    {
        var port = PublishedIngest.FreePort();
        var opsPort = PublishedIngest.FreePort();
        var env = new Dictionary<string, string>
        {
            ["SERVER_ADDR"] = $"127.0.0.1:{port}",
            ["OPS_ADDR"] = $"127.0.0.1:{opsPort}",
            ["LOG_PATH"] = _dir.File("events.ndjson"),
            ["DEBUG_UI"] = "true",
        };
        using var process = PublishedIngest.Start(published.Executable, "", env, out var output);
        using var ops = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{opsPort}") };
        using var pub = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        await PublishedIngest.WaitUntilUpAsync(ops, process, output);
        try
        {
            foreach (var path in new[] { "/healthz", "/readyz", "/metrics", "/debug" })
            {
                Assert.Equal(System.Net.HttpStatusCode.OK, (await ops.GetAsync(path)).StatusCode);
                Assert.Equal(System.Net.HttpStatusCode.NotFound, (await pub.GetAsync(path)).StatusCode);
            }

            Assert.Equal(System.Net.HttpStatusCode.OK, (await pub.GetAsync("/px.gif?e=ops")).StatusCode);
            Assert.Equal(System.Net.HttpStatusCode.NotFound, (await ops.GetAsync("/px.gif?e=ops")).StatusCode);

            // A Host header naming the ops port changes nothing: the split is by the socket's port.
            using var sneaky = new HttpRequestMessage(HttpMethod.Get, "/metrics");
            sneaky.Headers.Host = $"127.0.0.1:{opsPort}";
            Assert.Equal(System.Net.HttpStatusCode.NotFound, (await pub.SendAsync(sneaky)).StatusCode);
        }
        finally
        {
            PublishedIngest.SendSigterm(process);
            await process.WaitForExitAsync();
        }

        Assert.Single(await File.ReadAllLinesAsync(_dir.File("events.ndjson")));
    }
}
