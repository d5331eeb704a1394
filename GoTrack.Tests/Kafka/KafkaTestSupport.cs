using System.Text;
using Confluent.Kafka;
using GoTrack.DevKafka;
using GoTrack.Tests.Support;

namespace GoTrack.Tests.Kafka;

/// <summary>A mock Kafka cluster (librdkafka's, real protocol over TCP) with the events topic, per test class.</summary>
public sealed class MockKafka : IDisposable
{
    public const string Topic = "gotrack.events";

    public MockKafka() : this(brokers: 3, partitions: 3)
    {
    }

    public MockKafka(int brokers, int partitions)
    {
        Cluster = new MockKafkaCluster(brokers, relayed: true);
        Cluster.CreateTopic(Topic, partitions, replicationFactor: brokers);
    }

    public MockKafkaCluster Cluster { get; }

    public string Bootstrap => Cluster.BootstrapServers;

    /// <summary>Ingest settings for OUTPUTS=kafka,log against this cluster, with quick failure and retry.</summary>
    public Dictionary<string, string?> IngestSettings(params (string Key, string Value)[] more)
    {
        var settings = new Dictionary<string, string?>
        {
            ["OUTPUTS"] = "kafka,log",
            ["KAFKA_BROKERS"] = Bootstrap,
            ["KAFKA_MESSAGE_TIMEOUT_MS"] = "3000",
            ["SINK_RETRY_BASE_MS"] = "50",
            ["SINK_RETRY_MAX_MS"] = "500",
        };
        foreach (var (k, v) in more)
        {
            settings[k] = v;
        }

        return settings;
    }

    /// <summary>
    /// Every message in the topic now: each partition is read up to the high watermark it had when the
    /// read began, so the count is exact (no waiting for a quiet spell). Call it once the producer side has
    /// reported delivery. <paramref name="expected"/> only sizes the list.
    /// </summary>
    public Task<List<ConsumeResult<byte[], byte[]>>> ReadAsync(int expected, TimeSpan? timeout = null, string topic = Topic) =>
        Task.Run(() =>
        {
            var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
            using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = Bootstrap }).Build();
            var partitions = admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics.Single().Partitions;
            using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
            {
                BootstrapServers = Bootstrap,
                GroupId = "test-reader-" + Guid.NewGuid().ToString("N"),
                EnableAutoCommit = false,
                AutoOffsetReset = AutoOffsetReset.Earliest,
            }).Build();
            var remaining = new Dictionary<int, long>();
            foreach (var p in partitions)
            {
                var high = consumer.QueryWatermarkOffsets(new TopicPartition(topic, p.PartitionId), TimeSpan.FromSeconds(10)).High.Value;
                if (high > 0)
                {
                    remaining[p.PartitionId] = high;
                }
            }

            consumer.Assign(partitions.Select(p => new TopicPartitionOffset(topic, p.PartitionId, Offset.Beginning)));
            var results = new List<ConsumeResult<byte[], byte[]>>(expected);
            while (remaining.Count > 0)
            {
                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException($"read {results.Count} messages; partitions not read to their high watermark: {string.Join(", ", remaining.Keys)}");
                }

                var r = consumer.Consume(TimeSpan.FromMilliseconds(100));
                if (r?.Message is null)
                {
                    continue;
                }

                var partition = r.TopicPartition.Partition.Value;
                if (remaining.TryGetValue(partition, out var high) && r.Offset.Value < high)
                {
                    results.Add(r);
                    if (r.Offset.Value + 1 >= high)
                    {
                        remaining.Remove(partition);
                    }
                }
            }

            consumer.Close();
            return results;
        });

    public void Dispose() => Cluster.Dispose();
}

public static class KafkaMessages
{
    public static string Key(this ConsumeResult<byte[], byte[]> r) => Encoding.UTF8.GetString(r.Message.Key);

    public static string Value(this ConsumeResult<byte[], byte[]> r) => Encoding.UTF8.GetString(r.Message.Value);

    public static string? Header(this ConsumeResult<byte[], byte[]> r, string name) =>
        r.Message.Headers.TryGetLastBytes(name, out var bytes) ? Encoding.UTF8.GetString(bytes) : null;

    /// <summary>Sends <paramref name="count"/> pixels with distinct urls and returns how many got a 2xx.</summary>
    public static async Task<int> SendPixelsAsync(this HttpClient client, int count, string prefix = "p")
    {
        var ok = 0;
        for (var i = 0; i < count; i++)
        {
            using var response = await client.GetAsync($"/px.gif?e=pageview&url=https%3A%2F%2Fexample.com%2F{prefix}{i}");
            if (response.IsSuccessStatusCode)
            {
                ok++;
            }
        }

        return ok;
    }

    /// <summary>Polls /readyz until it answers <paramref name="status"/>.</summary>
    public static async Task WaitReadyStatusAsync(this HttpClient client, System.Net.HttpStatusCode status, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        System.Net.HttpStatusCode last = default;
        string body = "";
        while (DateTime.UtcNow < deadline)
        {
            using var response = await client.GetAsync("/readyz");
            last = response.StatusCode;
            if (last == status)
            {
                return;
            }

            body = await response.Content.ReadAsStringAsync();
            await Task.Delay(200);
        }

        Assert.Fail($"/readyz stayed {(int)last}, wanted {(int)status}: {body}");
    }

    public static IngestFactory Ingest(this MockKafka kafka, params (string Key, string Value)[] more) => new(kafka.IngestSettings(more));
}
