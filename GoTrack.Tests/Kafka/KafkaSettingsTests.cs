using Confluent.Kafka;
using CsCheck;
using GoTrack.Core.Kafka;
using GoTrack.Ingest.Configuration;
using Microsoft.Extensions.Configuration;

namespace GoTrack.Tests.Kafka;

/// <summary>
/// KAFKA_* validation, and how the settings map to librdkafka properties. SASL and TLS cannot run end
/// to end against the mock cluster (it is plaintext only), so their mapping is checked here, and every
/// mapped configuration is handed to a real librdkafka producer, which refuses unknown or inconsistent
/// properties when it is built.
/// </summary>
public sealed class KafkaSettingsTests
{
    private const string Ca = "/etc/ssl/certs/ca-certificates.crt";

    private static IngestOptions Load(out IReadOnlyList<string> errors, params (string Key, string Value)[] values)
    {
        var all = new Dictionary<string, string?> { ["OUTPUTS"] = "kafka" };
        foreach (var (key, value) in values)
        {
            all[key] = value;
        }

        var config = new ConfigurationBuilder().AddInMemoryCollection(all).Build();
        return IngestSettings.Load(config, out errors);
    }

    private static Dictionary<string, string> Properties(params (string Key, string Value)[] values)
    {
        var o = Load(out var errors, [("KAFKA_BROKERS", "k1:9092"), .. values]);
        Assert.Empty(errors);
        var config = o.Kafka!.ToProducerConfig();

        // librdkafka itself accepts the result (it checks names, values and combinations when built).
        using (new ProducerBuilder<byte[], byte[]>(config).Build())
        {
        }

        return config.ToDictionary(p => p.Key, p => p.Value);
    }

    [Fact]
    public void Defaults_give_an_idempotent_acks_all_producer_with_a_bounded_buffer()
    {
        var p = Properties(("BATCH_SIZE", "200"), ("WORKER_CONCURRENCY", "3"));
        Assert.Equal("k1:9092", p["bootstrap.servers"]);
        Assert.Equal("gotrack-ingest", p["client.id"]);
        Assert.Equal("-1", p["acks"]);
        Assert.Equal("True", p["enable.idempotence"]);
        Assert.Equal("none", p["compression.type"]);
        Assert.Equal("plaintext", p["security.protocol"]);
        Assert.Equal("False", p["allow.auto.create.topics"]);
        Assert.Equal("5", p["linger.ms"]);
        Assert.Equal("10000", p["message.timeout.ms"]);
        Assert.Equal("status", p["dotnet.producer.delivery.report.fields"]);

        // What the sink can have in flight (3 batches of KAFKA_BATCH_SIZE), but never less than one
        // librdkafka batch; the kafka sink's batch size is its own, not BATCH_SIZE.
        Assert.Equal("10000", p["queue.buffering.max.messages"]);
        var o = Load(out _, ("KAFKA_BROKERS", "k:1"), ("KAFKA_BATCH_SIZE", "400"), ("WORKER_CONCURRENCY", "3"));
        Assert.Equal(1200, o.Kafka!.ProducerQueueMaxMessages);
        Assert.Equal(400, o.Runner.BatchSizeFor("kafka"));
        Assert.Equal(100, o.Runner.BatchSizeFor("log"));
        Assert.Equal("131072", p["queue.buffering.max.kbytes"]);
        Assert.Equal(KafkaSettings.DefaultTopic, Load(out _, ("KAFKA_BROKERS", "k:1")).Kafka!.Topic);
    }

    public static TheoryData<(string Key, string Value)[], (string Property, string Value)[]> Mappings => new()
    {
        { [("KAFKA_ACKS", "leader")], [("acks", "1"), ("enable.idempotence", "False")] },
        { [("KAFKA_ACKS", "none")], [("acks", "0"), ("enable.idempotence", "False")] },
        { [("KAFKA_COMPRESSION", "gzip")], [("compression.type", "gzip")] },
        { [("KAFKA_COMPRESSION", "snappy")], [("compression.type", "snappy")] },
        { [("KAFKA_COMPRESSION", "LZ4")], [("compression.type", "lz4")] },
        { [("KAFKA_COMPRESSION", "zstd")], [("compression.type", "zstd")] },
        {
            [("KAFKA_SASL_MECHANISM", "PLAIN"), ("KAFKA_SASL_USER", "u"), ("KAFKA_SASL_PASSWORD", "p")],
            [("security.protocol", "sasl_plaintext"), ("sasl.mechanism", "PLAIN"), ("sasl.username", "u"), ("sasl.password", "p")]
        },
        {
            [("KAFKA_SASL_MECHANISM", "scram-sha-256"), ("KAFKA_SASL_USER", "u"), ("KAFKA_SASL_PASSWORD", "p"), ("KAFKA_TLS", "true")],
            [("security.protocol", "sasl_ssl"), ("sasl.mechanism", "SCRAM-SHA-256"), ("ssl.ca.location", "probe")]
        },
        {
            [("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512"), ("KAFKA_SASL_USER", "u"), ("KAFKA_SASL_PASSWORD", "p"), ("KAFKA_TLS_CA", Ca)],
            [("security.protocol", "sasl_ssl"), ("sasl.mechanism", "SCRAM-SHA-512"), ("ssl.ca.location", Ca)]
        },
        { [("KAFKA_TLS", "true")], [("security.protocol", "ssl"), ("ssl.ca.location", "probe")] },
        { [("KAFKA_TLS_CA", Ca)], [("security.protocol", "ssl"), ("ssl.ca.location", Ca)] },
        {
            [("KAFKA_TLS_SKIP_VERIFY", "true")],
            [("security.protocol", "ssl"), ("enable.ssl.certificate.verification", "False"), ("ssl.endpoint.identification.algorithm", "none")]
        },
        {
            [("KAFKA_LINGER_MS", "0"), ("KAFKA_PRODUCER_BATCH_MESSAGES", "500"), ("KAFKA_PRODUCER_BATCH_BYTES", "65536"), ("KAFKA_MESSAGE_TIMEOUT_MS", "2000"), ("KAFKA_STATS_INTERVAL_MS", "0")],
            [("linger.ms", "0"), ("batch.num.messages", "500"), ("batch.size", "65536"), ("message.timeout.ms", "2000"), ("request.timeout.ms", "1000"), ("statistics.interval.ms", "0")]
        },
    };

    [Theory]
    [MemberData(nameof(Mappings))]
    public void Settings_map_to_librdkafka_properties((string Key, string Value)[] settings, (string Property, string Value)[] expected)
    {
        var p = Properties(settings);
        foreach (var (property, value) in expected)
        {
            Assert.True(p.TryGetValue(property, out var actual), property + " is not set");
            Assert.Equal(value, actual);
        }
    }

    [Fact]
    public void The_consumer_commits_only_when_told_and_shares_security()
    {
        var o = Load(out var errors, ("KAFKA_BROKERS", "k1:9092"), ("KAFKA_SASL_MECHANISM", "PLAIN"), ("KAFKA_SASL_USER", "u"), ("KAFKA_SASL_PASSWORD", "p"));
        Assert.Empty(errors);
        var c = o.Kafka!.ToConsumerConfig("g1");
        Assert.Equal("g1", c.GroupId);
        Assert.False(c.EnableAutoCommit);
        Assert.False(c.EnableAutoOffsetStore);
        Assert.Equal(AutoOffsetReset.Earliest, c.AutoOffsetReset);
        Assert.Equal(SecurityProtocol.SaslPlaintext, c.SecurityProtocol);
        using (new ConsumerBuilder<byte[], byte[]>(c).Build())
        {
        }
    }

    [Fact]
    public void KAFKA_BROKERS_wins_and_the_AppHost_connection_string_is_the_fallback()
    {
        Assert.Equal("a:1", Load(out _, ("KAFKA_BROKERS", "a:1"), ("ConnectionStrings:kafka", "b:2")).Kafka!.Brokers);
        Assert.Equal("b:2", Load(out var errors, ("ConnectionStrings:kafka", "b:2")).Kafka!.Brokers);
        Assert.Empty(errors);
        Assert.Null(Load(out _, ("OUTPUTS", "log")).Kafka);
    }

    [Theory]
    [InlineData("localhost:9092", "localhost:9092")]
    [InlineData(" a:1 , b:2 ", "a:1,b:2")]
    [InlineData("PLAINTEXT://broker:29092", "broker:29092")]
    [InlineData("[::1]:9092", "[::1]:9092")]
    [InlineData("10.0.0.5:9092,10.0.0.6:9092", "10.0.0.5:9092,10.0.0.6:9092")]
    public void Broker_lists_are_read(string text, string normalized)
    {
        Assert.True(KafkaSettings.TryParseBrokers(text, out var actual));
        Assert.Equal(normalized, actual);
    }

    [Theory]
    [InlineData("KAFKA_BROKERS", null)]
    [InlineData("KAFKA_BROKERS", "localhost")]
    [InlineData("KAFKA_BROKERS", "localhost:0")]
    [InlineData("KAFKA_BROKERS", "localhost:99999")]
    [InlineData("KAFKA_BROKERS", "a b:9092")]
    [InlineData("KAFKA_BROKERS", "::1:9092")]
    [InlineData("KAFKA_TOPIC", "bad topic")]
    [InlineData("KAFKA_TOPIC", "..")]
    [InlineData("KAFKA_TOPIC", "t/x")]
    [InlineData("KAFKA_ACKS", "2")]
    [InlineData("KAFKA_COMPRESSION", "brotli")]
    [InlineData("KAFKA_SASL_MECHANISM", "GSSAPI")]
    [InlineData("KAFKA_TLS", "perhaps")]
    [InlineData("KAFKA_TLS_CA", "/no/such/ca.pem")]
    [InlineData("KAFKA_TLS_SKIP_VERIFY", "2")]
    [InlineData("KAFKA_LINGER_MS", "-1")]
    [InlineData("KAFKA_LINGER_MS", "20000")]
    [InlineData("KAFKA_BATCH_SIZE", "0")]
    [InlineData("KAFKA_PRODUCER_BATCH_MESSAGES", "0")]
    [InlineData("KAFKA_PRODUCER_BATCH_BYTES", "x")]
    [InlineData("KAFKA_MESSAGE_TIMEOUT_MS", "10")]
    [InlineData("KAFKA_MESSAGE_TIMEOUT_MS", "30000")]
    [InlineData("KAFKA_STATS_INTERVAL_MS", "-5")]
    [InlineData("KAFKA_CREATE_TOPIC", "sure")]
    [InlineData("KAFKA_TOPIC_PARTITIONS", "0")]
    [InlineData("KAFKA_TOPIC_REPLICATION", "100")]
    public void Every_bad_value_is_an_error_that_names_the_variable(string key, string? value)
    {
        var settings = new List<(string, string)>();
        if (key != "KAFKA_BROKERS")
        {
            settings.Add(("KAFKA_BROKERS", "k:9092"));
        }

        if (key == "KAFKA_SASL_MECHANISM")
        {
            settings.Add(("KAFKA_SASL_USER", "u"));
            settings.Add(("KAFKA_SASL_PASSWORD", "p"));
        }

        if (value is not null)
        {
            settings.Add((key, value));
        }

        Load(out var errors, [.. settings]);
        var error = Assert.Single(errors);
        Assert.StartsWith(key + ":", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bad_connection_string_is_named_but_not_echoed()
    {
        Load(out var errors, ("ConnectionStrings:kafka", "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKey=s3cr3t"));
        var error = Assert.Single(errors);
        Assert.StartsWith("ConnectionStrings:kafka:", error, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cr3t", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_long_topic_is_refused()
    {
        Load(out var errors, ("KAFKA_BROKERS", "k:1"), ("KAFKA_TOPIC", new string('t', 250)));
        Assert.StartsWith("KAFKA_TOPIC:", Assert.Single(errors), StringComparison.Ordinal);
    }

    [Fact]
    public void SASL_needs_its_three_settings_and_never_echoes_the_password()
    {
        Load(out var errors, ("KAFKA_BROKERS", "k:1"), ("KAFKA_SASL_MECHANISM", "PLAIN"));
        Assert.Equal(["KAFKA_SASL_USER", "KAFKA_SASL_PASSWORD"], errors.Select(e => e.Split(':')[0]));

        Load(out errors, ("KAFKA_BROKERS", "k:1"), ("KAFKA_SASL_USER", "u"), ("KAFKA_SASL_PASSWORD", "hunter2-secret"));
        Assert.StartsWith("KAFKA_SASL_MECHANISM:", Assert.Single(errors), StringComparison.Ordinal);
        Assert.DoesNotContain(errors, e => e.Contains("hunter2", StringComparison.Ordinal));
    }

    [Fact]
    public void Broker_list_parsing_never_throws_and_accepts_what_it_printed()
    {
        Gen.String.Sample(text =>
        {
            if (KafkaSettings.TryParseBrokers(text, out var normalized))
            {
                Assert.True(KafkaSettings.TryParseBrokers(normalized, out var again));
                Assert.Equal(normalized, again);
            }
        }, iter: 20_000);

        var host = Gen.Select(Gen.Char['a', 'z'].Array[1, 12], Gen.Int[0, 3], (c, d) => new string(c) + (d == 0 ? "" : ".example"));
        var entry = Gen.Select(host, Gen.Int[1, 65535], (h, p) => $"{h}:{p}");
        entry.Array[1, 5].Sample(entries =>
        {
            Assert.True(KafkaSettings.TryParseBrokers(string.Join(" , ", entries), out var normalized));
            Assert.Equal(string.Join(',', entries), normalized);
        }, iter: 5_000);
    }

    [Fact]
    public void Topic_names_follow_kafkas_rule()
    {
        Gen.String.Sample(text =>
        {
            var valid = KafkaSettings.IsValidTopic(text);
            var expected = text.Length is > 0 and <= 249 && text is not ("." or "..")
                && text.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');
            Assert.Equal(expected, valid);
        }, iter: 20_000);
    }
}
