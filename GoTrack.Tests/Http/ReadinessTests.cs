using System.Net;
using System.Text.Json;
using GoTrack.Core.Sinks;
using GoTrack.Tests.Kafka;
using GoTrack.Tests.Support;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;

namespace GoTrack.Tests.Http;

/// <summary>/readyz means "this instance can take events": a sink's hiccup is Degraded, not a 503.</summary>
public sealed class ReadinessTests
{
    /// <summary>Two seconds more (61 s, past the 60 s grace): /readyz is 503 and the sink's check Unhealthy with <paramref name="description"/>.</summary>
    private static async Task<JsonElement> PastTheGraceAsync(HttpClient client, FakeTimeProvider clock, string check, string description)
    {
        clock.Advance(TimeSpan.FromSeconds(2));
        var (status, checks) = await ReadyAsync(client);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        var sink = checks.GetProperty(check);
        Assert.Equal("Unhealthy", sink.GetProperty("status").GetString());
        Assert.StartsWith(description, sink.GetProperty("description").GetString(), StringComparison.Ordinal);
        return checks;
    }

    private static async Task<(HttpStatusCode Status, JsonElement Checks)> ReadyAsync(HttpClient client)
    {
        using var response = await client.GetAsync("/readyz");
        var checks = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("checks").Clone();
        return (response.StatusCode, checks);
    }

    [Fact]
    public async Task A_failing_sink_is_degraded_with_200_until_the_grace_has_passed_then_not_ready()
    {
        using var dir = new TempDir();
        var blocker = dir.Blocker(); // LOG_PATH's folder is a file: every write fails
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var factory = new IngestFactory(new()
        {
            ["LOG_PATH"] = Path.Combine(blocker, "events.ndjson"),
            ["FLUSH_INTERVAL_MS"] = "0",
            ["READY_SINK_GRACE_MS"] = "60000",
        }, clock);
        using var client = factory.CreateClient();
        var (status, checks) = await ReadyAsync(client);
        Assert.Equal(HttpStatusCode.OK, status);

        using (var pixel = await client.GetAsync("/px.gif?e=x"))
        {
            Assert.Equal(HttpStatusCode.OK, pixel.StatusCode);
        }

        // The first attempt fails at once; the retry waits on the fake clock.
        var runner = factory.Services.GetRequiredService<EventPipeline>().Runner("log");
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
        {
            while (runner.ConsecutiveFailures == 0)
            {
                await Task.Delay(5, cts.Token);
            }
        }

        clock.Advance(TimeSpan.FromSeconds(59));
        (status, checks) = await ReadyAsync(client);
        Assert.Equal(HttpStatusCode.OK, status);
        var log = checks.GetProperty("sink-log");
        Assert.Equal("Degraded", log.GetProperty("status").GetString());
        Assert.Equal("writes failing for 59 s; 1 events (" + runner.Reader.PendingBytes + " bytes) waiting", log.GetProperty("description").GetString());

        checks = await PastTheGraceAsync(client, clock, "sink-log", "writes failing for 61 s");

        // No internals in any answer: not the path, not the exception's text.
        var body = checks.ToString();
        Assert.DoesNotContain("not-a-dir", body, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", body, StringComparison.Ordinal);
        Assert.Equal("Healthy", checks.GetProperty("log-headroom").GetProperty("status").GetString());
    }

    /// <summary>
    /// The other way to fail: the sink's own check says no (every broker down) while nothing is written, so
    /// no write fails. Degraded with 200 until the grace has passed, then 503; the body names the topic
    /// and an error code, never a broker's address.
    /// </summary>
    [Fact]
    public async Task An_unreachable_sink_with_no_traffic_is_degraded_with_200_until_the_grace_has_passed_then_not_ready()
    {
        using var kafka = new MockKafka();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var factory = new IngestFactory(kafka.IngestSettings(("READY_SINK_GRACE_MS", "60000"), ("FLUSH_INTERVAL_MS", "0")), clock);
        using var client = factory.CreateClient();
        var (status, checks) = await ReadyAsync(client);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("Healthy", checks.GetProperty("sink-kafka").GetProperty("status").GetString());

        kafka.Cluster.SetBrokerDown();
        (status, checks) = await ReadyAsync(client); // the first probe that finds no broker starts the clock
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("Degraded", checks.GetProperty("sink-kafka").GetProperty("status").GetString());

        clock.Advance(TimeSpan.FromSeconds(59));
        (status, checks) = await ReadyAsync(client);
        Assert.Equal(HttpStatusCode.OK, status);
        var sink = checks.GetProperty("sink-kafka");
        Assert.Equal("Degraded", sink.GetProperty("status").GetString());
        Assert.StartsWith("not reachable for 59 s (no Kafka broker answered", sink.GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.EndsWith("; 0 events (0 bytes) waiting", sink.GetProperty("description").GetString(), StringComparison.Ordinal);

        checks = await PastTheGraceAsync(client, clock, "sink-kafka", "not reachable for 61 s");
        Assert.Null(factory.Services.GetRequiredService<EventPipeline>().Runner("kafka").FailingFor);

        // No broker address in the answer: neither the bootstrap host nor any broker's port.
        var body = checks.ToString();
        Assert.DoesNotContain("127.0.0.1", body, StringComparison.Ordinal);
        Assert.DoesNotContain("localhost", body, StringComparison.Ordinal);
        foreach (var broker in kafka.Bootstrap.Split(','))
        {
            Assert.DoesNotContain(broker[(broker.LastIndexOf(':') + 1)..], body, StringComparison.Ordinal);
        }
    }

    /// <summary>
    /// A check that throws: the health service puts the exception's message in the description, and a
    /// message can name a host or carry a connection string. The answer gives the exception's type only.
    /// </summary>
    [Fact]
    public async Task A_check_that_throws_shows_its_exception_type_never_its_message()
    {
        using var factory = new IngestFactory();
        using var app = factory.WithWebHostBuilder(b => b.ConfigureTestServices(services => services.AddHealthChecks().AddCheck(
            "throws",
            () => throw new InvalidOperationException("could not reach db-7.internal.example:5432 (Password=hunter2)"),
            [Extensions.ReadyTag])));
        using var client = app.CreateClient();
        using var response = await client.GetAsync("/readyz");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.DoesNotContain("db-7.internal.example", body, StringComparison.Ordinal);
        Assert.DoesNotContain("5432", body, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", body, StringComparison.Ordinal);
        var check = JsonDocument.Parse(body).RootElement.GetProperty("checks").GetProperty("throws");
        Assert.Equal("Unhealthy", check.GetProperty("status").GetString());
        Assert.Equal("check failed (InvalidOperationException); see the log", check.GetProperty("description").GetString());
    }

    [Fact]
    public async Task A_stopping_server_is_not_ready()
    {
        using var factory = new IngestFactory();
        using var client = factory.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await ReadyAsync(client)).Status);
        var lifetime = factory.Services.GetRequiredService<IHostApplicationLifetime>();
        var registration = factory.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckServiceOptions>>()
            .Value.Registrations.Single(r => r.Name == "stopping");
        Assert.Contains(Extensions.ReadyTag, registration.Tags);
        var registered = registration.Factory(factory.Services);
        var check = new GoTrack.Ingest.Health.StoppingHealthCheck(lifetime);
        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy, (await check.CheckHealthAsync(null!)).Status);
        lifetime.StopApplication();
        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Unhealthy, (await check.CheckHealthAsync(null!)).Status);

        // The check /readyz actually runs (registered with the ready tag), not only the class; made before
        // the stop, since a stopped host disposes its services.
        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Unhealthy, (await registered.CheckHealthAsync(null!)).Status);
    }
}
