using Npgsql;

namespace GoTrack.Core.Postgres;

/// <summary>Sorts write failures into the ones a retry can fix and the ones it never will.</summary>
public static class PostgresErrors
{
    /// <summary>
    /// True when Postgres refused the data itself, so writing the same rows again fails the same way:
    /// SQLSTATE class 22 (data exception: malformed JSON, a \u0000 that jsonb cannot hold, a value out of
    /// range) and 54000 (program limit exceeded: a payload too large for jsonb). Everything else (lost
    /// connections, restarts, timeouts, a missing table, permissions, a constraint an operator added) is
    /// transient: it is about the server or its setup, would hit every row alike, and is retried until
    /// someone fixes it, never dead-lettered.
    /// </summary>
    public static bool IsPermanent(Exception error) =>
        error is PostgresException pg && (pg.SqlState.StartsWith("22", StringComparison.Ordinal) || pg.SqlState == "54000");

    /// <summary>True when the connection itself broke (not an error the server reported).</summary>
    public static bool IsConnectionLoss(Exception error) =>
        error is NpgsqlException and not PostgresException
        || error is PostgresException { SqlState: "57P01" or "57P02" or "57P03" } // admin shutdown, crash shutdown, cannot connect now
        || (error is PostgresException pg && pg.SqlState.StartsWith("08", StringComparison.Ordinal));

    /// <summary>The reason as it goes into the dead-letter file: SQLSTATE and message, never the row.</summary>
    public static string Describe(Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return error is PostgresException pg ? $"{pg.SqlState}: {pg.MessageText}" : $"{error.GetType().Name}: {error.Message}";
    }
}
