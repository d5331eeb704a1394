using Confluent.Kafka;

namespace GoTrack.Core.Kafka;

/// <summary>Kafka settings shared by Ingest's kafka sink and SinkWorker, already validated (see <see cref="KafkaSettings"/>).</summary>
public sealed class KafkaOptions
{
    /// <summary>Bootstrap servers, <c>host:port[,host:port...]</c>.</summary>
    public string Brokers { get; set; } = "";

    public string Topic { get; set; } = KafkaSettings.DefaultTopic;

    public string ClientId { get; set; } = "gotrack";

    /// <summary>KAFKA_ACKS: <c>all</c>, <c>leader</c> or <c>none</c>.</summary>
    public string Acks { get; set; } = "all";

    /// <summary>KAFKA_COMPRESSION: <c>none</c>, <c>gzip</c>, <c>snappy</c>, <c>lz4</c> or <c>zstd</c>.</summary>
    public string Compression { get; set; } = "none";

    /// <summary>KAFKA_SASL_MECHANISM: <c>PLAIN</c>, <c>SCRAM-SHA-256</c> or <c>SCRAM-SHA-512</c>; null for no SASL.</summary>
    public string? SaslMechanism { get; set; }

    public string? SaslUser { get; set; }

    public string? SaslPassword { get; set; }

    /// <summary>Whether to connect over TLS (KAFKA_TLS, or implied by KAFKA_TLS_CA / KAFKA_TLS_SKIP_VERIFY).</summary>
    public bool Tls { get; set; }

    /// <summary>A PEM file of CA certificates to trust instead of the system's.</summary>
    public string? TlsCaPath { get; set; }

    public bool TlsSkipVerify { get; set; }

    /// <summary>
    /// KAFKA_BATCH_SIZE: events the kafka sink hands to the producer as one batch and awaits together
    /// (Ingest's per-sink override of BATCH_SIZE, as PG_BATCH_SIZE is for postgres).
    /// </summary>
    public int SinkBatchSize { get; set; } = 1000;

    public int LingerMs { get; set; } = 5;

    public int BatchMaxMessages { get; set; } = 10_000;

    public int BatchMaxBytes { get; set; } = 1_000_000;

    /// <summary>How long librdkafka may try to deliver one message before it reports failure (message.timeout.ms).</summary>
    public int MessageTimeoutMs { get; set; } = 10_000;

    public int StatisticsIntervalMs { get; set; } = 5_000;

    /// <summary>KAFKA_SESSION_TIMEOUT_MS: how soon the group gives a silent (killed) consumer's partitions to another.</summary>
    public int SessionTimeoutMs { get; set; } = 10_000;

    /// <summary>KAFKA_MAX_POLL_INTERVAL_MS: a consumer that does not poll for this long leaves its group.</summary>
    public int MaxPollIntervalMs { get; set; } = 300_000;

    /// <summary>
    /// KAFKA_ASSIGNMENT_STRATEGY (SinkWorker): how a consumer group shares the partitions; null leaves
    /// librdkafka's default (range, then roundrobin). <see cref="PartitionAssignmentStrategy.CooperativeSticky"/>
    /// rebalances incrementally: only the partitions that move are revoked.
    /// </summary>
    public PartitionAssignmentStrategy? AssignmentStrategy { get; set; }

    public bool CreateTopic { get; set; }

    public int TopicPartitions { get; set; } = 6;

    public short TopicReplicationFactor { get; set; } = 1;

    /// <summary>
    /// The most messages librdkafka may hold unacknowledged (queue.buffering.max.messages). Ingest sets it
    /// to what its sink can have in flight, so librdkafka's buffer is part of the event log's bound.
    /// </summary>
    public int ProducerQueueMaxMessages { get; set; } = 100_000;

    /// <summary>The most kilobytes librdkafka may hold unacknowledged (queue.buffering.max.kbytes).</summary>
    public int ProducerQueueMaxKbytes { get; set; } = 128 * 1024;

    /// <summary>The configuration every client (producer, consumer, admin) shares: servers, identity, security.</summary>
    public void ApplyCommon(ClientConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.BootstrapServers = Brokers;
        config.ClientId = ClientId;
        config.SecurityProtocol = (SaslMechanism is not null, Tls) switch
        {
            (true, true) => SecurityProtocol.SaslSsl,
            (true, false) => SecurityProtocol.SaslPlaintext,
            (false, true) => SecurityProtocol.Ssl,
            _ => SecurityProtocol.Plaintext,
        };
        if (SaslMechanism is not null)
        {
            config.SaslMechanism = SaslMechanism switch
            {
                "PLAIN" => Confluent.Kafka.SaslMechanism.Plain,
                "SCRAM-SHA-256" => Confluent.Kafka.SaslMechanism.ScramSha256,
                _ => Confluent.Kafka.SaslMechanism.ScramSha512,
            };
            config.SaslUsername = SaslUser;
            config.SaslPassword = SaslPassword;
        }

        if (Tls)
        {
            // "probe" makes librdkafka look for the system's CA bundle in the usual places.
            config.SslCaLocation = TlsCaPath ?? "probe";
            if (TlsSkipVerify)
            {
                config.EnableSslCertificateVerification = false;
                config.SslEndpointIdentificationAlgorithm = SslEndpointIdentificationAlgorithm.None;
            }
        }

        // Never create topics as a side effect of asking for them: a typo in KAFKA_TOPIC should show in
        // /readyz, not become a new topic with the broker's default settings.
        config.AllowAutoCreateTopics = false;

        // Notice a broker that came back within a couple of seconds, not librdkafka's default 10 s.
        config.ReconnectBackoffMaxMs = 2_000;
        config.StatisticsIntervalMs = StatisticsIntervalMs;
    }

    /// <summary>The producer for events: idempotent with acks=all by default, bounded buffer, status-only delivery reports.</summary>
    public ProducerConfig ToProducerConfig()
    {
        var config = new ProducerConfig();
        ApplyCommon(config);
        config.Acks = Acks switch
        {
            "leader" => Confluent.Kafka.Acks.Leader,
            "none" => Confluent.Kafka.Acks.None,
            _ => Confluent.Kafka.Acks.All,
        };

        // The idempotent producer needs acks=all; with weaker acks duplicates from retries are possible,
        // which the sinks downstream absorb on event_id anyway.
        config.EnableIdempotence = Acks == "all";
        config.CompressionType = Compression switch
        {
            "gzip" => CompressionType.Gzip,
            "snappy" => CompressionType.Snappy,
            "lz4" => CompressionType.Lz4,
            "zstd" => CompressionType.Zstd,
            _ => CompressionType.None,
        };
        config.LingerMs = LingerMs;
        config.BatchNumMessages = BatchMaxMessages;
        config.BatchSize = BatchMaxBytes;
        config.MessageTimeoutMs = MessageTimeoutMs;

        // A request to a broker that stopped answering must time out before its messages do, or they
        // outlive message.timeout.ms (librdkafka waits for in-flight requests).
        config.RequestTimeoutMs = Math.Max(500, MessageTimeoutMs / 2);
        config.QueueBufferingMaxMessages = Math.Max(ProducerQueueMaxMessages, BatchMaxMessages);
        config.QueueBufferingMaxKbytes = ProducerQueueMaxKbytes;

        // The sink only needs to know whether each message was persisted; skip copying keys and values back.
        config.DeliveryReportFields = "status";
        return config;
    }

    /// <summary>A consumer in <paramref name="groupId"/> that commits only when told to, from the earliest offset.</summary>
    public ConsumerConfig ToConsumerConfig(string groupId)
    {
        var config = new ConsumerConfig();
        ApplyCommon(config);
        config.GroupId = groupId;
        config.EnableAutoCommit = false;
        config.EnableAutoOffsetStore = false;
        config.AutoOffsetReset = AutoOffsetReset.Earliest;
        config.EnablePartitionEof = false;
        config.SessionTimeoutMs = SessionTimeoutMs;
        config.MaxPollIntervalMs = MaxPollIntervalMs;
        if (AssignmentStrategy is { } strategy)
        {
            config.PartitionAssignmentStrategy = strategy;
        }

        return config;
    }

    public AdminClientConfig ToAdminConfig()
    {
        var config = new AdminClientConfig();
        ApplyCommon(config);
        return config;
    }
}
