using Npgsql;

namespace GoTrack.Tests.Postgres;

/// <summary>Small query helpers for assertions.</summary>
public static class Sql
{
    public static async Task<T> ScalarAsync<T>(NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        var value = await command.ExecuteScalarAsync();
        return (T)Convert.ChangeType(value!, typeof(T), System.Globalization.CultureInfo.InvariantCulture);
    }

    public static async Task ExecuteAsync(NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Every row of a query, each as its columns' values.</summary>
    public static async Task<List<object?[]>> RowsAsync(NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<object?[]>();
        while (await reader.ReadAsync())
        {
            var row = new object?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++)
            {
                row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            }

            rows.Add(row);
        }

        return rows;
    }

    public static async Task<HashSet<Guid>> EventIdsAsync(NpgsqlDataSource dataSource, string table = "events_json")
    {
        var ids = new HashSet<Guid>();
        foreach (var row in await RowsAsync(dataSource, $"SELECT event_id FROM {table}"))
        {
            ids.Add((Guid)row[0]!);
        }

        return ids;
    }
}
