using System.Globalization;
using GoTrack.Core.Configuration;

namespace GoTrack.Core.Kafka;

/// <summary>The KAFKA_* variables: their documentation, defaults and validation, shared by Ingest and SinkWorker.</summary>
public static class KafkaSettings
{
    public const string DefaultTopic = "gotrack.events";

    /// <summary>The connection string the AppHost injects for the <c>kafka</c> resource (<c>host:port</c>).</summary>
    public const string ConnectionStringKey = "ConnectionStrings:kafka";

    public static SettingDoc[] Docs { get; } =
    [
        new("KAFKA_BROKERS", "", "Bootstrap servers, host:port[,host:port...]. Required with OUTPUTS=kafka unless ConnectionStrings:kafka is set (the AppHost sets it)."),
        new("KAFKA_TOPIC", DefaultTopic, "Topic the events go to: key event_id, value the event JSON, headers event_type and schema=v1."),
        new("KAFKA_ACKS", "all", "all (idempotent producer, the default), leader or none. Anything but all turns idempotence off."),
        new("KAFKA_COMPRESSION", "none", "none, gzip, snappy, lz4 or zstd."),
        new("KAFKA_SASL_MECHANISM", "", "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; needs KAFKA_SASL_USER and KAFKA_SASL_PASSWORD."),
        new("KAFKA_SASL_USER", "", "SASL user name."),
        new("KAFKA_SASL_PASSWORD", "", "SASL password (never logged)."),
        new("KAFKA_TLS", "false", "Connect over TLS, trusting the system's CA certificates."),
        new("KAFKA_TLS_CA", "", "PEM file of CA certificates to trust instead of the system's; implies KAFKA_TLS."),
        new("KAFKA_TLS_SKIP_VERIFY", "false", "Do not verify the brokers' certificates or host names (testing only); implies KAFKA_TLS."),
        new("KAFKA_BATCH_SIZE", "1000", "Events the kafka sink hands to the producer and awaits as one batch (its own BATCH_SIZE). Up to WORKER_CONCURRENCY batches are in flight."),
        new("KAFKA_LINGER_MS", "5", "How long the producer waits to fill a request (linger.ms)."),
        new("KAFKA_PRODUCER_BATCH_MESSAGES", "10000", "Most messages in one produce request (batch.num.messages)."),
        new("KAFKA_PRODUCER_BATCH_BYTES", "1000000", "Most bytes in one produce request (batch.size)."),
        new("KAFKA_MESSAGE_TIMEOUT_MS", "10000", "How long the producer tries one message before the batch fails and is retried (message.timeout.ms); at least 1000, above KAFKA_LINGER_MS and below SINK_TIMEOUT_MS."),
        new("KAFKA_MAX_POLL_INTERVAL_MS", "300000", "Consumers: a member that does not poll for this long leaves its group (max.poll.interval.ms). SinkWorker keeps polling, with its partitions paused, while a write fails, so a Postgres outage does not cost it its partitions."),
        new("KAFKA_SESSION_TIMEOUT_MS", "10000", "Consumers: how long the group waits for a silent member (a killed instance) before giving its partitions to another (session.timeout.ms; librdkafka's default is 45000)."),
        new("KAFKA_STATS_INTERVAL_MS", "5000", "How often librdkafka's statistics refresh the gotrack_kafka_* metrics; 0 turns them off."),
        new("KAFKA_CREATE_TOPIC", "false", "Development aid: create KAFKA_TOPIC at start if missing. In production, create the topic beforehand (see README)."),
        new("KAFKA_TOPIC_PARTITIONS", "6", "Partitions for KAFKA_CREATE_TOPIC."),
        new("KAFKA_TOPIC_REPLICATION", "1", "Replication factor for KAFKA_CREATE_TOPIC."),
    ];

    /// <summary>Reads and validates the KAFKA_* variables; errors go to <paramref name="r"/> and name the variable.</summary>
    public static KafkaOptions Load(SettingsReader r, string clientId)
    {
        ArgumentNullException.ThrowIfNull(r);
        var o = new KafkaOptions { ClientId = clientId };

        var brokers = r.Raw("KAFKA_BROKERS");
        var brokersName = "KAFKA_BROKERS";
        if (brokers is null)
        {
            brokers = r.Raw(ConnectionStringKey);
            brokersName = ConnectionStringKey;
        }

        if (brokers is null)
        {
            r.Error("KAFKA_BROKERS", $"required when Kafka is used (or set {ConnectionStringKey}); e.g. localhost:9092");
        }
        else if (!TryParseBrokers(brokers, out var normalized))
        {
            // A connection string may carry credentials: echo only what was typed as KAFKA_BROKERS.
            r.Error(brokersName, brokersName == "KAFKA_BROKERS"
                ? $"must be host:port[,host:port...] (got '{brokers}')"
                : "must be host:port[,host:port...] (the value is not shown: it may hold a secret)");
        }
        else
        {
            o.Brokers = normalized;
        }

        o.Topic = r.Text("KAFKA_TOPIC", DefaultTopic);
        if (!IsValidTopic(o.Topic))
        {
            r.Error("KAFKA_TOPIC", $"must be 1 to 249 of the characters a-z A-Z 0-9 . _ - (got '{o.Topic}')");
        }

        o.Acks = r.OneOf("KAFKA_ACKS", "all", "all", "leader", "none");
        o.Compression = r.OneOf("KAFKA_COMPRESSION", "none", "none", "gzip", "snappy", "lz4", "zstd");

        o.SaslMechanism = r.Raw("KAFKA_SASL_MECHANISM") is null ? null : r.OneOf("KAFKA_SASL_MECHANISM", "PLAIN", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512");
        o.SaslUser = r.Raw("KAFKA_SASL_USER");
        o.SaslPassword = r.Raw("KAFKA_SASL_PASSWORD");
        if (o.SaslMechanism is not null)
        {
            if (o.SaslUser is null)
            {
                r.Error("KAFKA_SASL_USER", "required with KAFKA_SASL_MECHANISM");
            }

            if (o.SaslPassword is null)
            {
                r.Error("KAFKA_SASL_PASSWORD", "required with KAFKA_SASL_MECHANISM");
            }
        }
        else if (o.SaslUser is not null || o.SaslPassword is not null)
        {
            r.Error("KAFKA_SASL_MECHANISM", "required with KAFKA_SASL_USER / KAFKA_SASL_PASSWORD (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)");
        }

        o.TlsCaPath = r.Raw("KAFKA_TLS_CA");
        if (o.TlsCaPath is not null && !File.Exists(o.TlsCaPath))
        {
            r.Error("KAFKA_TLS_CA", $"no such file '{o.TlsCaPath}'");
        }

        o.TlsSkipVerify = r.Bool("KAFKA_TLS_SKIP_VERIFY", false);
        o.Tls = r.Bool("KAFKA_TLS", false) || o.TlsCaPath is not null || o.TlsSkipVerify;

        o.SinkBatchSize = r.Number("KAFKA_BATCH_SIZE", 1000, 1, 100_000);
        o.LingerMs = r.Number("KAFKA_LINGER_MS", 5, 0, 60_000);
        o.BatchMaxMessages = r.Number("KAFKA_PRODUCER_BATCH_MESSAGES", 10_000, 1, 1_000_000);
        o.BatchMaxBytes = r.Number("KAFKA_PRODUCER_BATCH_BYTES", 1_000_000, 1, int.MaxValue);
        o.MessageTimeoutMs = r.Number("KAFKA_MESSAGE_TIMEOUT_MS", 10_000, 1_000, 3_600_000);
        if (o.LingerMs >= o.MessageTimeoutMs)
        {
            r.Error("KAFKA_LINGER_MS", $"must be below KAFKA_MESSAGE_TIMEOUT_MS ({o.MessageTimeoutMs}); librdkafka refuses a linger as long as the message timeout");
        }

        o.SessionTimeoutMs = r.Number("KAFKA_SESSION_TIMEOUT_MS", 10_000, 6_000, 300_000);
        o.MaxPollIntervalMs = r.Number("KAFKA_MAX_POLL_INTERVAL_MS", 300_000, 6_000, 86_400_000);
        if (o.MaxPollIntervalMs < o.SessionTimeoutMs)
        {
            r.Error("KAFKA_MAX_POLL_INTERVAL_MS", $"must not be below KAFKA_SESSION_TIMEOUT_MS ({o.SessionTimeoutMs})");
        }
        o.StatisticsIntervalMs = r.Number("KAFKA_STATS_INTERVAL_MS", 5_000, 0, 86_400_000);
        o.CreateTopic = r.Bool("KAFKA_CREATE_TOPIC", false);
        o.TopicPartitions = r.Number("KAFKA_TOPIC_PARTITIONS", 6, 1, 100_000);
        o.TopicReplicationFactor = (short)r.Number("KAFKA_TOPIC_REPLICATION", 1, 1, 32);
        return o;
    }

    /// <summary>Kafka's own rule for topic names.</summary>
    public static bool IsValidTopic(string topic)
    {
        ArgumentNullException.ThrowIfNull(topic);
        if (topic.Length is 0 or > 249 || topic is "." or "..")
        {
            return false;
        }

        foreach (var c in topic)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Checks a bootstrap list: comma-separated <c>host:port</c>, <c>[v6]:port</c>, optionally with a
    /// <c>PLAINTEXT://</c>-style scheme (which is dropped: security comes from KAFKA_TLS / KAFKA_SASL_*).
    /// </summary>
    public static bool TryParseBrokers(string text, out string normalized)
    {
        ArgumentNullException.ThrowIfNull(text);
        normalized = "";
        var parts = new List<string>();
        foreach (var raw in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var part = raw;
            var scheme = part.IndexOf("://", StringComparison.Ordinal);
            if (scheme >= 0)
            {
                part = part[(scheme + 3)..];
            }

            var colon = part.LastIndexOf(':');
            if (colon <= 0)
            {
                return false;
            }

            var host = part[..colon];
            if (!int.TryParse(part.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            {
                return false;
            }

            var hostOk = host.StartsWith('[')
                ? host.EndsWith(']') && System.Net.IPAddress.TryParse(host[1..^1], out _)
                : !host.Contains(':', StringComparison.Ordinal) && Uri.CheckHostName(host) != UriHostNameType.Unknown;
            if (!hostOk)
            {
                return false;
            }

            parts.Add(host + ":" + port.ToString(CultureInfo.InvariantCulture));
        }

        normalized = string.Join(',', parts);
        return parts.Count > 0;
    }
}
