using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// What every GoTrack service gets: OpenTelemetry (logs, metrics, traces; OTLP when
/// OTEL_EXPORTER_OTLP_ENDPOINT is set, as the Aspire dashboard sets it), Prometheus text on /metrics,
/// /healthz and /readyz, service discovery and resilient HttpClients. Mapped in every environment,
/// not only Development: a collector is probed and scraped in production.
/// </summary>
public static class Extensions
{
    public const string HealthPath = "/healthz";
    public const string ReadyPath = "/readyz";
    public const string MetricsPath = "/metrics";

    /// <summary>Health checks with this tag run on /healthz (is the process alive).</summary>
    public const string LiveTag = "live";

    /// <summary>Health checks with this tag run on /readyz (should it get traffic).</summary>
    public const string ReadyTag = "ready";

    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder, params string[] meterAndSourceNames)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.ConfigureOpenTelemetry(meterAndSourceNames);
        builder.AddDefaultHealthChecks();
        builder.Services.AddServiceDiscovery();
        builder.Services.ConfigureHttpClientDefaults(http =>
        {
            http.AddStandardResilienceHandler();
            http.AddServiceDiscovery();
        });
        return builder;
    }

    public static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder, params string[] meterAndSourceNames)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);

        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });

        // Named after the service unless OTEL_SERVICE_NAME says otherwise (the AppHost sets it): without
        // this the SDK calls it unknown_service:<process> wherever nothing set the variable.
        var named = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_SERVICE_NAME"]);
        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource =>
            {
                if (!named)
                {
                    resource.AddService(builder.Environment.ApplicationName);
                }
            })
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddMeter(meterAndSourceNames)
                .AddPrometheusExporter());

        // Traces are only recorded when there is somewhere to send them: an ASP.NET Core span per
        // request costs allocations on the pixel path, and without an exporter nobody reads it.
        if (otlp)
        {
            otel.WithTracing(tracing => tracing
                .AddSource(builder.Environment.ApplicationName)
                .AddSource(meterAndSourceNames)
                .AddAspNetCoreInstrumentation(o => o.Filter = ctx => !IsOperationsPath(ctx.Request.Path))
                .AddHttpClientInstrumentation());
            otel.UseOtlpExporter();
        }

        return builder;
    }

    public static TBuilder AddDefaultHealthChecks<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy(), [LiveTag]);
        return builder;
    }

    /// <summary>Maps /healthz (checks tagged live), /readyz (checks tagged ready) and /metrics.</summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapHealthChecks(HealthPath, new HealthCheckOptions
        {
            Predicate = r => r.Tags.Contains(LiveTag),
            ResponseWriter = WriteHealthJson,
        });
        app.MapHealthChecks(ReadyPath, new HealthCheckOptions
        {
            Predicate = r => r.Tags.Contains(ReadyTag),
            ResponseWriter = WriteHealthJson,
        });
        app.MapPrometheusScrapingEndpoint(MetricsPath);
        return app;
    }

    /// <summary>
    /// OPS_ADDR: /healthz, /readyz and /metrics answer only on the management port, and everything else only
    /// off it (404), so the public port serves intake alone. Decided by the port the connection arrived on,
    /// never by the Host header, which the client writes.
    /// </summary>
    /// <param name="moreOperationsPaths">Other paths that belong to operators (a debugger page, the API description).</param>
    public static WebApplication UseOperationsPort(this WebApplication app, int opsPort, params string[] moreOperationsPaths)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(moreOperationsPaths);
        var more = moreOperationsPaths.Select(p => new PathString(p)).ToArray();
        app.Use((context, next) =>
        {
            var path = context.Request.Path;
            var operations = IsOperationsPath(path) || Array.Exists(more, p => path.StartsWithSegments(p));
            if ((context.Connection.LocalPort == opsPort) != operations)
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            }

            return next(context);
        });
        return app;
    }

    private static bool IsOperationsPath(PathString path) =>
        path.StartsWithSegments(HealthPath) || path.StartsWithSegments(ReadyPath) || path.StartsWithSegments(MetricsPath);

    /// <summary>
    /// An operator's view of the checks: each check's status and description, as JSON. Never an exception's
    /// text: health answers may be seen by more people than the logs.
    /// </summary>
    private static Task WriteHealthJson(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("status", report.Status.ToString());
            json.WriteStartObject("checks");
            foreach (var (name, entry) in report.Entries)
            {
                json.WriteStartObject(name);
                json.WriteString("status", entry.Status.ToString());
                if (entry.Exception is { } error)
                {
                    // The check threw (or handed an exception back): the health service made its message the
                    // description, and a message can name a host or carry a connection string. The type only;
                    // the health service logs the exception itself.
                    json.WriteString("description", "check failed (" + error.GetType().Name + "); see the log");
                }
                else if (entry.Description is not null)
                {
                    json.WriteString("description", entry.Description);
                }

                json.WriteEndObject();
            }

            json.WriteEndObject();
            json.WriteEndObject();
        }

        return context.Response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length)).AsTask();
    }
}
