using GoTrack.Core.Postgres;
using GoTrack.Core.Sinks;
using GoTrack.Ingest.Configuration;
using Microsoft.Extensions.Configuration;
using Npgsql;

namespace GoTrack.Tests.Unit;

public sealed class PostgresSettingsTests
{
    private static IngestOptions Load(out IReadOnlyList<string> errors, params (string Key, string? Value)[] values)
    {
        var config = new ConfigurationBuilder()
            .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value)))
            .Build();
        return IngestSettings.Load(config, out errors);
    }

    public static TheoryData<string> HostileTables =>
    [
        "events; drop table x",
        "events;drop table events_json--",
        "public.events; --",
        "events\"",
        "\"events\"",
        "'events'",
        "ev ents",
        "ev\nents",
        "events--",
        "events/*x*/",
        "a.b.c",
        ".events",
        "events.",
        "..",
        "1events",
        "événements",
        "events$1",
        "ev-ents",
        "e\0vents",
        new string('a', PgTableName.MaxNameLength + 1),
        "ok." + new string('b', PgTableName.MaxNameLength + 1),
        "",
        "   ",
    ];

    [Theory]
    [MemberData(nameof(HostileTables))]
    public void A_hostile_PG_TABLE_is_refused_at_start_naming_PG_TABLE(string table)
    {
        Assert.False(PgTableName.TryParse(table, out _, out var reason));
        Assert.NotEmpty(reason);
        Load(out var errors, ("PG_TABLE", table));
        var error = Assert.Single(errors);
        Assert.StartsWith("PG_TABLE:", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("events_json", null, "events_json", "\"events_json\"")]
    [InlineData("Events", null, "events", "\"events\"")]
    [InlineData("Analytics.Events_2026", "analytics", "events_2026", "\"analytics\".\"events_2026\"")]
    [InlineData("_x9._y", "_x9", "_y", "\"_x9\".\"_y\"")]
    [InlineData(" select ", null, "select", "\"select\"")]
    public void A_plain_or_schema_qualified_PG_TABLE_is_folded_and_quoted(string text, string? schema, string name, string quoted)
    {
        Assert.True(PgTableName.TryParse(text, out var table, out var error), error);
        Assert.Equal(schema, table.Schema);
        Assert.Equal(name, table.Name);
        Assert.Equal(quoted, table.Quoted);
    }

    public static TheoryData<string, string, int, string, string?, string, SslMode?> Uris => new()
    {
        { "postgres://user:pass@host:5432/db?sslmode=disable", "host", 5432, "user", "pass", "db", SslMode.Disable },
        { "postgresql://u@h/d", "h", 5432, "u", null, "d", null },
        { "postgres://u:p%40ss%3Aw%2Frd@db.example.com:6543/my%20db?sslmode=require", "db.example.com", 6543, "u", "p@ss:w/rd", "my db", SslMode.Require },
        { "postgres://u:p@[::1]:5433/d?sslmode=verify-full", "::1", 5433, "u", "p", "d", SslMode.VerifyFull },
        { "POSTGRES://u@10.0.0.7/d?sslmode=verify-ca", "10.0.0.7", 5432, "u", null, "d", SslMode.VerifyCA },
        { "postgres://h1:5432,h2:5433/d?user=x&password=y", "h1:5432,h2:5433", 5432, "x", "y", "d", null },
    };

    [Theory]
    [MemberData(nameof(Uris))]
    public void The_seeds_URI_form_of_PG_DSN_becomes_an_npgsql_connection_string(
        string uri, string host, int port, string user, string? password, string database, SslMode? sslMode)
    {
        Assert.True(PgDsn.TryParse(uri, out var cs, out var error), error);
        var b = new NpgsqlConnectionStringBuilder(cs);
        Assert.Equal(host, b.Host);
        Assert.Equal(port, b.Port);
        Assert.Equal(user, b.Username);
        Assert.Equal(password, b.Password);
        Assert.Equal(database, b.Database);
        Assert.Equal(sslMode ?? new NpgsqlConnectionStringBuilder().SslMode, b.SslMode);
        Assert.Equal(PgDsn.DefaultApplicationName, b.ApplicationName);
    }

    [Fact]
    public void URI_parameters_map_to_npgsql_keywords_and_the_keyword_form_passes_through()
    {
        Assert.True(PgDsn.TryParse("postgres://u@h/d?connect_timeout=7&application_name=ingest-a&options=-c%20statement_timeout%3D5000", out var cs, out _));
        var b = new NpgsqlConnectionStringBuilder(cs);
        Assert.Equal(7, b.Timeout);
        Assert.Equal("ingest-a", b.ApplicationName);
        Assert.Equal("-c statement_timeout=5000", b.Options);

        Assert.True(PgDsn.TryParse("Host=pg;Port=6000;Username=app;Password=x;Database=analytics", out cs, out _));
        b = new NpgsqlConnectionStringBuilder(cs);
        Assert.Equal(("pg", 6000, "app", "analytics"), (b.Host, b.Port, b.Username, b.Database));
    }

    [Theory]
    [InlineData("mysql://u:s3cret@h/d")]
    [InlineData("postgres://")]
    [InlineData("postgres://u:s3cret@/d")]
    [InlineData("postgres://u:s3cret@h:99999/d")]
    [InlineData("postgres://u:s3cret@h:port/d")]
    [InlineData("postgres://u:s3cret@h/d?bogus=1")]
    [InlineData("postgres://u:s3cret@h/d?sslmode=maybe")]
    [InlineData("postgres://u:s3cret@h/d?sslmode")]
    [InlineData("postgres://u:s3cret@h/a/b")]
    [InlineData("postgres://u:s3cret@h/d#frag")]
    [InlineData("postgres://u:s3cret@[::1/d")]
    [InlineData("postgres://u:s3cret@h;Pooling=false/d")]
    [InlineData("Host=h;Password=s3cret;Bogus=1")]
    [InlineData("Username=u;Password=s3cret")]
    [InlineData("Host=h;Port=notaport;Password=s3cret")]
    [InlineData("just words s3cret")]
    public void A_bad_PG_DSN_is_refused_naming_PG_DSN_and_never_echoing_the_password(string dsn)
    {
        Assert.False(PgDsn.TryParse(dsn, out _, out _));
        Load(out var errors, ("PG_DSN", dsn));
        var error = Assert.Single(errors);
        Assert.StartsWith("PG_DSN:", error, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", error, StringComparison.Ordinal);
    }

    [Fact]
    public void OUTPUTS_postgres_needs_PG_DSN_or_the_aspire_connection_string()
    {
        Load(out var errors, ("OUTPUTS", "log,postgres"));
        Assert.StartsWith("PG_DSN:", Assert.Single(errors), StringComparison.Ordinal);

        var o = Load(out errors, ("OUTPUTS", "postgres"), ("ConnectionStrings:analytics", "Host=pg;Username=u;Database=a"));
        Assert.Empty(errors);
        Assert.Equal("pg", new NpgsqlConnectionStringBuilder(o.Postgres.ConnectionString).Host);

        o = Load(out errors, ("OUTPUTS", "postgres"), ("PG_DSN", "postgres://u@first/a"), ("ConnectionStrings:analytics", "Host=second"));
        Assert.Empty(errors);
        Assert.Equal("first", new NpgsqlConnectionStringBuilder(o.Postgres.ConnectionString).Host);

        Load(out errors, ("OUTPUTS", "postgres"), ("ConnectionStrings:analytics", "Nonsense=1"));
        Assert.StartsWith("ConnectionStrings:analytics:", Assert.Single(errors), StringComparison.Ordinal);
    }

    [Fact]
    public void Every_output_is_built_and_each_needs_its_server()
    {
        Load(out var errors, ("OUTPUTS", "log,kafka,postgres"));
        Assert.Equal(["KAFKA_BROKERS", "PG_DSN"], errors.Select(e => e.Split(':')[0]).Order());
        var o = Load(out errors, ("OUTPUTS", "log,kafka,postgres"), ("PG_DSN", "postgres://u@h/d"), ("KAFKA_BROKERS", "k:9092"));
        Assert.Empty(errors);
        Assert.Equal(["log", "kafka", "postgres"], o.Outputs);
    }

    [Fact]
    public void Postgres_defaults_and_its_own_batching_override_the_shared_one()
    {
        var o = Load(out var errors, ("OUTPUTS", "log,postgres"), ("PG_DSN", "postgres://u@h/d"), ("LOG_PATH", "/var/lib/gotrack/events.ndjson"));
        Assert.Empty(errors);
        var pg = o.Postgres;
        Assert.Equal(("events_json", 500, TimeSpan.FromMilliseconds(500), true, true), (pg.Table.Name, pg.BatchSize, pg.FlushInterval, pg.UseCopy, pg.AutoMigrate));
        Assert.Equal("/var/lib/gotrack/postgres.dead-letter.ndjson", pg.DeadLetterPath);
        Assert.Equal(500, o.Runner.BatchSizeFor("postgres"));
        Assert.Equal(TimeSpan.FromMilliseconds(500), o.Runner.FlushIntervalFor("postgres"));
        Assert.NotNull(o.Runner.CircuitBreakerFor("postgres"));
        Assert.Equal(100, o.Runner.BatchSizeFor("log"));
        Assert.Equal(TimeSpan.FromMilliseconds(250), o.Runner.FlushIntervalFor("log"));
        Assert.Null(o.Runner.CircuitBreakerFor("log"));

        o = Load(out errors, ("OUTPUTS", "postgres"), ("PG_DSN", "postgres://u@h/d"), ("PG_BATCH_SIZE", "2000"), ("PG_FLUSH_MS", "50"),
            ("PG_COPY", "false"), ("PG_AUTO_MIGRATE", "off"), ("PG_DLQ_PATH", "/tmp/dlq.ndjson"), ("PG_TABLE", "a.b"));
        Assert.Empty(errors);
        Assert.Equal((2000, TimeSpan.FromMilliseconds(50), false, false, "/tmp/dlq.ndjson", "a.b"),
            (o.Runner.BatchSizeFor("postgres"), o.Runner.FlushIntervalFor("postgres"), o.Postgres.UseCopy, o.Postgres.AutoMigrate, o.Postgres.DeadLetterPath, o.Postgres.Table.ToString()));
    }

    [Fact]
    public void Help_lists_every_PG_variable_in_its_own_section()
    {
        var help = IngestSettings.HelpText();
        Assert.Contains("Postgres sink (OUTPUTS=postgres):", help, StringComparison.Ordinal);
        foreach (var name in new[] { "PG_DSN", "PG_TABLE", "PG_BATCH_SIZE", "PG_FLUSH_MS", "PG_COPY", "PG_AUTO_MIGRATE", "PG_DLQ_PATH", "PG_HEALTH_TIMEOUT_MS" })
        {
            Assert.Contains("  " + name + " ", help, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_breaker_stays_open_for_SINK_RETRY_MAX_MS_within_half_a_second_to_five()
    {
        var breaker = SinkResilience.BatchSinkBreaker(new SinkRunnerOptions { RetryMaxDelay = TimeSpan.FromSeconds(30) });
        Assert.Equal(TimeSpan.FromSeconds(5), breaker.BreakDuration);
        Assert.Equal(TimeSpan.FromMilliseconds(500), SinkResilience.BatchSinkBreaker(new SinkRunnerOptions { RetryMaxDelay = TimeSpan.FromMilliseconds(20) }).BreakDuration);
    }
}
