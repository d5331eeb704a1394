using GoTrack.Core.Kafka;
using GoTrack.Core.Postgres;
using GoTrack.Core.Sinks;

namespace GoTrack.SinkWorker;

/// <summary>Everything GoTrack.SinkWorker reads from its settings, already validated (see <see cref="SinkWorkerSettings"/>).</summary>
public sealed class SinkWorkerOptions
{
    public string? ServerAddress { get; set; }

    public KafkaOptions Kafka { get; set; } = new();

    /// <summary>KAFKA_GROUP_ID: the consumer group every SinkWorker instance joins.</summary>
    public string GroupId { get; set; } = SinkWorkerSettings.DefaultGroupId;

    /// <summary>KAFKA_DLQ_TOPIC: where poison messages and rows Postgres refuses go, with the reason in a header.</summary>
    public string DeadLetterTopic { get; set; } = KafkaSettings.DefaultTopic + ".dlq";

    /// <summary>DLQ_FALLBACK_PATH: where a dead letter goes when the dead-letter topic refuses it for good.</summary>
    public string DeadLetterFallbackPath { get; set; } = "./data/sinkworker.dead-letter.ndjson";

    public PostgresOptions Postgres { get; set; } = new();

    /// <summary>Retry, breaker and timeout of the Postgres write (SINK_RETRY_BASE_MS, SINK_RETRY_MAX_MS, SINK_TIMEOUT_MS).</summary>
    public SinkRunnerOptions Resilience { get; } = new();
}
