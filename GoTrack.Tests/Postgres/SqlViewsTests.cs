using System.Globalization;
using GoTrack.Core.Postgres;
using Npgsql;
using Record = GoTrack.Core.Events.Record;

namespace GoTrack.Tests.Postgres;

/// <summary>
/// The views in deploy/sql, created over rows written by the sink's own writer, give exactly the
/// expected figures. The test session runs in America/New_York so a view that forgot UTC would
/// put the midnight rows on the wrong day.
/// </summary>
public sealed class SqlViewsTests(PostgresDatabase db) : IClassFixture<PostgresDatabase>, IAsyncLifetime
{
    private NpgsqlDataSource _source = null!;

    private static Record At(string ts, string body) => Rows.Make(Guid.CreateVersion7(), DateTimeOffset.Parse(ts, CultureInfo.InvariantCulture), body);

    private static readonly Record[] Known =
    [
        At("2026-03-01T00:00:00.000Z", """{"e":"pageview","url":"https://a.example/","sid":"s1","uid":"u1","utm":{"source":"news","medium":"email","campaign":"spring"}}"""),
        At("2026-03-01T10:00:00.000Z", """{"e":"pageview","url":"https://a.example/","sid":"s1","uid":"u1","utm":{"source":"news","medium":"email","campaign":"spring"}}"""),
        At("2026-03-01T23:59:59.999Z", """{"e":"pageview","url":"https://b.example/","sid":"s2","utm":{"source":"news","medium":"email","campaign":"spring"}}"""),
        At("2026-03-01T11:00:00.000Z", """{"e":"click","sid":"s1","uid":"u1","utm":{"source":"news","medium":"email","campaign":"spring"},"props":{"target":"buy"}}"""),
        At("2026-03-01T12:00:00.000Z", """{"e":"pageview","url":"https://a.example/","sid":"s3"}"""),
        At("2026-03-02T00:00:00.000Z", """{"e":"pageview","url":"https://a.example/","sid":"s1","uid":"u1"}"""),
        At("2026-03-02T09:00:00.000Z", """{"e":"pageview","url":"https://c.example/","sid":"s4","uid":"u2","utm":{"source":"google","medium":"cpc","campaign":"brand"}}"""),
        At("2026-03-02T09:05:00.000Z", """{"e":"signup","sid":"s4","uid":"u2","utm":{"source":"google","medium":"cpc","campaign":"brand"}}"""),
        At("2026-03-02T10:00:00.000Z", """{"e":"pageview","url":"https://c.example/"}"""),
    ];

    public async Task InitializeAsync()
    {
        _source = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(db.ConnectionString) { Options = "-c TimeZone=America/New_York" }.ConnectionString);
        using var writer = new PostgresEventWriter(_source, new PostgresOptions());
        // xunit makes an instance per test: the first writes the rows, the others find them there.
        await writer.WriteAsync(Known, default);
        Assert.Equal(Known.Length, await Sql.ScalarAsync<long>(_source, "SELECT count(*) FROM events_json"));
        foreach (var file in Directory.GetFiles(Path.Combine(EndToEnd.PublishedIngest.RepoRoot(), "deploy", "sql"), "*.sql"))
        {
            await Sql.ExecuteAsync(_source, await File.ReadAllTextAsync(file));
        }
    }

    public async Task DisposeAsync() => await _source.DisposeAsync();

    private async Task<string[]> QueryAsync(string sql) =>
        [.. (await Sql.RowsAsync(_source, sql)).Select(row => string.Join(" | ", row.Select(Format)))];

    private static string Format(object? value) => value switch
    {
        null => "null",
        DateTime { Kind: DateTimeKind.Utc } t => t.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
        DateTime d => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        DateOnly d => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    [Fact]
    public async Task Daily_pageviews_by_url()
    {
        Assert.Equal(
        [
            "2026-03-01 | https://a.example/ | 3 | 2",
            "2026-03-01 | https://b.example/ | 1 | 1",
            "2026-03-02 | https://a.example/ | 1 | 1",
            "2026-03-02 | https://c.example/ | 2 | 1",
        ], await QueryAsync("SELECT day, url, pageviews, sessions FROM gotrack_daily_pageviews ORDER BY day, url"));
    }

    [Fact]
    public async Task Utm_campaign_report()
    {
        Assert.Equal(
        [
            "google | cpc | brand | 2 | 1 | 1 | 1 | 2026-03-02T09:00:00.000Z | 2026-03-02T09:05:00.000Z",
            "news | email | spring | 4 | 3 | 2 | 1 | 2026-03-01T00:00:00.000Z | 2026-03-01T23:59:59.999Z",
        ], await QueryAsync("SELECT source, medium, campaign, events, pageviews, sessions, users, first_seen, last_seen FROM gotrack_utm_campaigns ORDER BY source"));
    }

    [Fact]
    public async Task Unique_sessions_per_day()
    {
        Assert.Equal(
        [
            "2026-03-01 | 3 | 1 | 5",
            "2026-03-02 | 2 | 2 | 3",
        ], await QueryAsync("SELECT day, sessions, users, events FROM gotrack_daily_sessions ORDER BY day"));
    }
}
