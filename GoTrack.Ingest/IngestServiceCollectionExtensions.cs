using GoTrack.Core.Kafka;
using GoTrack.Core.Postgres;
using GoTrack.Core.Sinks;
using GoTrack.Core.Telemetry;
using GoTrack.Ingest.Configuration;
using GoTrack.Ingest.Endpoints;
using GoTrack.Ingest.Enrichment;
using GoTrack.Ingest.Health;
using GoTrack.Ingest.Intake;
using GoTrack.Ingest.Privacy;
using GoTrack.Ingest.Session;
using GoTrack.Ingest.Tracker;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace GoTrack.Ingest;

public static class IngestServiceCollectionExtensions
{
    /// <summary>
    /// Reads and validates the settings, then registers the log, the sinks named in OUTPUTS, the
    /// endpoints and their health checks. Throws <see cref="OptionsValidationException"/> listing every
    /// bad variable when the settings are wrong.
    /// </summary>
    public static IngestOptions AddGoTrackIngest(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = IngestSettings.Load(builder.Configuration, out var errors);
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(nameof(IngestOptions), typeof(IngestOptions), errors);
        }

        var services = builder.Services;
        services.AddSingleton(options);
        services.Configure<HostOptions>(h => h.ShutdownTimeout = options.Runner.ShutdownTimeout);
        services.AddEventPipeline(options.Log, options.Runner, options.Outputs, options.Wal);
        foreach (var output in options.Outputs)
        {
            switch (output)
            {
                case NdjsonFileSink.SinkName:
                    services.AddSingleton(options.Ndjson);
                    services.AddSingleton<IEventSink, NdjsonFileSink>();
                    break;
                case KafkaEventSink.SinkName:
                    // The sink's own health check (sink-kafka, below) asks the metadata probe.
                    builder.AddGoTrackKafkaProducer(options.Kafka!);
                    services.AddSingleton<IEventSink, KafkaEventSink>();
                    break;
                case PostgresSink.SinkName:
                    builder.AddPostgresEventSink(options.Postgres);
                    break;
            }
        }

        services.AddSingleton(sp => new SessionCookie(
            options.Cookie, sp.GetRequiredService<PrivacyPolicy>().Key ?? new DailyKey(options.Privacy.IpHashSecret)));
        AddPrivacy(services, options.Privacy);
        services.AddSingleton(sp => new Debugging.DebugFeed(options.DebugUi, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<EventIntake>();
        services.AddSingleton(sp => new IntakeRateLimits(
            options.RateLimitIpPerSecond, options.RateLimitKeyPerSecond, options.WriteKeys.Keys, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<IntakeGate>();
        services.AddSingleton<PixelEndpoint>();
        services.AddSingleton<CollectEndpoint>();
        services.AddSingleton<Segment.SegmentEndpoint>();
        services.AddOpenApi(o => o.AddDocumentTransformer<OpenApiDescription>());
        services.AddSingleton(TrackerScript.Build(options.Paths, options.Privacy));
        services.AddSingleton<TrackerEndpoint>();

        var health = services.AddHealthChecks()
            .AddCheck<LogHeadroomHealthCheck>("log-headroom", tags: [Extensions.ReadyTag])
            .AddCheck<StoppingHealthCheck>("stopping", tags: [Extensions.ReadyTag]);
        foreach (var output in options.Outputs)
        {
            health.Add(new HealthCheckRegistration(
                "sink-" + output,
                sp => new SinkHealthCheck(sp.GetRequiredService<EventPipeline>(), output, options.ReadySinkGrace),
                HealthStatus.Unhealthy,
                [Extensions.ReadyTag]));
        }

        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);

        // ASP.NET Core opens a logging scope per request whenever this category is enabled at any level,
        // which costs allocations on every pixel. Its request lines are Information anyway; unhandled
        // request exceptions are logged by Kestrel's own category, which stays on.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        builder.Logging.AddFilter("Polly", LogLevel.Error);
        return options;
    }

    /// <summary>The privacy policy, with the GeoIP database and its reloader when GEOIP_DB is set.</summary>
    private static void AddPrivacy(IServiceCollection services, PrivacyOptions privacy)
    {
        services.AddSingleton(privacy);
        if (privacy.GeoIpPath is { } path)
        {
            services.AddSingleton(sp =>
            {
                var lookup = new GeoIpLookup(path);
                PrivacyLog.GeoIpLoaded(sp.GetRequiredService<ILogger<GeoIpLookup>>(), path, lookup.DatabaseType, lookup.BuildDate);
                return lookup;
            });
            services.AddSingleton(sp => new GeoIpReloader(
                sp.GetRequiredService<GeoIpLookup>(), privacy.GeoIpReloadInterval, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<GeoIpReloader>>()));
            services.AddHostedService(sp => sp.GetRequiredService<GeoIpReloader>());
        }

        services.AddSingleton(sp =>
        {
            var policy = new PrivacyPolicy(privacy, null, sp.GetService<GeoIpLookup>());
            if (policy.Key is { IsRandomSecret: true })
            {
                PrivacyLog.RandomSecret(sp.GetRequiredService<ILogger<PrivacyPolicy>>());
            }

            return policy;
        });
    }

    /// <summary>
    /// Maps the intake endpoints, under their own paths and their aliases (PIXEL_PATHS, COLLECT_PATHS), and
    /// the tracker script. Each takes every method and answers 405 itself, with a JSON body.
    /// </summary>
    /// <remarks>
    /// The intake endpoints are left out of ASP.NET Core's http.server.request.duration: gotrack_requests_total
    /// and gotrack_ingest_latency_seconds (the seed's names, by endpoint and code) measure them already, and
    /// recording both cost a second histogram update with six tags on every pixel.
    /// </remarks>
    public static WebApplication MapGoTrackIngest(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var paths = app.Services.GetRequiredService<IngestOptions>().Paths;
        var pixel = app.Services.GetRequiredService<PixelEndpoint>();
        var collect = app.Services.GetRequiredService<CollectEndpoint>();
        foreach (var path in (IEnumerable<string>)[PixelEndpoint.Path, .. paths.PixelAliases])
        {
            app.Map(path, pixel.HandleAsync).DisableHttpMetrics();
        }

        foreach (var path in (IEnumerable<string>)[CollectEndpoint.Path, .. paths.CollectAliases])
        {
            app.Map(path, collect.HandleAsync).DisableHttpMetrics();
        }

        var script = app.Services.GetRequiredService<TrackerScript>();
        var tracker = app.Services.GetRequiredService<TrackerEndpoint>();
        app.Map(script.Path, tracker.ServeStableAsync);
        app.Map(script.HashedRoute, tracker.ServeHashedAsync);
        TrackerLog.Served(app.Logger, script.Path, script.HashedPath, script.Bytes.Length);
        app.Map(Segment.SegmentEndpoint.Pattern, app.Services.GetRequiredService<Segment.SegmentEndpoint>().HandleAsync).DisableHttpMetrics();
        app.MapOpenApi(); // /openapi/v1.json, on the management port when OPS_ADDR is set
        var debug = app.Services.GetRequiredService<Debugging.DebugFeed>();
        if (debug.Enabled)
        {
            Debugging.DebugPage.Map(app, debug);
        }

        return app;
    }

    /// <summary>Paths that belong on the management port (OPS_ADDR) beside /healthz, /readyz and /metrics.</summary>
    public static readonly string[] OperationsPaths = [Debugging.DebugPage.Path, "/openapi"];

    /// <summary>Meters and activity sources to export; "Npgsql" is Npgsql's own (command spans and connection-pool metrics).</summary>
    internal static string[] TelemetryNames => [GoTrackMetrics.MeterName, GoTrackActivity.SinksSourceName, KafkaTelemetry.MeterName, KafkaTelemetry.SourceName, "Npgsql"];
}
