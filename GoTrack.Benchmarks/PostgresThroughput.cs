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
/// figures are medians of a few whole runs, each on an emptied table.
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
            await Console.Error.WriteLineAsync("usage: GoTrack.Benchmarks postgres <PG_DSN> [rows=50000] [runs=3] [--without-gin]\nPG_DSN: " + error);
            return 2;
        }

        var rows = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 50_000;
        var runs = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 3;
        var withoutGin = args.Contains("--without-gin");
        var table = PgTableName.TryParse("bench_events", out var t, out _) ? t : PgTableName.Default;
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await PostgresSchema.MigrateAsync(dataSource, table, default);
        if (withoutGin)
        {
            // Shows what the writer itself costs when the GIN index's upkeep is not the bottleneck.
            await using var drop = dataSource.CreateCommand($"DROP INDEX {table.IndexName("payload_gin")}");
            await drop.ExecuteNonQueryAsync();
        }

        var records = MakeRecords(rows);
        Console.WriteLine($"{rows} events of ~{records.Average(r => r.Json.Length):0} bytes, median of {runs} runs, table {table} with the seed's indexes{(withoutGin ? " except the GIN index" : "")}");
        Console.WriteLine();

        var raw500 = await MeasureAsync("raw COPY into the table, 500-row batches", dataSource, table, runs, () => RawCopyAsync(dataSource, table, records, 500));
        var rawAll = await MeasureAsync("raw COPY into the table, one COPY", dataSource, table, runs, () => RawCopyAsync(dataSource, table, records, records.Length));
        var sink500 = await MeasureAsync("sink writer (PG_COPY=true), 500-row batches", dataSource, table, runs, () => WriterAsync(dataSource, table, records, 500, copy: true, concurrency: 1));
        var sink500x4 = await MeasureAsync("sink writer (PG_COPY=true), 500-row batches, 4 in flight", dataSource, table, runs, () => WriterAsync(dataSource, table, records, 500, copy: true, concurrency: 4));
        Console.WriteLine();
        Console.WriteLine($"sink / raw COPY (same 500-row batches): {sink500 / raw500:0.00}");
        Console.WriteLine($"sink / raw COPY (one COPY):             {sink500 / rawAll:0.00}");
        Console.WriteLine($"sink, 4 in flight / raw COPY (500):     {sink500x4 / raw500:0.00}");
        Console.WriteLine();

        foreach (var batch in new[] { 100, 500, 2000 })
        {
            var copy = await MeasureAsync($"PG_COPY=true,  batch {batch}", dataSource, table, runs, () => WriterAsync(dataSource, table, records, batch, copy: true, concurrency: 1));
            var values = await MeasureAsync($"PG_COPY=false, batch {batch}", dataSource, table, runs, () => WriterAsync(dataSource, table, records, batch, copy: false, concurrency: 1));
            Console.WriteLine($"  COPY / VALUES at {batch}: {copy / values:0.00}");
        }

        await using (var drop = dataSource.CreateCommand($"DROP TABLE {table.Quoted}"))
        {
            await drop.ExecuteNonQueryAsync();
        }

        return 0;
    }

    private static async Task<double> MeasureAsync(string name, NpgsqlDataSource dataSource, PgTableName table, int runs, Func<Task> run)
    {
        var rates = new List<double>();
        var rows = 0L;
        for (var i = 0; i < runs; i++)
        {
            await using (var truncate = dataSource.CreateCommand($"TRUNCATE {table.Quoted}"))
            {
                await truncate.ExecuteNonQueryAsync();
            }

            var started = Stopwatch.GetTimestamp();
            await run();
            var elapsed = Stopwatch.GetElapsedTime(started);
            await using var count = dataSource.CreateCommand($"SELECT count(*) FROM {table.Quoted}");
            rows = (long)(await count.ExecuteScalarAsync())!;
            rates.Add(rows / elapsed.TotalSeconds);
        }

        rates.Sort();
        var median = rates[rates.Count / 2];
        Console.WriteLine($"{name,-58} {median,10:N0} rows/s   (runs: {string.Join(", ", rates.Select(r => r.ToString("N0", CultureInfo.InvariantCulture)))}; {rows} rows)");
        return median;
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
