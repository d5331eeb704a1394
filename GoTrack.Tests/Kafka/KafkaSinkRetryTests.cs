using Confluent.Kafka;
using GoTrack.Core.Kafka;
using GoTrack.Tests.Postgres;
using Microsoft.Extensions.DependencyInjection;

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
        using var producers = new KafkaProducerHost(_ => new ProducerBuilder<byte[], byte[]>(options.ToProducerConfig()).Build(), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        using var probe = new KafkaMetadataProbe(() => producers.Admin, options.Topic, KafkaMetadataProbe.DefaultTimeout);
        var sink = new KafkaEventSink(producers, options, probe);
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

/// <summary>A fatal producer error through librdkafka's own rd_kafka_test_fatal_error, against the mock cluster.</summary>
public sealed class KafkaFatalErrorTests : IDisposable
{
    private readonly MockKafka _kafka = new();

    public void Dispose() => _kafka.Dispose();

    [Fact]
    public async Task After_a_fatal_producer_error_the_producer_is_replaced_and_every_event_arrives_exactly_once()
    {
        using var app = _kafka.Ingest();
        var client = app.CreateClient();
        Assert.Equal(20, await client.SendPixelsAsync(20, "before"));
        await app.WaitDeliveredAsync(TimeSpan.FromSeconds(30));

        var producers = app.Services.GetRequiredService<KafkaProducerHost>();
        GoTrack.DevKafka.MockKafkaCluster.TriggerFatalError(producers.Current(), ErrorCode.OutOfOrderSequenceNumber, "test: broken idempotence sequence");

        // Before the fix the sink failed every batch from here on, until a restart.
        Assert.Equal(30, await client.SendPixelsAsync(30, "after"));
        await app.WaitDeliveredAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(1, producers.Rebuilds);

        var messages = await _kafka.ReadAsync(50);
        Assert.Equal(50, messages.Count);
        Assert.Equal(50, messages.Select(m => m.Key()).Distinct().Count());
    }
}
