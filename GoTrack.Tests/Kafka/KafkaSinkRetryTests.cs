using Confluent.Kafka;
using GoTrack.Core.Kafka;
using GoTrack.Tests.Postgres;

namespace GoTrack.Tests.Kafka;

/// <summary>The kafka sink on its own, driven the way the runner drives it when an attempt times out.</summary>
public sealed class KafkaSinkRetryTests : IDisposable
{
    private readonly MockKafka _kafka = new();

    public void Dispose() => _kafka.Dispose();

    [Fact]
    public async Task A_retry_after_an_abandoned_attempt_waits_for_its_reports_and_sends_nothing_twice()
    {
        var options = new KafkaOptions { Brokers = _kafka.Bootstrap, Topic = MockKafka.Topic, MessageTimeoutMs = 20_000, StatisticsIntervalMs = 0 };
        using var producer = new ProducerBuilder<byte[], byte[]>(options.ToProducerConfig()).Build();
        using var probe = new KafkaMetadataProbe(new DependentAdminClientBuilder(producer.Handle).Build(), options.Topic, KafkaMetadataProbe.DefaultTimeout);
        var sink = new KafkaEventSink(producer, options, probe);
        var batch = Rows.Many(200);

        // The first attempt is abandoned (the runner's timeout) while its messages wait in librdkafka.
        _kafka.Cluster.SetBrokerDown();
        using (var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(500)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sink.WriteBatchAsync(batch, timeout.Token).AsTask());
        }

        _kafka.Cluster.SetBrokerUp();
        await sink.WriteBatchAsync(batch, CancellationToken.None);

        var messages = await _kafka.ReadAsync(200);
        Assert.Equal(200, messages.Count);
        Assert.Equal(batch.Select(r => r.EventId.ToString()).ToHashSet(), messages.Select(m => m.Key()).ToHashSet());
    }
}
