using Npgsql;

namespace GoTrack.Core.Postgres;

/// <summary>
/// The events table and its indexes (the seed's), and the migration that creates them when missing.
/// <c>deploy/local/init.sql</c> holds the same DDL for the default table; a test keeps the two equal.
/// </summary>
public static class PostgresSchema
{
    /// <summary>The DDL, idempotent: every statement is IF NOT EXISTS.</summary>
    public static string Ddl(PgTableName table)
    {
        ArgumentNullException.ThrowIfNull(table);
        var schema = table.Schema is null ? "" : $"CREATE SCHEMA IF NOT EXISTS \"{table.Schema}\";\n";
        return schema + $"""
            CREATE TABLE IF NOT EXISTS {table.Quoted} (
                id       bigserial   PRIMARY KEY,
                event_id uuid        NOT NULL UNIQUE,
                ts       timestamptz NOT NULL,
                payload  jsonb       NOT NULL
            );
            CREATE INDEX IF NOT EXISTS {table.IndexName("ts_idx")} ON {table.Quoted} (ts);
            CREATE INDEX IF NOT EXISTS {table.IndexName("payload_gin")} ON {table.Quoted} USING gin (payload);
            """;
    }

    /// <summary>
    /// Creates what is missing. Concurrent CREATE ... IF NOT EXISTS can still fail on the catalog's unique
    /// indexes when two sessions race, so the DDL runs under a transaction-scoped advisory lock keyed on the
    /// table: many instances starting at once take turns, and each finds the work done or does it.
    /// </summary>
    public static async Task MigrateAsync(NpgsqlDataSource dataSource, PgTableName table, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(table);
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", connection, transaction))
                {
                    lockCommand.Parameters.Add(new NpgsqlParameter<string> { TypedValue = "gotrack.migrate:" + table });
                    await lockCommand.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                using (var ddl = new NpgsqlCommand(Ddl(table), connection, transaction))
                {
                    await ddl.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
