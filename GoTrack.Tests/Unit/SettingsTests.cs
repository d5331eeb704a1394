using GoTrack.Ingest.Configuration;
using Microsoft.Extensions.Configuration;

namespace GoTrack.Tests.Unit;

public sealed class SettingsTests
{
    private static IngestOptions Load(out IReadOnlyList<string> errors, params (string Key, string Value)[] values)
    {
        var config = new ConfigurationBuilder()
            .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value)))
            .Build();
        return IngestSettings.Load(config, out errors);
    }

    [Fact]
    public void Defaults_are_the_seeds()
    {
        var o = Load(out var errors);
        Assert.Empty(errors);
        Assert.Equal(":19890", o.ServerAddress);
        Assert.Equal(["log"], o.Outputs);
        Assert.Equal(100, o.Runner.BatchSize);
        Assert.Equal(TimeSpan.FromMilliseconds(250), o.Runner.FlushInterval);
        Assert.Equal(4, o.Runner.WorkerConcurrency);
        Assert.False(o.Privacy.TrustProxy);
        Assert.True(o.Privacy.DntRespect);
        Assert.Equal(1024 * 1024, o.MaxBodyBytes);
        Assert.Equal("memory", o.AckMode);
        Assert.Equal(TimeSpan.FromSeconds(20), o.Runner.ShutdownTimeout);
    }

    [Theory]
    [InlineData("BATCH_SIZE", "abc")]
    [InlineData("BATCH_SIZE", "0")]
    [InlineData("FLUSH_INTERVAL_MS", "-1")]
    [InlineData("WORKER_CONCURRENCY", "1.5")]
    [InlineData("QUEUE_MAX_EVENTS", "0")]
    [InlineData("QUEUE_MAX_MB", "x")]
    [InlineData("MAX_BODY_BYTES", "10")]
    [InlineData("MAX_BATCH_EVENTS", "0")]
    [InlineData("DNT_RESPECT", "maybe")]
    [InlineData("TRUST_PROXY", "sometimes")]
    [InlineData("OUTPUTS", "log,s3")]
    [InlineData("OUTPUTS", "kafka")]
    [InlineData("OUTPUTS", "postgres")]
    [InlineData("OUTPUTS", ",")]
    [InlineData("ACK_MODE", "wal")]
    [InlineData("ACK_MODE", "disk")]
    [InlineData("SERVER_ADDR", "nope")]
    [InlineData("SHUTDOWN_TIMEOUT", "10 parsecs")]
    [InlineData("SHUTDOWN_TIMEOUT", "0s")]
    [InlineData("LOG_ROTATE_MB", "0")]
    [InlineData("LOG_BACKUPS", "-1")]
    [InlineData("LOG_MAX_AGE_DAYS", "y")]
    [InlineData("LOG_FSYNC", "2")]
    [InlineData("COOKIE_NAME", "bad name")]
    [InlineData("COOKIE_MAX_AGE", "-5")]
    [InlineData("COOKIE_DOMAIN", "a;b")]
    [InlineData("SINK_RETRY_MAX_MS", "5")]
    public void Every_bad_value_is_an_error_that_names_the_variable(string key, string value)
    {
        Load(out var errors, (key, value));
        var error = Assert.Single(errors);
        Assert.StartsWith(key + ":", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Several_mistakes_are_reported_together()
    {
        Load(out var errors, ("BATCH_SIZE", "x"), ("LOG_FSYNC", "x"), ("OUTPUTS", "nope"));
        Assert.Equal(3, errors.Count);
    }

    [Theory]
    [InlineData("urls", "http://127.0.0.1:5000")]
    [InlineData("http_ports", "8080")]
    public void Without_SERVER_ADDR_aspnet_urls_from_the_apphost_win(string key, string value)
    {
        var o = Load(out var errors, (key, value));
        Assert.Empty(errors);
        Assert.Null(o.ServerAddress);
        Assert.Equal("127.0.0.1:1", Load(out _, (key, value), ("SERVER_ADDR", "127.0.0.1:1")).ServerAddress);
    }

    [Theory]
    [InlineData("20s", 20_000)]
    [InlineData("500ms", 500)]
    [InlineData("1m30s", 90_000)]
    [InlineData("7", 7_000)]
    [InlineData("1.5s", 1_500)]
    public void Durations_read_go_style(string text, int ms)
    {
        Assert.True(GoTrack.Core.Configuration.SettingsReader.TryParseDuration(text, out var value));
        Assert.Equal(TimeSpan.FromMilliseconds(ms), value);
    }

    [Fact]
    public void Help_lists_every_variable_with_its_default()
    {
        var help = IngestSettings.HelpText();
        foreach (var (_, settings) in IngestSettings.Docs)
        {
            foreach (var s in settings)
            {
                Assert.Contains(s.Name, help, StringComparison.Ordinal);
            }
        }

        foreach (var name in new[] { "SERVER_ADDR", "OUTPUTS", "BATCH_SIZE", "FLUSH_INTERVAL_MS", "WORKER_CONCURRENCY", "QUEUE_MAX_EVENTS", "TRUST_PROXY", "DNT_RESPECT", "MAX_BODY_BYTES", "MAX_BATCH_EVENTS", "LOG_PATH", "LOG_ROTATE_MB", "LOG_BACKUPS", "LOG_MAX_AGE_DAYS", "SHUTDOWN_TIMEOUT", "COOKIE_NAME", "COOKIE_MAX_AGE", "COOKIE_DOMAIN" })
        {
            Assert.Contains(name + " ", help, StringComparison.Ordinal);
        }
    }
}
