extern alias sinkworker;

using System.Text;
using Confluent.Kafka;
using GoTrack.Core.Kafka;
using GoTrack.DevKafka;
using GoTrack.Tests.Kafka;
using GoTrack.Tests.Postgres;
using GoTrack.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Worker = sinkworker::GoTrack.SinkWorker;

namespace GoTrack.Tests.SinkWorker;

/// <summary>
/// SinkWorker's dead-letter producer when Kafka misbehaves: a fatal producer error, and a send of which
/// only part is acknowledged. Each dead letter reaches the topic exactly once (read to the high
/// watermark), and the batch's offsets are committed once its letters are there.
/// </summary>
public sealed class DeadLetterProducerTests : IAsyncLifetime
{
    private SinkWorkerRig _rig = null!;

    public async Task InitializeAsync() => _rig = await SinkWorkerRig.CreateAsync();

    public async Task DisposeAsync() => await _rig.DisposeAsync();

    /// <summary>
    /// Issue 10: the dead-letter producer was the first producer for good. After a fatal error it refused
    /// every send (Local_Fatal, retried forever), so the batch with poison never committed and its
    /// partitions stalled while /healthz said 200. Now it is replaced, as Ingest's kafka sink's is.
    /// </summary>
    [Fact]
    public async Task After_a_fatal_producer_error_the_dead_letters_still_go_out_once_and_the_offsets_are_committed()
    {
        using var host = await _rig.StartWorkerAsync();
        var producers = host.Services.GetRequiredService<KafkaProducerHost>();
        MockKafkaCluster.TriggerFatalError(producers.Current(), ErrorCode.OutOfOrderSequenceNumber, "test: broken idempotence sequence");

        await _rig.ProduceAsync(Rows.Many(10));
        await _rig.ProduceRawAsync("not json", "{\"event_id\":\"abc\"}", "[1,2,3]");
        await _rig.WaitRowsAsync(10);
        await WaitCommittedAsync(13);

        var letters = await _rig.Kafka.ReadAsync(3, topic: SinkWorkerRig.DeadLetterTopic);
        Assert.Equal(3, letters.Count);
        Assert.Equal(
            ["bad_event_id", "not_json", "not_json"],
            letters.Select(l => l.Header(Worker.DeadLetterTopic.ReasonHeader)!).Order(StringComparer.Ordinal));
        Assert.Equal(1, producers.Rebuilds);

        await host.StopAsync();
        Assert.Equal(13, _rig.CommittedTotal());
    }

    /// <summary>
    /// Issue 10: a dead letter the topic acknowledged is never sent again. The dead-letter topic here has two
    /// partitions, one of them without a leader: the letters for the other are acknowledged, the rest time
    /// out (a transient failure) and the worker's dead-letter pipeline retries. Once the partition has a
    /// leader again, the retry sends only the letters that timed out.
    /// </summary>
    [Fact]
    public async Task A_retry_after_a_partly_acknowledged_send_puts_each_letter_on_the_topic_once()
    {
        const string Dlq = MockKafka.Topic + ".dlq2";
        _rig.Kafka.Cluster.CreateTopic(Dlq, partitions: 2, replicationFactor: 1);
        _rig.Kafka.Cluster.SetPartitionLeader(Dlq, 1, -1);
        var keys = Enumerable.Range(0, 10).Select(i => "letter-" + i).ToList();
        using (var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = _rig.Kafka.Bootstrap, LingerMs = 1 }).Build())
        {
            foreach (var key in keys)
            {
                producer.Produce(MockKafka.Topic, new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes(key), Value = Encoding.UTF8.GetBytes("not json " + key) });
            }

            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
        }

        var logs = new CapturingLoggerProvider();
        // All ten letters in one batch (ten messages fill it; no time-based flush before that): with a 500 ms
        // flush a slow fetch once split them, and the second batch's letters for partition 0 came after the
        // watermark read below (4 against 2 on a clean-clone CI run).
        using var host = await _rig.StartWorkerAsync(logs, ("KAFKA_DLQ_TOPIC", Dlq), ("PG_BATCH_SIZE", "10"), ("PG_FLUSH_MS", "60000"));

        // The first send has failed in part (the leaderless partition's letters timed out) and is retried.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!logs.Lines.Any(l => l.Contains("Writing a batch failed", StringComparison.Ordinal)) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.Contains(logs.Lines, l => l.Contains("Writing a batch failed", StringComparison.Ordinal) && l.Contains("Message timed out", StringComparison.Ordinal));
        long acknowledged;
        using (var reader = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig { BootstrapServers = _rig.Kafka.Bootstrap, GroupId = "test-watermark" }).Build())
        {
            acknowledged = reader.QueryWatermarkOffsets(new TopicPartition(Dlq, 0), TimeSpan.FromSeconds(10)).High.Value;
        }

        Assert.InRange(acknowledged, 1, 9);

        _rig.Kafka.Cluster.SetPartitionLeader(Dlq, 1, 1);
        await WaitCommittedAsync(10);

        var letters = await _rig.Kafka.ReadAsync(10, topic: Dlq);
        Assert.Equal(10, letters.Count);
        Assert.Equal(keys.Order(StringComparer.Ordinal), letters.Select(l => l.Key()).Order(StringComparer.Ordinal));
        Assert.Contains(letters, l => l.Partition.Value == 1);
        Assert.Equal(acknowledged, letters.Count(l => l.Partition.Value == 0));

        await host.StopAsync();
        Assert.Equal(10, _rig.CommittedTotal());
    }

    private async Task WaitCommittedAsync(long expected)
    {
        var deadline = DateTime.UtcNow.AddSeconds(45);
        long committed;
        while ((committed = _rig.CommittedTotal()) < expected && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }

        Assert.Equal(expected, committed);
    }
}
