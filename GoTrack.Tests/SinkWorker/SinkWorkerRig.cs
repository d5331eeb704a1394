extern alias sinkworker;

using System.Text;
using Confluent.Kafka;
using GoTrack.Core.Kafka;
using GoTrack.Tests.Kafka;
using GoTrack.Tests.Postgres;
using GoTrack.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Record = GoTrack.Core.Events.Record;
using Worker = sinkworker::GoTrack.SinkWorker;

namespace GoTrack.Tests.SinkWorker;

/// <summary>
/// What a SinkWorker test needs: a mock Kafka cluster with the events and dead-letter topics, a database
/// on a PostgreSQL cluster, a producer for test messages, and a way to run the worker in process.
/// </summary>
public sealed class SinkWorkerRig : IAsyncDisposable
{
    public const string DeadLetterTopic = MockKafka.Topic + ".dlq";

    private readonly IProducer<byte[], byte[]> _producer;
    private readonly List<System.Diagnostics.Metrics.MeterListener> _listeners = [];
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _counters = new(StringComparer.Ordinal);
    private NpgsqlDataSource? _check;

    private SinkWorkerRig(MockKafka kafka, PostgresServer server, string database)
    {
        Kafka = kafka;
        Server = server;
        Database = database;
        _producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = kafka.Bootstrap, LingerMs = 1 }).Build();
    }

    public MockKafka Kafka { get; }

    public PostgresServer Server { get; }

    public string Database { get; }

    public string GroupId { get; } = "sw-" + Guid.NewGuid().ToString("N")[..8];

    public NpgsqlDataSource Check => _check ??= NpgsqlDataSource.Create(Server.ConnectionString(Database));

    /// <summary>A rig on the shared cluster, or on <paramref name="ownServer"/> when the test stops it.</summary>
    public static async Task<SinkWorkerRig> CreateAsync(PostgresServer? ownServer = null)
    {
        var kafka = new MockKafka();
        kafka.Cluster.CreateTopic(DeadLetterTopic, partitions: 1);
        var server = ownServer ?? await PostgresServer.Shared;
        var database = await server.CreateDatabaseAsync("sw");
        return new SinkWorkerRig(kafka, server, database);
    }

    public Dictionary<string, string?> Settings(params (string Key, string Value)[] more)
    {
        var settings = new Dictionary<string, string?>
        {
            ["KAFKA_BROKERS"] = Kafka.Bootstrap,
            ["KAFKA_GROUP_ID"] = GroupId,
            ["KAFKA_MESSAGE_TIMEOUT_MS"] = "3000",
            ["PG_DSN"] = Server.Uri(Database),
            ["PG_BATCH_SIZE"] = "100",
            ["PG_FLUSH_MS"] = "50",
            ["PG_HEALTH_TIMEOUT_MS"] = "1000",
            ["SINK_RETRY_BASE_MS"] = "20",
            ["SINK_RETRY_MAX_MS"] = "300",
            ["SHUTDOWN_TIMEOUT"] = "10s",
        };
        foreach (var (k, v) in more)
        {
            settings[k] = v;
        }

        return settings;
    }

    /// <summary>The worker in this process, as Program.cs builds it minus the HTTP endpoints.</summary>
    public Task<IHost> StartWorkerAsync(params (string Key, string Value)[] more) => StartWorkerAsync(null, more);

    /// <summary>The worker in this process, its log lines kept in <paramref name="logs"/>.</summary>
    public async Task<IHost> StartWorkerAsync(CapturingLoggerProvider? logs, params (string Key, string Value)[] more)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, EnvironmentName = "Production" });
        builder.Configuration.AddInMemoryCollection(Settings(more));
        if (logs is not null)
        {
            builder.Logging.AddProvider(logs);
        }

        Worker.SinkWorkerHostingExtensions.AddGoTrackSinkWorker(builder);
        var host = builder.Build();
        ListenToCounters(host.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());
        await host.StartAsync();
        return host;
    }

    /// <summary>
    /// A SinkWorker counter (for example <c>gotrack.sinkworker.events</c>) summed over every host this rig
    /// started: a listener on each host's own meter factory, attached before the host starts, so the sum is
    /// exact whatever else runs in the test process.
    /// </summary>
    public long WorkerCounter(string name) => _counters.GetValueOrDefault(name);

    /// <summary>The counter's total over the measurements tagged <paramref name="tag"/>=<paramref name="value"/>.</summary>
    public long WorkerCounter(string name, string tag, string value) => _counters.GetValueOrDefault($"{name}|{tag}={value}");

    private void ListenToCounters(System.Diagnostics.Metrics.IMeterFactory factory)
    {
        var listener = new System.Diagnostics.Metrics.MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, factory) && instrument.Meter.Name == Worker.SinkWorkerMetrics.MeterName
                    && instrument is System.Diagnostics.Metrics.Counter<long>)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            _counters.AddOrUpdate(instrument.Name, value, (_, v) => v + value);
            foreach (var tag in tags)
            {
                _counters.AddOrUpdate($"{instrument.Name}|{tag.Key}={tag.Value}", value, (_, v) => v + value);
            }
        });
        listener.Start();
        lock (_listeners)
        {
            _listeners.Add(listener);
        }
    }

    /// <summary>Polls <paramref name="condition"/> until it holds (30 s at most), then fails naming <paramref name="what"/>.</summary>
    public static async Task WaitForAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for " + what);
            await Task.Delay(50);
        }
    }

    public static async Task<HealthReport> ReadinessAsync(IHost host) =>
        await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(r => r.Tags.Contains("ready"));

    /// <summary>Polls readiness until the check <paramref name="name"/> reports <paramref name="status"/> (20 s at most).</summary>
    public static async Task WaitCheckAsync(IHost host, string name, HealthStatus status)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        HealthReport report;
        do
        {
            report = await ReadinessAsync(host);
        }
        while (report.Entries[name].Status != status && DateTime.UtcNow < deadline);
        Assert.Equal(status, report.Entries[name].Status);
    }

    /// <summary>Produces Ingest-shaped messages for <paramref name="records"/> and waits for the acks.</summary>
    public async Task ProduceAsync(IEnumerable<Record> records)
    {
        foreach (var record in records)
        {
            _producer.Produce(MockKafka.Topic, KafkaEventSink.ToMessage(record, default));
        }

        await Task.Run(() => _producer.Flush(TimeSpan.FromSeconds(30)));
    }

    /// <summary>Produces raw values (poison and friends) with an optional key.</summary>
    public async Task ProduceRawAsync(params string?[] values)
    {
        foreach (var value in values)
        {
            _producer.Produce(MockKafka.Topic, new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes("k"), Value = value is null ? null! : Encoding.UTF8.GetBytes(value) });
        }

        await Task.Run(() => _producer.Flush(TimeSpan.FromSeconds(30)));
    }

    public async Task<long> RowCountAsync() =>
        await Sql.ScalarAsync<long>(Check, "select count(*) from events_json");

    /// <summary>Waits until the table holds <paramref name="expected"/> rows (fails on more, or on a timeout).</summary>
    public async Task WaitRowsAsync(long expected, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        long rows = -1;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                rows = await RowCountAsync();
            }
            catch (PostgresException e) when (e.SqlState == "42P01")
            {
                rows = 0;
            }
            catch (NpgsqlException)
            {
                // The cluster may be down in an outage test; ask again.
            }

            Assert.True(rows <= expected, $"{rows} rows, more than the {expected} expected");
            if (rows == expected)
            {
                return;
            }

            await Task.Delay(100);
        }

        Assert.Fail($"{rows} rows after the timeout; expected {expected}");
    }

    /// <summary>The group's committed offsets, summed over the topic's partitions (-1001, unset, counts as 0).</summary>
    public long CommittedTotal()
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig { BootstrapServers = Kafka.Bootstrap, GroupId = GroupId }).Build();
        var partitions = Enumerable.Range(0, 3).Select(p => new TopicPartition(MockKafka.Topic, p)).ToList();
        return consumer.Committed(partitions, TimeSpan.FromSeconds(10)).Sum(o => Math.Max(0, o.Offset.Value));
    }

    public async ValueTask DisposeAsync()
    {
        lock (_listeners)
        {
            _listeners.ForEach(l => l.Dispose());
        }

        _producer.Dispose();
        if (_check is not null)
        {
            await _check.DisposeAsync();
        }

        NpgsqlConnection.ClearAllPools();
        if (Server.IsRunning)
        {
            await Server.DropDatabaseAsync(Database);
        }

        Kafka.Dispose();
    }
}
