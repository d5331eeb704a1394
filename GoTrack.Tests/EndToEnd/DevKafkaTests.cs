using System.Net;
using Confluent.Kafka;
using GoTrack.Tests.Kafka;
using GoTrack.Tests.Support;

namespace GoTrack.Tests.EndToEnd;

/// <summary>
/// The README's no-Docker Kafka flow: GoTrack.DevKafka on a fixed port, the published GoTrack.Ingest with
/// OUTPUTS=log,kafka against it (the seed's single server), SIGTERM, then a consumer reads the topic.
/// </summary>
[Collection(PublishedBinaryGroup.Name)]
public sealed class DevKafkaTests(PublishedIngest published) : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task The_published_ingest_delivers_to_the_dev_broker_and_a_consumer_group_reads_it()
    {
        var kafkaPort = PublishedIngest.FreePort();
        var devKafka = Path.Combine(AppContext.BaseDirectory, "GoTrack.DevKafka.dll");
        using var broker = PublishedIngest.Start("dotnet", $"\"{devKafka}\" --port {kafkaPort} --partitions 2", null, out var brokerOutput);
        try
        {
            await WaitForAsync(() => brokerOutput.ToString().Contains("DEV ONLY", StringComparison.Ordinal), broker, brokerOutput);

            var port = PublishedIngest.FreePort();
            var env = new Dictionary<string, string>
            {
                ["SERVER_ADDR"] = $"127.0.0.1:{port}",
                ["OUTPUTS"] = "log,kafka",
                ["KAFKA_BROKERS"] = $"localhost:{kafkaPort}",
                ["LOG_PATH"] = _dir.File("events.ndjson"),
                ["FLUSH_INTERVAL_MS"] = "50",
            };
            using var ingest = PublishedIngest.Start(published.Executable, "", env, out var output);
            using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            await PublishedIngest.WaitUntilUpAsync(client, ingest, output);
            await client.WaitReadyStatusAsync(HttpStatusCode.OK, TimeSpan.FromSeconds(20));
            Assert.Equal(20, await client.SendPixelsAsync(20));

            PublishedIngest.SendSigterm(ingest);
            await ingest.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
            Assert.True(ingest.ExitCode == 0, output.ToString());

            var lines = File.ReadAllLines(_dir.File("events.ndjson"));
            Assert.Equal(20, lines.Length);

            // A consumer group through the fixed port, as kcat or a SinkWorker would connect.
            var values = await Task.Run(() =>
            {
                using var consumer = new ConsumerBuilder<Ignore, string>(new ConsumerConfig
                {
                    BootstrapServers = $"127.0.0.1:{kafkaPort}",
                    GroupId = "readme",
                    AutoOffsetReset = AutoOffsetReset.Earliest,
                }).Build();
                // Up to each partition's high watermark, not until 20 arrived: a 21st message would be read too.
                var remaining = new Dictionary<int, long>();
                for (var p = 0; p < 2; p++)
                {
                    var high = consumer.QueryWatermarkOffsets(new TopicPartition("gotrack.events", p), TimeSpan.FromSeconds(10)).High.Value;
                    if (high > 0)
                    {
                        remaining[p] = high;
                    }
                }

                consumer.Subscribe("gotrack.events");
                var got = new List<string>();
                var deadline = DateTime.UtcNow.AddSeconds(30);
                while (remaining.Count > 0 && DateTime.UtcNow < deadline)
                {
                    if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { Message: not null } r)
                    {
                        got.Add(r.Message.Value);
                        if (remaining.TryGetValue(r.Partition.Value, out var high) && r.Offset.Value + 1 >= high)
                        {
                            remaining.Remove(r.Partition.Value);
                        }
                    }
                }

                Assert.True(remaining.Count == 0, "partitions not read to their high watermark: " + string.Join(", ", remaining.Keys));

                consumer.Close();
                return got;
            });
            Assert.Equal(lines.Order(StringComparer.Ordinal), values.Order(StringComparer.Ordinal));
        }
        finally
        {
            broker.Kill();
        }
    }

    private static async Task WaitForAsync(Func<bool> condition, System.Diagnostics.Process process, System.Text.StringBuilder output)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            if (process.HasExited || DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException("GoTrack.DevKafka did not start:\n" + output);
            }

            await Task.Delay(100);
        }
    }
}
