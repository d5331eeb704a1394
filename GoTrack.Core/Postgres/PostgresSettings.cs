using GoTrack.Core.Configuration;
using Microsoft.Extensions.Configuration;

namespace GoTrack.Core.Postgres;

/// <summary>
/// The PG_* variables: their documentation and their validation, shared by every service that writes
/// Postgres so that they read the same names the same way.
/// </summary>
public static class PostgresSettings
{
    /// <summary>The Aspire connection string name used when PG_DSN is unset.</summary>
    public const string AspireConnectionName = "analytics";

    public static SettingDoc[] Docs { get; } =
    [
        new("PG_DSN", "", "PostgreSQL to write to: postgres://user:pass@host:5432/db?sslmode=disable or Npgsql's Host=...;Username=...;Database=... form. Required with OUTPUTS=postgres, unless ConnectionStrings:analytics is set (the AppHost sets it)."),
        new("PG_TABLE", "events_json", "Table to write: name or schema.name, letters, digits and '_' only (folded to lower case, at most 50 characters per part)."),
        new("PG_BATCH_SIZE", "500", "Events per Postgres batch (overrides BATCH_SIZE for this sink)."),
        new("PG_FLUSH_MS", "500", "How long the Postgres sink waits to fill a batch (overrides FLUSH_INTERVAL_MS for this sink)."),
        new("PG_COPY", "true", "true: binary COPY straight into the table; a batch that meets a stored event_id (23505) goes through a temporary staging table and INSERT ... SELECT ... ON CONFLICT (event_id) DO NOTHING. false: multi-row INSERT ... ON CONFLICT DO NOTHING."),
        new("PG_AUTO_MIGRATE", "true", "Create the table and its indexes when missing (under an advisory lock, safe with many instances)."),
        new("PG_DLQ_PATH", "<LOG_PATH's folder>/postgres.dead-letter.ndjson", "NDJSON file for events Postgres refuses for good (for example a \\u0000 in a string), one line each with the error."),
        new("PG_HEALTH_TIMEOUT_MS", "2000", "/readyz runs SELECT 1 against Postgres and reports not ready when it takes longer than this."),
    ];

    /// <summary>
    /// Reads the PG_* settings. PG_DSN (or ConnectionStrings:analytics) is required only when
    /// <paramref name="required"/>; every value that is set is validated regardless.
    /// </summary>
    public static PostgresOptions Load(SettingsReader r, IConfiguration configuration, bool required, string deadLetterFolder)
    {
        ArgumentNullException.ThrowIfNull(r);
        ArgumentNullException.ThrowIfNull(configuration);
        var o = new PostgresOptions();
        var dsn = r.Raw("PG_DSN");
        var dsnName = "PG_DSN";
        if (dsn is null && configuration.GetConnectionString(AspireConnectionName) is { Length: > 0 } aspire)
        {
            dsn = aspire;
            dsnName = "ConnectionStrings:" + AspireConnectionName;
        }

        if (dsn is not null)
        {
            if (PgDsn.TryParse(dsn, out var cs, out var error))
            {
                o.ConnectionString = cs;
            }
            else
            {
                r.Error(dsnName, error);
            }
        }
        else if (required)
        {
            r.Error("PG_DSN", "is required to write Postgres: postgres://user:pass@host:5432/db or Host=...;Database=... (or set ConnectionStrings:analytics)");
        }

        var tableText = configuration["PG_TABLE"];
        if (tableText is not null)
        {
            if (PgTableName.TryParse(tableText, out var table, out var tableError))
            {
                o.Table = table;
            }
            else
            {
                // The value goes into SQL: refuse it whole, and quote it only as far as it is harmless to log.
                r.Error("PG_TABLE", $"{tableError} (got '{Shorten(tableText)}')");
            }
        }

        o.BatchSize = r.Number("PG_BATCH_SIZE", 500, 1, 100_000);
        o.FlushInterval = r.Milliseconds("PG_FLUSH_MS", 500, 0, 60_000);
        o.UseCopy = r.Bool("PG_COPY", true);
        o.AutoMigrate = r.Bool("PG_AUTO_MIGRATE", true);
        o.DeadLetterPath = r.Text("PG_DLQ_PATH", Path.Combine(deadLetterFolder, "postgres.dead-letter.ndjson"));
        o.HealthTimeout = r.Milliseconds("PG_HEALTH_TIMEOUT_MS", 2000, 50, 60_000);
        return o;
    }

    private static string Shorten(string text) => text.Length <= 80 ? text : text[..80] + "...";
}
