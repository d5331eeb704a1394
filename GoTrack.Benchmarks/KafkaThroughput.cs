using System.Diagnostics;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using GoTrack.Core.Events;
using GoTrack.Core.Kafka;
using GoTrack.Core.Queue;
using GoTrack.Core.Sinks;
using GoTrack.DevKafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GoTrack.Benchmarks;

/// <summary>
/// Events per second through Ingest's kafka sink (event log, sink runner with its Polly pipeline,
/// KafkaEventSink) into librdkafka's mock cluster, against Confluent.Kafka producing the same messages
/// directly with the same settings. Rounds alternate between the two, so drift hits both alike.
/// <c>dotnet run -c Release --project GoTrack.Benchmarks -- kafka [events per round] [rounds]</c>
/// </summary>
internal static class KafkaThroughput
{
    public static async Task<int> RunAsync(string[] args)
    {
        var count = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 100_000;
        var rounds = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 5;
        using var cluster = new MockKafkaCluster(brokers: 3);
        cluster.CreateTopic("bench", partitions: 6, replicationFactor: 1);
        var records = MakeRecords(count);
        var options = new KafkaOptions { Brokers = cluster.BootstrapServers, Topic = "bench", ClientId = "bench", StatisticsIntervalMs = 0 };
        var runner = new SinkRunnerOptions
        {
            BatchSize = Env("BATCH_SIZE", 100),
            WorkerConcurrency = Env("WORKER_CONCURRENCY", 4),
        };
        options.LingerMs = Env("KAFKA_LINGER_MS", options.LingerMs);
        var kafkaBatch = Env("KAFKA_BATCH_SIZE", options.SinkBatchSize);
        runner.Overrides[KafkaEventSink.SinkName] = new SinkOverrides { BatchSize = kafkaBatch };

        // As Ingest sizes it: librdkafka holds what the sink can have in flight.
        var sinkOptions = new KafkaOptions { Brokers = options.Brokers, Topic = options.Topic, ClientId = "bench-sink", StatisticsIntervalMs = 0, ProducerQueueMaxMessages = runner.WorkerConcurrency * kafkaBatch, LingerMs = options.LingerMs };

        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddEventPipeline(new EventLogOptions { MaxEvents = count + 1, MaxBytes = 1L << 34 }, runner, [KafkaEventSink.SinkName]);
        builder.AddGoTrackKafkaProducer(sinkOptions);
        builder.Services.AddSingleton<IEventSink, KafkaEventSink>();
        using var host = builder.Build();
        await host.StartAsync();
        var pipeline = host.Services.GetRequiredService<EventPipeline>();
        using var direct = new ProducerBuilder<byte[], byte[]>(options.ToProducerConfig()).Build();

        // Warm both paths (JIT, connections, metadata).
        await ThroughSinkAsync(pipeline, records.AsMemory(0, Math.Min(5_000, count)));
        await DirectAsync(direct, options.Topic, records.AsMemory(0, Math.Min(5_000, count)));

        var ratios = new List<double>();
        Console.WriteLine($"KAFKA_BATCH_SIZE={kafkaBatch} WORKER_CONCURRENCY={runner.WorkerConcurrency} KAFKA_LINGER_MS={options.LingerMs}");
        Console.WriteLine($"{count} events per round, {rounds} rounds, librdkafka {Library.VersionString} mock cluster (3 brokers, 6 partitions)");
        for (var round = 1; round <= rounds; round++)
        {
            var sink = await ThroughSinkAsync(pipeline, records);
            var raw = await DirectAsync(direct, options.Topic, records);
            ratios.Add(sink / raw);
            Console.WriteLine($"round {round}: sink {sink:N0} ev/s, direct {raw:N0} ev/s, ratio {sink / raw:F3}");
        }

        ratios.Sort();
        Console.WriteLine($"median ratio (sink / direct): {ratios[ratios.Count / 2]:F3}");
        await host.StopAsync();
        return 0;
    }

    /// <summary>The harness takes Ingest's own variables for the settings it varies.</summary>
    private static int Env(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : fallback;

    private static async Task<double> ThroughSinkAsync(EventPipeline pipeline, ReadOnlyMemory<Record> records)
    {
        var reader = pipeline.Runner(KafkaEventSink.SinkName).Reader;
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < records.Length; i++)
        {
            // One append per event, as one pixel request makes.
            if (await pipeline.Log.AppendAsync(records.Span[i], CancellationToken.None) != AppendResult.Accepted)
            {
                throw new InvalidOperationException("the log refused an event");
            }
        }

        while (reader.Pending > 0)
        {
            await Task.Delay(1);
        }

        return records.Length / Stopwatch.GetElapsedTime(started).TotalSeconds;
    }

    private static async Task<double> DirectAsync(IProducer<byte[], byte[]> producer, string topic, ReadOnlyMemory<Record> records)
    {
        var remaining = records.Length;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Report(DeliveryReport<byte[], byte[]> r)
        {
            if (r.Error.IsError)
            {
                done.TrySetException(new KafkaException(r.Error));
            }
            else if (Interlocked.Decrement(ref remaining) == 0)
            {
                done.TrySetResult();
            }
        }

        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < records.Length; i++)
        {
            producer.Produce(topic, KafkaEventSink.ToMessage(records.Span[i], default), Report);
        }

        await done.Task;
        return records.Length / Stopwatch.GetElapsedTime(started).TotalSeconds;
    }

    private static Record[] MakeRecords(int count)
    {
        var records = new Record[count];
        var ts = DateTimeOffset.UtcNow;
        for (var i = 0; i < count; i++)
        {
            var id = Uuid7.Create(ts);
            var json = Encoding.UTF8.GetBytes(
                $$$"""{"event_id":"{{{id}}}","ts":"{{{ts:yyyy-MM-ddTHH:mm:ss.fffZ}}}","e":"pageview","sid":"q2dGk1lHSkuZl0iM4S8B7w","url":"https://shop.example.com/products/blue-widget?ref=home","ref":"https://www.google.com/","ua":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36","ip":"203.0.113.7","utm":{"source":"newsletter","medium":"email","campaign":"nov"},"props":{"plan":"pro"}}""");
            records[i] = new Record(id, ts, "pageview", json);
        }

        return records;
    }
}
