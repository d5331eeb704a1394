using GoTrack.Core.Sinks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace GoTrack.Ingest.Health;

/// <summary>
/// /readyz: not ready from 95% full (by events or by bytes), where intake is about to answer 503;
/// degraded, still ready, from 80%, so an operator sees the log filling before anything is refused.
/// </summary>
public sealed class LogHeadroomHealthCheck(EventPipeline pipeline) : IHealthCheck
{
    public const double NotReadyFill = 0.95;
    public const double DegradedFill = 0.80;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var usage = pipeline.Log.Usage;
        // The write-ahead log is bounded by bytes only.
        var events = usage.MaxEvents == long.MaxValue ? $"{usage.Events} events" : $"{usage.Events}/{usage.MaxEvents} events";
        var description = $"{events}, {usage.Bytes}/{usage.MaxBytes} bytes";
        return Task.FromResult(usage.Fill switch
        {
            >= NotReadyFill => HealthCheckResult.Unhealthy("log full: " + description),
            >= DegradedFill => HealthCheckResult.Degraded("log above 80%: " + description),
            _ => HealthCheckResult.Healthy(description),
        });
    }
}
