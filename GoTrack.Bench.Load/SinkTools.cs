using System.Diagnostics;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using GoTrack.Core.Postgres;
using GoTrack.SinkWorker;
using Npgsql;
using NpgsqlTypes;

namespace GoTrack.Bench.Load;

/// <summary>
/// bench/run.sh's helpers for the all-sinks part: counting a topic's messages, printing the events
/// table's DDL, and loading an NDJSON file with a raw binary COPY (the yardstick for SinkWorker).
/// </summary>
internal static class SinkTools
{
    public const string Usage =
        "       GoTrack.Bench.Load --count-topic BROKERS TOPIC\n" +
        "         prints the sum of the partitions' high watermarks (messages ever appended) and of high - low (messages still held)\n" +
        "       GoTrack.Bench.Load --ddl TABLE\n" +
        "         prints GoTrack's DDL for the events table TABLE (PostgresSchema.Ddl)\n" +
        "       GoTrack.Bench.Load --copy NDJSON PG_DSN TABLE [BATCH=500]\n" +
        "         loads every line of NDJSON into TABLE with binary COPY (event_id, ts, payload), one COPY per BATCH rows, each committed";

    public static int CountTopic(string brokers, string topic)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = brokers }).Build();
        var metadata = admin.GetMetadata(topic, TimeSpan.FromSeconds(10));
        var t = metadata.Topics.SingleOrDefault(x => x.Topic == topic);
        if (t is null || t.Error.IsError || t.Partitions.Count == 0)
        {
            Console.Error.WriteLine($"topic {topic}: {(t is null ? "not found" : t.Error.IsError ? t.Error.Reason : "no partitions")}");
            return 1;
        }

        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig
        {
            BootstrapServers = brokers,
            GroupId = "gotrack-bench-count",
            EnableAutoCommit = false,
        }).Build();
        long high = 0, held = 0;
        var parts = new List<string>();
        foreach (var p in t.Partitions.OrderBy(p => p.PartitionId))
        {
            var w = consumer.QueryWatermarkOffsets(new TopicPartition(topic, p.PartitionId), TimeSpan.FromSeconds(10));
            high += w.High.Value;
            held += w.High.Value - w.Low.Value;
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"{p.PartitionId}:{w.Low.Value}-{w.High.Value}"));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"TOPIC high={high} held={held} partitions={string.Join(',', parts)}"));
        return 0;
    }

    public static int Ddl(string table)
    {
        if (!PgTableName.TryParse(table, out var name, out var error))
        {
            Console.Error.WriteLine($"TABLE {error}");
            return 2;
        }

        Console.WriteLine(PostgresSchema.Ddl(name));
        return 0;
    }

    public static async Task<int> CopyAsync(string path, string dsn, string table, int batch)
    {
        if (!PgDsn.TryParse(dsn, out var connectionString, out var error) || !PgTableName.TryParse(table, out var name, out error))
        {
            await Console.Error.WriteLineAsync(error).ConfigureAwait(false);
            return 2;
        }

        var started = Stopwatch.GetTimestamp();
        var sql = $"COPY {name.Quoted} (event_id, ts, payload) FROM STDIN (FORMAT BINARY)";
        var dataSource = NpgsqlDataSource.Create(connectionString);
        await using (dataSource.ConfigureAwait(false))
        {
            var connection = await dataSource.OpenConnectionAsync().ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                long rows = 0, batches = 0, inBatch = 0, bad = 0;
                NpgsqlBinaryImporter? importer = null;
                try
                {
                    foreach (var text in File.ReadLines(path))
                    {
                        if (text.Length == 0)
                        {
                            continue;
                        }

                        var line = Encoding.UTF8.GetBytes(text);

                        if (EventMessage.Read(line, out var id, out var clientTs, out _) is not null)
                        {
                            bad++;
                            continue;
                        }

                        var ts = clientTs ?? DateTimeOffset.UtcNow;

                        importer ??= await connection.BeginBinaryImportAsync(sql).ConfigureAwait(false);
                        await importer.StartRowAsync().ConfigureAwait(false);
                        await importer.WriteAsync(id, NpgsqlDbType.Uuid).ConfigureAwait(false);
                        await importer.WriteAsync(ts, NpgsqlDbType.TimestampTz).ConfigureAwait(false);
                        await importer.WriteAsync(line, NpgsqlDbType.Jsonb).ConfigureAwait(false);
                        rows++;
                        if (++inBatch == batch)
                        {
                            await importer.CompleteAsync().ConfigureAwait(false);
                            await importer.DisposeAsync().ConfigureAwait(false);
                            importer = null;
                            inBatch = 0;
                            batches++;
                        }
                    }

                    if (importer is not null)
                    {
                        await importer.CompleteAsync().ConfigureAwait(false);
                        batches++;
                    }
                }
                finally
                {
                    if (importer is not null)
                    {
                        await importer.DisposeAsync().ConfigureAwait(false);
                    }
                }

                var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"COPY rows={rows} batches={batches} batch={batch} unreadable={bad} seconds={seconds:F3} rate={rows / seconds:F0}"));
                return bad == 0 ? 0 : 1;
            }
        }
    }
}
