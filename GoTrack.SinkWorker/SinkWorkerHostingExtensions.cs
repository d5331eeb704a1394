using Confluent.Kafka;
using GoTrack.Core.Kafka;
using GoTrack.Core.Postgres;
using GoTrack.Core.Sinks;
using GoTrack.Core.Telemetry;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Polly;

namespace GoTrack.SinkWorker;

public static partial class SinkWorkerHostingExtensions
{
    /// <summary>
    /// Reads and validates the settings, then registers the consumer, the dead-letter producer, the
    /// Postgres writer, the named resilience pipelines, the worker and the readiness checks (Kafka and
    /// Postgres). Throws <see cref="OptionsValidationException"/> listing every bad variable.
    /// </summary>
    public static SinkWorkerOptions AddGoTrackSinkWorker(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = SinkWorkerSettings.Load(builder.Configuration, out var errors);
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(nameof(SinkWorkerOptions), typeof(SinkWorkerOptions), errors);
        }

        var services = builder.Services;
        services.AddSingleton(options);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<SinkWorkerMetrics>();
        services.AddHostedService<ZeroSeries>();
        services.AddSingleton<RebalanceHooks>();
        services.Configure<HostOptions>(h => h.ShutdownTimeout = options.Resilience.ShutdownTimeout + TimeSpan.FromSeconds(5));

        builder.AddGoTrackKafkaConsumer(options.Kafka, options.GroupId, "kafka", [Extensions.ReadyTag], (sp, consumer) =>
        {
            var hooks = sp.GetRequiredService<RebalanceHooks>();
            consumer.SetPartitionsRevokedHandler((_, partitions) => hooks.Revoked?.Invoke(partitions));
        });
        builder.AddGoTrackKafkaProducer(options.Kafka, alsoCreate: [options.DeadLetterTopic]);
        services.AddSingleton(sp => new DeadLetterFile(options.DeadLetterFallbackPath, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<DeadLetterTopic>();

        // Poison can only be set aside if the dead-letter topic is there: not ready without it.
        // Made once (the health service calls a registration's factory on every check): a probe owns a native client.
        // Over the current producer's connections, as the producer is replaced after a fatal error.
        services.AddKeyedSingleton(DeadLetterTopic.ProbeKey, (sp, _) =>
        {
            var producers = sp.GetRequiredService<KafkaProducerHost>();
            return new KafkaMetadataProbe(() => producers.Admin, options.DeadLetterTopic, KafkaMetadataProbe.DefaultTimeout);
        });
        services.AddHealthChecks().Add(new HealthCheckRegistration(
            "kafka-dlq", sp => sp.GetRequiredKeyedService<KafkaMetadataProbe>(DeadLetterTopic.ProbeKey), HealthStatus.Unhealthy, [Extensions.ReadyTag]));

        builder.AddPostgresEventWriter(options.Postgres);
        services.AddHealthChecks().Add(new HealthCheckRegistration(
            "postgres", sp => new PostgresHealthCheck(sp.GetRequiredService<PostgresEventWriter>()), HealthStatus.Unhealthy, [Extensions.ReadyTag]));

        services.AddResiliencePipeline(KafkaToPostgresWorker.WritePipeline, (pipeline, context) =>
            pipeline.AddSinkStrategies(options.Resilience, OnRetry(context.ServiceProvider), SinkResilience.BatchSinkBreaker(options.Resilience)));
        services.AddResiliencePipeline(KafkaToPostgresWorker.DeadLetterPipeline, (pipeline, context) =>
            pipeline.AddSinkStrategies(options.Resilience, OnRetry(context.ServiceProvider)));

        services.AddSingleton<KafkaToPostgresWorker>();
        services.AddHostedService(sp => sp.GetRequiredService<KafkaToPostgresWorker>());

        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Polly", LogLevel.Error);
        return options;
    }

    private static Func<Polly.Retry.OnRetryArguments<object>, ValueTask> OnRetry(IServiceProvider services)
    {
        var metrics = services.GetRequiredService<SinkWorkerMetrics>();
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("GoTrack.SinkWorker.Retry");
        var throttle = new LogThrottle(TimeProvider.System, TimeSpan.FromSeconds(10));
        return args =>
        {
            metrics.Retry();
            if (throttle.ShouldLog(out var suppressed))
            {
                LogRetry(logger, args.AttemptNumber + 1, args.RetryDelay.TotalMilliseconds, suppressed, args.Outcome.Exception);
            }

            return ValueTask.CompletedTask;
        };
    }

    /// <summary>Meters and activity sources to export; "Npgsql" is Npgsql's own (command spans and pool metrics).</summary>
    internal static string[] TelemetryNames =>
        [SinkWorkerMetrics.MeterName, KafkaTelemetry.MeterName, KafkaTelemetry.SourceName, "Npgsql"];

    [LoggerMessage(EventId = 410, Level = LogLevel.Error, Message = "Writing a batch failed (attempt {Attempt}); retrying in {DelayMs:F0} ms. Its offsets stay uncommitted. {Suppressed} more since the last line.")]
    private static partial void LogRetry(ILogger logger, int attempt, double delayMs, long suppressed, Exception? error);
}
