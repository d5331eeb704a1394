using GoTrack.Ingest;
using GoTrack.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace GoTrack.Tests.Postgres;

/// <summary>The data source Ingest's host registers (Aspire.Npgsql's AddNpgsqlDataSource), as DI hands it out.</summary>
public sealed class PostgresDataSourceTests
{
    /// <summary>
    /// Issue 10: PG_DSN first, ConnectionStrings:analytics only as the fallback (Aspire.Npgsql binds the
    /// latter by itself; the settings callback must win), and No Reset On Close kept, which the staging
    /// table made once per physical connection depends on.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task The_registered_data_source_uses_PG_DSN_over_the_Aspire_connection_string_and_keeps_sessions(bool withDsn)
    {
        using var dir = new TempDir();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["OUTPUTS"] = "log,postgres",
            ["LOG_PATH"] = dir.File("events.ndjson"),
            ["PG_DSN"] = withDsn ? "postgres://gotrack:secret@pg-dsn.invalid:5433/events" : null,
            ["ConnectionStrings:analytics"] = "Host=analytics.invalid;Port=5434;Database=other;Username=aspire",
        });
        builder.AddGoTrackIngest();
        await using var app = builder.Build();

        var dataSource = app.Services.GetRequiredService<NpgsqlDataSource>();
        var settings = new NpgsqlConnectionStringBuilder(dataSource.ConnectionString);
        Assert.Equal(withDsn ? "pg-dsn.invalid" : "analytics.invalid", settings.Host);
        Assert.Equal(withDsn ? 5433 : 5434, settings.Port);
        Assert.Equal(withDsn ? "events" : "other", settings.Database);
        Assert.True(settings.NoResetOnClose);
    }
}
