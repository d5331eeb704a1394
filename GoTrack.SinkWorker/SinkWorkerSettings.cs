using Confluent.Kafka;
using GoTrack.Core.Configuration;
using GoTrack.Core.Kafka;
using GoTrack.Core.Postgres;
using Microsoft.Extensions.Configuration;

namespace GoTrack.SinkWorker;

/// <summary>GoTrack.SinkWorker's settings, in the same style and with the same names as Ingest's.</summary>
public static class SinkWorkerSettings
{
    public const string DefaultServerAddress = ":19891";
    public const string DefaultGroupId = "gotrack-sinkworker";

    // Settings of Ingest's own sinks that mean nothing here.
    private static readonly HashSet<string> NotUsed = ["KAFKA_BATCH_SIZE", "PG_DLQ_PATH"];

    public static IReadOnlyList<(string Section, SettingDoc[] Settings)> Docs { get; } =
    [
        ("General",
        [
            new("SERVER_ADDR", DefaultServerAddress, "Where /healthz, /readyz and /metrics listen. When unset and the AppHost (ASPNETCORE_URLS, HTTP_PORTS) says where to listen, that wins."),
            new("SINK_RETRY_BASE_MS", "100", "First delay before a failed Postgres write is retried; doubles per attempt, with jitter."),
            new("SINK_RETRY_MAX_MS", "30000", "Cap on the delay between retries. A batch is retried until it is written; its offsets are not committed before."),
            new("SINK_TIMEOUT_MS", "30000", "One write attempt is abandoned (and retried) after this long."),
            new("SHUTDOWN_TIMEOUT", "20s", "How long a stop may take: write the batch in hand, commit, leave the group."),
            new("DLQ_FALLBACK_PATH", "./data/sinkworker.dead-letter.ndjson", "NDJSON file for dead letters the dead-letter topic refuses for good (too large, not authorized), so they never block a partition."),
        ]),
        ("Kafka (consumer, and the dead-letter producer)",
        [
            .. KafkaSettings.Docs.Where(d => !NotUsed.Contains(d.Name)),
            new("KAFKA_GROUP_ID", DefaultGroupId, "Consumer group. Add instances to scale, up to the topic's partition count."),
            new("KAFKA_ASSIGNMENT_STRATEGY", "range", "How the group shares the partitions: range (librdkafka's default, with roundrobin as fallback), roundrobin, or cooperative-sticky (incremental rebalances: only the partitions that move are revoked, the others keep their messages in hand). Every instance of a group needs the same value."),
            new("KAFKA_DLQ_TOPIC", "<KAFKA_TOPIC>.dlq", "Dead-letter topic: messages that are not events (not JSON, no event_id, event_id not a UUID) and rows Postgres refuses, with the reason in the dlq.reason header."),
        ]),
        ("Postgres", [.. PostgresSettings.Docs.Where(d => !NotUsed.Contains(d.Name))]),
        ("Telemetry",
        [
            new("OTEL_EXPORTER_OTLP_ENDPOINT", "", "Send logs, metrics and traces over OTLP (the Aspire dashboard sets this). /metrics serves Prometheus text regardless."),
            new("OTEL_SERVICE_NAME", "GoTrack.SinkWorker", "Service name in telemetry."),
        ]),
    ];

    public static SinkWorkerOptions Load(IConfiguration configuration, out IReadOnlyList<string> errors)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var r = new SettingsReader(configuration);
        var o = new SinkWorkerOptions
        {
            ServerAddress = ListenAddress.Resolve(configuration, r, DefaultServerAddress),
            Kafka = KafkaSettings.Load(r, "gotrack-sinkworker"),
        };
        o.GroupId = r.Text("KAFKA_GROUP_ID", DefaultGroupId);
        if (o.GroupId.Length > 255)
        {
            r.Error("KAFKA_GROUP_ID", "must be at most 255 characters");
        }

        o.Kafka.AssignmentStrategy = r.Raw("KAFKA_ASSIGNMENT_STRATEGY") is null
            ? null
            : r.OneOf("KAFKA_ASSIGNMENT_STRATEGY", "range", "range", "roundrobin", "cooperative-sticky") switch
            {
                "roundrobin" => PartitionAssignmentStrategy.RoundRobin,
                "cooperative-sticky" => PartitionAssignmentStrategy.CooperativeSticky,
                _ => PartitionAssignmentStrategy.Range,
            };

        o.DeadLetterTopic = r.Text("KAFKA_DLQ_TOPIC", o.Kafka.Topic + ".dlq");
        if (!KafkaSettings.IsValidTopic(o.DeadLetterTopic))
        {
            r.Error("KAFKA_DLQ_TOPIC", $"must be 1 to 249 of the characters a-z A-Z 0-9 . _ - (got '{o.DeadLetterTopic}')");
        }
        else if (o.DeadLetterTopic == o.Kafka.Topic)
        {
            r.Error("KAFKA_DLQ_TOPIC", "must not be KAFKA_TOPIC itself");
        }

        o.DeadLetterFallbackPath = r.Text("DLQ_FALLBACK_PATH", o.DeadLetterFallbackPath);
        o.Postgres = PostgresSettings.Load(r, configuration, required: true, deadLetterFolder: "");
        o.Resilience.RetryBaseDelay = r.Milliseconds("SINK_RETRY_BASE_MS", 100, 1, 60_000);
        o.Resilience.RetryMaxDelay = r.Milliseconds("SINK_RETRY_MAX_MS", 30_000, 1, 3_600_000);
        o.Resilience.AttemptTimeout = r.Milliseconds("SINK_TIMEOUT_MS", 30_000, 10, 3_600_000);
        o.Resilience.ShutdownTimeout = r.Duration("SHUTDOWN_TIMEOUT", TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(1), TimeSpan.FromHours(1));
        if (o.Resilience.RetryMaxDelay < o.Resilience.RetryBaseDelay)
        {
            r.Error("SINK_RETRY_MAX_MS", "must not be below SINK_RETRY_BASE_MS");
        }

        // A revoke waits inside the consumer's poll for the write in hand, up to one attempt; librdkafka gives
        // a member max.poll.interval.ms to rejoin, so a longer wait would cost the instance its membership.
        if (o.Resilience.AttemptTimeout.TotalMilliseconds >= o.Kafka.MaxPollIntervalMs)
        {
            r.Error("SINK_TIMEOUT_MS", $"must be below KAFKA_MAX_POLL_INTERVAL_MS ({o.Kafka.MaxPollIntervalMs}): a rebalance waits up to one write attempt inside the poll");
        }

        errors = r.Errors;
        return o;
    }

    public static string HelpText() => SettingsHelp.Render(
        """
        GoTrack.SinkWorker: consumes GoTrack's Kafka topic in a consumer group and loads Postgres.

        Usage: GoTrack.SinkWorker [--help]

        Endpoints: GET /healthz, GET /readyz (Kafka and Postgres reachable), GET /metrics.
        """,
        Docs);
}
