using System.Diagnostics.Metrics;
using Confluent.Kafka;
using GoTrack.Core.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GoTrack.Core.Kafka;

/// <summary>
/// GoTrack's Kafka client integration, the small equivalent of Aspire.Confluent.Kafka (not available to
/// us): registers a producer and/or consumer from <see cref="KafkaOptions"/> (which read KAFKA_BROKERS or
/// <c>ConnectionStrings:kafka</c>), routes librdkafka's logs to <see cref="ILogger"/> and its statistics
/// to the <c>GoTrack.Kafka</c> meter, and adds a metadata-request readiness check.
/// </summary>
public static partial class KafkaHostingExtensions
{
    /// <summary>The DI key of the consumer's <see cref="KafkaMetadataProbe"/> (the producer's is unkeyed).</summary>
    public const string ConsumerProbeKey = "gotrack-kafka-consumer";

    /// <summary>Exported as <c>gotrack_kafka_producer_rebuilds_total</c>.</summary>
    public const string RebuildsInstrument = "gotrack.kafka.producer.rebuilds";

    /// <summary>
    /// Registers <c>IProducer&lt;byte[], byte[]&gt;</c> and a <see cref="KafkaMetadataProbe"/> over its
    /// connections. With <paramref name="healthTags"/>, the probe is also a health check named
    /// <paramref name="healthCheckName"/>. With KAFKA_CREATE_TOPIC, the topic (and <paramref name="alsoCreate"/>)
    /// are created at start.
    /// </summary>
    public static IHostApplicationBuilder AddGoTrackKafkaProducer(this IHostApplicationBuilder builder, KafkaOptions options,
        string healthCheckName = "kafka", string[]? healthTags = null, IEnumerable<string>? alsoCreate = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        AddShared(builder, options);
        builder.Services.AddSingleton(sp =>
        {
            var stats = sp.GetRequiredService<KafkaStatistics>();
            var logger = sp.GetRequiredService<ILoggerFactory>().CreateLogger("GoTrack.Kafka.Producer");
            var throttle = new LogThrottle(TimeProvider.System, TimeSpan.FromSeconds(10));
            var host = new KafkaProducerHost(onFatal => new ProducerBuilder<byte[], byte[]>(options.ToProducerConfig())
                .SetStatisticsHandler((_, json) => stats.Post(json))
                .SetLogHandler((_, m) => OnLog(logger, m))
                .SetErrorHandler((_, e) =>
                {
                    OnError(logger, throttle, e, producer: true);
                    if (e.IsFatal)
                    {
                        onFatal();
                    }
                })
                .Build(), logger);

            // An observable counter: exported at 0 from the first scrape, so increase() sees the first rebuild.
            sp.GetRequiredService<IMeterFactory>().Create(KafkaTelemetry.MeterName).CreateObservableCounter(
                RebuildsInstrument, () => (long)host.Rebuilds, "{rebuild}", "Times the Kafka producer was replaced after a fatal error.");
            return host;
        });

        builder.Services.AddSingleton(sp =>
        {
            var host = sp.GetRequiredService<KafkaProducerHost>();
            return new KafkaMetadataProbe(() => host.Admin, options.Topic, KafkaMetadataProbe.DefaultTimeout);
        });
        if (healthTags is not null)
        {
            builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
                healthCheckName, sp => sp.GetRequiredService<KafkaMetadataProbe>(), HealthStatus.Unhealthy, healthTags));
        }

        if (options.CreateTopic)
        {
            string[] topics = [options.Topic, .. alsoCreate ?? []];
            builder.Services.AddHostedService(sp => new KafkaTopicInitializer(options, topics, sp.GetRequiredService<ILogger<KafkaTopicInitializer>>()));
        }

        return builder;
    }

    /// <summary>
    /// Registers <c>IConsumer&lt;byte[], byte[]&gt;</c> in consumer group <paramref name="groupId"/>, with
    /// manual commits. With <paramref name="healthTags"/>, a metadata check over its connections is added
    /// as <paramref name="healthCheckName"/>. The consumer is not subscribed: its loop does that.
    /// <paramref name="configure"/> can add handlers (rebalance callbacks) before it is built.
    /// </summary>
    public static IHostApplicationBuilder AddGoTrackKafkaConsumer(this IHostApplicationBuilder builder, KafkaOptions options, string groupId,
        string healthCheckName = "kafka-consumer", string[]? healthTags = null,
        Action<IServiceProvider, ConsumerBuilder<byte[], byte[]>>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(groupId);
        AddShared(builder, options);
        builder.Services.AddSingleton(sp =>
        {
            var stats = sp.GetRequiredService<KafkaStatistics>();
            var logger = sp.GetRequiredService<ILoggerFactory>().CreateLogger("GoTrack.Kafka.Consumer");
            var throttle = new LogThrottle(TimeProvider.System, TimeSpan.FromSeconds(10));
            var consumer = new ConsumerBuilder<byte[], byte[]>(options.ToConsumerConfig(groupId))
                .SetStatisticsHandler((_, json) => stats.Post(json))
                .SetLogHandler((_, m) => OnLog(logger, m))
                .SetErrorHandler((_, e) => OnError(logger, throttle, e, producer: false));
            configure?.Invoke(sp, consumer);
            return consumer.Build();
        });
        // One probe for the consumer's connections, made once: the health service calls a registration's
        // factory on every check and does not dispose what it returns, and each probe owns a native client.
        builder.Services.AddKeyedSingleton(ConsumerProbeKey, (sp, _) => new KafkaMetadataProbe(
            new DependentAdminClientBuilder(sp.GetRequiredService<IConsumer<byte[], byte[]>>().Handle).Build(),
            options.Topic,
            KafkaMetadataProbe.DefaultTimeout));
        if (healthTags is not null)
        {
            builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
                healthCheckName, sp => sp.GetRequiredKeyedService<KafkaMetadataProbe>(ConsumerProbeKey), HealthStatus.Unhealthy, healthTags));
        }

        return builder;
    }

    private static void AddShared(IHostApplicationBuilder builder, KafkaOptions options)
    {
        builder.Services.TryAddSingleton(options);
        if (!builder.Services.Any(d => d.ServiceType == typeof(KafkaStatistics)))
        {
            builder.Services.AddSingleton<KafkaStatistics>();
            builder.Services.AddHostedService(sp => sp.GetRequiredService<KafkaStatistics>());
        }
    }

    private static void OnLog(ILogger logger, LogMessage m)
    {
        var level = m.Level switch
        {
            SyslogLevel.Emergency or SyslogLevel.Alert or SyslogLevel.Critical => LogLevel.Critical,
            SyslogLevel.Error => LogLevel.Error,
            SyslogLevel.Warning => LogLevel.Warning,
            SyslogLevel.Notice or SyslogLevel.Info => LogLevel.Information,
            _ => LogLevel.Debug,
        };
        LogLibrdkafka(logger, level, m.Name, m.Facility, m.Message);
    }

    private static void OnError(ILogger logger, LogThrottle throttle, Error e, bool producer)
    {
        if (e.IsFatal && producer)
        {
            LogProducerFatal(logger, e.Code, e.Reason);
        }
        else if (e.IsFatal)
        {
            // GoTrack's consumers use no static membership (group.instance.id), the only source of a consumer's fatal errors.
            LogConsumerFatal(logger, e.Code, e.Reason);
        }
        else if (throttle.ShouldLog(out var suppressed))
        {
            LogClientError(logger, e.Code, e.Reason, suppressed);
        }
    }

    [LoggerMessage(EventId = 320, Message = "librdkafka {Client} {Facility}: {Text}")]
    private static partial void LogLibrdkafka(ILogger logger, LogLevel level, string client, string facility, string text);

    [LoggerMessage(EventId = 321, Level = LogLevel.Warning, Message = "Kafka client error {Code}: {Reason}. librdkafka retries by itself. {Suppressed} more since the last line.")]
    private static partial void LogClientError(ILogger logger, ErrorCode code, string reason, long suppressed);

    [LoggerMessage(EventId = 322, Level = LogLevel.Critical, Message = "Kafka producer fatal error {Code}: {Reason}. The producer is replaced before its next send (Ingest's kafka sink, SinkWorker's dead letters); what the broker had not acknowledged is sent again.")]
    private static partial void LogProducerFatal(ILogger logger, ErrorCode code, string reason);

    [LoggerMessage(EventId = 324, Level = LogLevel.Critical, Message = "Kafka consumer fatal error {Code}: {Reason}. The consumer cannot recover: restart the process.")]
    private static partial void LogConsumerFatal(ILogger logger, ErrorCode code, string reason);
}
