using System.Net;
using System.Text.Json;
using GoTrack.Core.Sinks;
using GoTrack.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;

namespace GoTrack.Tests.Http;

/// <summary>/readyz means "this instance can take events": a sink's hiccup is Degraded, not a 503.</summary>
public sealed class ReadinessTests
{
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

        clock.Advance(TimeSpan.FromSeconds(2));
        (status, checks) = await ReadyAsync(client);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        log = checks.GetProperty("sink-log");
        Assert.Equal("Unhealthy", log.GetProperty("status").GetString());
        Assert.StartsWith("writes failing for 61 s", log.GetProperty("description").GetString(), StringComparison.Ordinal);

        // No internals in any answer: not the path, not the exception's text.
        var body = checks.ToString();
        Assert.DoesNotContain("not-a-dir", body, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", body, StringComparison.Ordinal);
        Assert.Equal("Healthy", checks.GetProperty("log-headroom").GetProperty("status").GetString());
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
