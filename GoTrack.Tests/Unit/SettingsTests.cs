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

        // The seed has ./events.ndjson; ours keeps the file with the WAL and the rotated logs (see the README's table).
        Assert.Equal("./data/events.ndjson", o.Ndjson.Path);
    }

    /// <summary>
    /// Under IP_MODE=drop the join has no address to tell visitors apart, so one browser build's first visits
    /// across the whole site would share sessions (42.65% of 1,000 an hour, SessionJoinTests): the join is off
    /// unless the operator asks for it. Every other mode keeps the 2-second join.
    /// </summary>
    [Theory]
    [InlineData("drop", null, 0)]
    [InlineData("drop", "2s", 2000)]
    [InlineData("truncate", null, 2000)]
    [InlineData("hash", null, 2000)]
    [InlineData("raw", "0", 0)]
    public void The_session_join_is_off_under_IP_MODE_drop_unless_it_is_set(string ipMode, string? window, int expectedMs)
    {
        var values = new List<(string, string)> { ("IP_MODE", ipMode) };
        if (window is not null)
        {
            values.Add(("SESSION_JOIN_WINDOW", window));
        }

        var o = Load(out var errors, [.. values]);
        Assert.Empty(errors);
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), o.Cookie.JoinWindow);
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
    [InlineData("TRUSTED_PROXIES", "10.0.0.0/8,not-a-cidr")]
    [InlineData("TRUSTED_PROXIES", "10.0.0.0/40")]
    [InlineData("FORWARDED_HEADER", "x-real-ip")]
    [InlineData("IP_MODE", "mask")]
    [InlineData("IP_HASH_SECRET", "short")]
    [InlineData("GPC_RESPECT", "perhaps")]
    [InlineData("PRIVACY_MODE", "hide")]
    [InlineData("BOT_MODE", "block")]
    [InlineData("COOKIE_MODE", "maybe")]
    [InlineData("GEOIP_DB", "/nonexistent/GeoLite2-City.mmdb")]
    [InlineData("GEOIP_RELOAD_INTERVAL", "0s")]
    [InlineData("CORS_ALLOWED_ORIGINS", "shop.example.com")]
    [InlineData("CORS_ALLOWED_ORIGINS", "https://shop.example.com/")]
    [InlineData("CORS_ALLOWED_ORIGINS", "ftp://shop.example.com")]
    [InlineData("CORS_ALLOWED_ORIGINS", "https://shop.*.com")]
    [InlineData("CORS_ALLOWED_ORIGINS", "https://*")]
    [InlineData("CORS_ALLOWED_ORIGINS", "https://a.com:99999")]
    [InlineData("OUTPUTS", "log,s3")]
    [InlineData("PG_DSN", "mysql://root@db/x")]
    [InlineData("PG_TABLE", "events; drop table x")]
    [InlineData("PG_BATCH_SIZE", "0")]
    [InlineData("PG_FLUSH_MS", "soon")]
    [InlineData("PG_COPY", "maybe")]
    [InlineData("PG_AUTO_MIGRATE", "2")]
    [InlineData("PG_HEALTH_TIMEOUT_MS", "1")]
    [InlineData("OUTPUTS", ",")]
    [InlineData("ACK_MODE", "disk")]
    [InlineData("OPS_ADDR", "nine")]
    [InlineData("OPS_ADDR", ":0")]
    [InlineData("OPS_ADDR", ":19890")]
    [InlineData("WAL_MAX_BYTES", "lots")]
    [InlineData("WAL_MAX_BYTES", "1T")]
    [InlineData("WAL_MAX_BYTES", "100M")]
    [InlineData("WAL_MAX_BYTES", "2M")]
    [InlineData("WAL_SEGMENT_MB", "0")]
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
    public void A_memory_log_smaller_than_one_collect_batch_is_refused_naming_both_variables()
    {
        Load(out var errors, ("QUEUE_MAX_EVENTS", "100"));
        var error = Assert.Single(errors);
        Assert.StartsWith("QUEUE_MAX_EVENTS:", error, StringComparison.Ordinal);
        Assert.Contains("MAX_BATCH_EVENTS (500)", error, StringComparison.Ordinal);

        Load(out errors, ("QUEUE_MAX_EVENTS", "100"), ("MAX_BATCH_EVENTS", "100"));
        Assert.Empty(errors);
        Load(out errors, ("QUEUE_MAX_EVENTS", "100"), ("ACK_MODE", "wal")); // the WAL is bounded by bytes only
        Assert.Empty(errors);
    }

    /// <summary>
    /// QUEUE_MAX_MB bounds the memory log, which must hold one whole request; under ACK_MODE=wal the disk log
    /// is bounded by WAL_MAX_BYTES (four requests at least), so a large MAX_BODY_BYTES needs only that.
    /// </summary>
    [Fact]
    public void A_memory_log_smaller_than_one_request_is_refused_only_in_memory_mode()
    {
        Load(out var errors, ("MAX_BODY_BYTES", "10485760"), ("QUEUE_MAX_MB", "5"));
        Assert.StartsWith("QUEUE_MAX_MB:", Assert.Single(errors), StringComparison.Ordinal);

        var o = Load(out errors, ("MAX_BODY_BYTES", "10485760"), ("QUEUE_MAX_MB", "5"), ("ACK_MODE", "wal"));
        Assert.Empty(errors);
        Assert.Equal(10L << 20, o.MaxBodyBytes);
    }

    [Fact]
    public void Wal_settings_default_beside_the_log_and_take_sizes_with_units()
    {
        var o = Load(out var errors, ("ACK_MODE", "wal"), ("LOG_PATH", "/var/lib/gotrack/events.ndjson"), ("WAL_MAX_BYTES", "512M"), ("WAL_SEGMENT_MB", "16"));
        Assert.Empty(errors);
        Assert.Equal("/var/lib/gotrack/wal", o.Wal!.Directory);
        Assert.Equal(512L << 20, o.Wal.MaxBytes);
        Assert.Equal(16L << 20, o.Wal.SegmentBytes);
        Assert.Null(Load(out _).Wal);
        Assert.Equal(1L << 30, Load(out _, ("ACK_MODE", "wal")).Wal!.MaxBytes);
    }

    [Theory]
    [InlineData("1024", 1024L)]
    [InlineData("4K", 4096L)]
    [InlineData("3 MiB", 3L << 20)]
    [InlineData("2g", 2L << 30)]
    [InlineData("", -1L)]
    [InlineData("G", -1L)]
    [InlineData("1.5G", -1L)]
    [InlineData("-1", -1L)]
    [InlineData("99999999999999999G", -1L)]
    public void Sizes_parse_as_powers_of_1024_and_refuse_anything_else(string text, long expected)
    {
        var ok = GoTrack.Core.Configuration.SettingsReader.TryParseSize(text, out var bytes);
        Assert.Equal(expected >= 0, ok);
        if (ok)
        {
            Assert.Equal(expected, bytes);
        }
    }

    [Fact]
    public void Privacy_defaults_are_the_seeds_and_private_by_default_where_the_seed_is_silent()
    {
        var p = Load(out var errors).Privacy;
        Assert.Empty(errors);
        Assert.False(p.TrustProxy);
        Assert.Equal(6, p.TrustedProxies.Count);
        Assert.Equal(GoTrack.Ingest.Privacy.IpMode.Raw, p.IpMode);
        Assert.True(p.DntRespect);
        Assert.True(p.GpcRespect);
        Assert.Equal(GoTrack.Ingest.Privacy.PrivacyMode.Drop, p.PrivacyMode);
        Assert.Equal(GoTrack.Ingest.Privacy.BotMode.Flag, p.BotMode);
        Assert.Equal(GoTrack.Ingest.Privacy.CookieMode.On, p.CookieMode);
        Assert.Null(p.IpHashSecret);
        Assert.Null(p.GeoIpPath);
        Assert.True(p.CorsOrigins.IsEmpty);
        Assert.False(p.NeedsDailyKey);
    }

    [Fact]
    public void Privacy_settings_read_their_values()
    {
        var p = Load(out var errors,
            ("TRUST_PROXY", "true"), ("TRUSTED_PROXIES", "192.0.2.0/24, 2001:db8::1"), ("FORWARDED_HEADER", "Forwarded"),
            ("IP_MODE", "HASH"), ("IP_HASH_SECRET", "0123456789abcdefXYZ"), ("GPC_RESPECT", "false"), ("PRIVACY_MODE", "anonymize"),
            ("BOT_MODE", "drop"), ("COOKIE_MODE", "off"), ("GEOIP_RELOAD_INTERVAL", "5s"),
            ("CORS_ALLOWED_ORIGINS", "https://shop.example.com, https://*.example.org, http://[::1]:8080")).Privacy;
        Assert.Empty(errors);
        Assert.True(p.TrustProxy);
        Assert.Equal(2, p.TrustedProxies.Count);
        Assert.Equal(GoTrack.Ingest.Privacy.ForwardedHeader.Forwarded, p.ForwardedHeader);
        Assert.Equal(GoTrack.Ingest.Privacy.IpMode.Hash, p.IpMode);
        Assert.Equal("0123456789abcdefXYZ"u8.ToArray(), p.IpHashSecret);
        Assert.False(p.GpcRespect);
        Assert.Equal(GoTrack.Ingest.Privacy.PrivacyMode.Anonymize, p.PrivacyMode);
        Assert.Equal(GoTrack.Ingest.Privacy.BotMode.Drop, p.BotMode);
        Assert.Equal(GoTrack.Ingest.Privacy.CookieMode.Off, p.CookieMode);
        Assert.Equal(TimeSpan.FromSeconds(5), p.GeoIpReloadInterval);
        Assert.True(p.CorsOrigins.IsAllowed("https://shop.example.com"));
        Assert.True(p.CorsOrigins.IsAllowed("https://x.example.org"));
        Assert.True(p.CorsOrigins.IsAllowed("http://[::1]:8080"));
        Assert.False(p.CorsOrigins.IsAllowed("https://example.org"));
    }

    [Fact]
    public void Help_lists_every_privacy_variable()
    {
        var help = IngestSettings.HelpText();
        foreach (var name in new[] { "TRUST_PROXY", "TRUSTED_PROXIES", "FORWARDED_HEADER", "IP_MODE", "IP_HASH_SECRET", "DNT_RESPECT", "GPC_RESPECT",
            "PRIVACY_MODE", "BOT_MODE", "COOKIE_MODE", "GEOIP_DB", "GEOIP_RELOAD_INTERVAL", "CORS_ALLOWED_ORIGINS" })
        {
            Assert.Contains(name, help, StringComparison.Ordinal);
        }

        Assert.Contains("Privacy and enrichment:", help, StringComparison.Ordinal);
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
