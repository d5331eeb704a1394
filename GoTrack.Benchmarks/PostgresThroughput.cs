using System.Diagnostics;
using System.Globalization;
using System.Text;
using GoTrack.Core.Events;
using GoTrack.Core.Postgres;
using Npgsql;
using NpgsqlTypes;

namespace GoTrack.Benchmarks;

/// <summary>
/// Rows per second into a real PostgreSQL: the sink's writer against a raw Npgsql binary COPY of the
/// same rows into the same table, and COPY against VALUES at several batch sizes. A plain harness, not
/// BenchmarkDotNet: one iteration is thousands of network round trips and index updates, so the
/// figures come from a few whole runs, each on an emptied table, alternating the two things compared.
/// </summary>
/// <remarks>
/// <c>dotnet run -c Release --project GoTrack.Benchmarks -- postgres "&lt;PG_DSN&gt;" [rows] [runs] [--without-gin]</c>
/// </remarks>
public static class PostgresThroughput
{
    public static async Task<int> RunAsync(string[] args)
    {
        var connectionString = "";
        var error = "missing";
        if (args.Length < 2 || !PgDsn.TryParse(args[1], out connectionString, out error))
        {
            await Console.Error.WriteLineAsync("usage: GoTrack.Benchmarks postgres <PG_DSN> [rows=50000] [pairs=5] [--without-gin]\nPG_DSN: " + error);
            return 2;
        }

        var rows = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 50_000;
        var runs = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 5;
        var withoutGin = args.Contains("--without-gin");
        var table = PgTableName.TryParse("bench_events", out var t, out _) ? t : PgTableName.Default;
        // The sink's own data source settings (see PostgresServiceCollectionExtensions.BuildDataSource).
        await using var dataSource = PostgresServiceCollectionExtensions.BuildDataSource(connectionString);
        await PostgresSchema.MigrateAsync(dataSource, table, default);
        if (withoutGin)
        {
            // Shows what the writer itself costs when the GIN index's upkeep is not the bottleneck.
            await using var drop = dataSource.CreateCommand($"DROP INDEX {table.IndexName("payload_gin")}");
            await drop.ExecuteNonQueryAsync();
        }

        var records = MakeRecords(rows);
        Console.WriteLine($"{rows} events of ~{records.Average(r => r.Json.Length):0} bytes, {runs} alternating pairs of runs, table {table} with the seed's indexes{(withoutGin ? " except the GIN index" : "")}");
        Console.WriteLine();

        Func<Task> raw500 = () => RawCopyAsync(dataSource, table, records, 500);
        Func<Task> rawAll = () => RawCopyAsync(dataSource, table, records, records.Length);
        Func<Task> sink500 = () => WriterAsync(dataSource, table, records, 500, copy: true, concurrency: 1);
        Func<Task> sink500x4 = () => WriterAsync(dataSource, table, records, 500, copy: true, concurrency: 4);
        await CompareAsync("sink writer, PG_COPY=true, 500-row batches", sink500, "raw COPY, 500-row batches", raw500, dataSource, table, runs);
        await CompareAsync("sink writer, PG_COPY=true, 500-row batches", sink500, "raw COPY, all rows in one COPY", rawAll, dataSource, table, runs);
        await CompareAsync("sink writer, 500-row batches, 4 in flight", sink500x4, "raw COPY, 500-row batches", raw500, dataSource, table, runs);
        foreach (var batch in new[] { 100, 500, 2000 })
        {
            await CompareAsync($"PG_COPY=true, batch {batch}", () => WriterAsync(dataSource, table, records, batch, copy: true, concurrency: 1),
                $"PG_COPY=false, batch {batch}", () => WriterAsync(dataSource, table, records, batch, copy: false, concurrency: 1), dataSource, table, runs);
        }

        await using (var drop = dataSource.CreateCommand($"DROP TABLE {table.Quoted}"))
        {
            await drop.ExecuteNonQueryAsync();
        }

        return 0;
    }

    /// <summary>
    /// Runs A and B alternately, each on an emptied table, and reports each one's median rate and the
    /// median of the per-pair ratios: on a shared machine the load drifts, and a pair run back to back
    /// sees about the same load, so the ratio is steadier than either rate.
    /// </summary>
    private static async Task CompareAsync(string nameA, Func<Task> runA, string nameB, Func<Task> runB, NpgsqlDataSource dataSource, PgTableName table, int runs)
    {
        var a = new List<double>();
        var b = new List<double>();
        var ratios = new List<double>();
        for (var i = 0; i < runs; i++)
        {
            var rateA = await RateAsync(runA, dataSource, table);
            var rateB = await RateAsync(runB, dataSource, table);
            a.Add(rateA);
            b.Add(rateB);
            ratios.Add(rateA / rateB);
        }

        Console.WriteLine($"{nameA} / {nameB}: median ratio {Median(ratios):0.00} (pairs: {string.Join(", ", ratios.Select(r => r.ToString("0.00", CultureInfo.InvariantCulture)))})");
        Console.WriteLine($"    {nameA}: {Median(a):N0} rows/s median");
        Console.WriteLine($"    {nameB}: {Median(b):N0} rows/s median");
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static async Task<double> RateAsync(Func<Task> run, NpgsqlDataSource dataSource, PgTableName table)
    {
        await using (var truncate = dataSource.CreateCommand($"TRUNCATE {table.Quoted}"))
        {
            await truncate.ExecuteNonQueryAsync();
        }

        var started = Stopwatch.GetTimestamp();
        await run();
        var elapsed = Stopwatch.GetElapsedTime(started);
        await using var count = dataSource.CreateCommand($"SELECT count(*) FROM {table.Quoted}");
        var rows = (long)(await count.ExecuteScalarAsync())!;
        return rows / elapsed.TotalSeconds;
    }

    private static async Task RawCopyAsync(NpgsqlDataSource dataSource, PgTableName table, Record[] records, int batch)
    {
        for (var start = 0; start < records.Length; start += batch)
        {
            var end = Math.Min(records.Length, start + batch);
            await using var connection = await dataSource.OpenConnectionAsync();
            await using var importer = await connection.BeginBinaryImportAsync($"COPY {table.Quoted} (event_id, ts, payload) FROM STDIN (FORMAT BINARY)");
            for (var i = start; i < end; i++)
            {
                var r = records[i];
                await importer.StartRowAsync();
                await importer.WriteAsync(r.EventId, NpgsqlDbType.Uuid);
                await importer.WriteAsync(r.Timestamp, NpgsqlDbType.TimestampTz);
                await importer.WriteAsync(r.Json, NpgsqlDbType.Jsonb);
            }

            await importer.CompleteAsync();
        }
    }

    private static async Task WriterAsync(NpgsqlDataSource dataSource, PgTableName table, Record[] records, int batch, bool copy, int concurrency)
    {
        using var writer = new PostgresEventWriter(dataSource, new PostgresOptions { Table = table, UseCopy = copy, AutoMigrate = false });
        var next = -batch;
        var workers = Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            while (true)
            {
                var start = Interlocked.Add(ref next, batch);
                if (start >= records.Length)
                {
                    return;
                }

                var result = await writer.WriteIsolatingAsync(records.AsMemory(start, Math.Min(batch, records.Length - start)), default);
                if (result.Rejected.Count > 0)
                {
                    throw new InvalidOperationException("benchmark rows were rejected: " + result.Rejected[0].Error);
                }
            }
        }));
        await Task.WhenAll(workers);
    }

    /// <summary>Events shaped like the load harness's pageviews (the golden NDJSON line's keys), ~420 bytes each.</summary>
    private static Record[] MakeRecords(int count)
    {
        var start = new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);
        var records = new Record[count];
        for (var i = 0; i < count; i++)
        {
            var id = Guid.CreateVersion7();
            var ts = start.AddMilliseconds(i * 37L);
            var json = string.Create(CultureInfo.InvariantCulture,
                $$$"""{"event_id":"{{{id}}}","ts":"{{{ts.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss.fff'Z'}}}","e":"pageview","uid":"u_{{{i % 5000}}}","sid":"S{{{i % 20000:D10}}}abcdefghijkl","url":"https://shop.example.com/products/{{{i % 800}}}?color=red","ref":"https://www.google.com/","ua":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36","utm":{"source":"newsletter","medium":"email","campaign":"fall_sale_{{{i % 12}}}"},"props":{"plan":"pro","n":{{{i}}}}}""");
            records[i] = new Record(id, ts, "pageview", Encoding.UTF8.GetBytes(json));
        }

        return records;
    }
}
