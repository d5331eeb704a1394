namespace GoTrack.Core.Postgres;

/// <summary>The postgres sink's settings, already validated (see <see cref="PostgresSettings"/>).</summary>
public sealed class PostgresOptions
{
    /// <summary>PG_DSN (or ConnectionStrings:analytics) in Npgsql's keyword form.</summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>PG_TABLE.</summary>
    public PgTableName Table { get; set; } = PgTableName.Default;

    /// <summary>PG_BATCH_SIZE: events per batch written to Postgres.</summary>
    public int BatchSize { get; set; } = 500;

    /// <summary>PG_FLUSH_MS: how long a partial batch waits for more events.</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>PG_COPY: binary COPY into a staging table (true) or a multi-row INSERT (false).</summary>
    public bool UseCopy { get; set; } = true;

    /// <summary>PG_AUTO_MIGRATE: create the table and its indexes when they are missing.</summary>
    public bool AutoMigrate { get; set; } = true;

    /// <summary>PG_DLQ_PATH: the NDJSON file that receives the events Postgres refuses for good, with the reason.</summary>
    public string DeadLetterPath { get; set; } = "./data/postgres.dead-letter.ndjson";

    /// <summary>PG_HEALTH_TIMEOUT_MS: the readiness probe's <c>SELECT 1</c> gives up after this.</summary>
    public TimeSpan HealthTimeout { get; set; } = TimeSpan.FromSeconds(2);
}
