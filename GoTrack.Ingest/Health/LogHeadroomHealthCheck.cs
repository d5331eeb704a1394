using GoTrack.Core.Sinks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace GoTrack.Ingest.Health;

/// <summary>
/// /readyz: not ready once the log has no room for another full request (intake would answer 503),
/// degraded (still ready) above 80%, so a load balancer drains traffic away before events are refused.
/// </summary>
public sealed class LogHeadroomHealthCheck(EventPipeline pipeline, Configuration.IngestOptions options) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var usage = pipeline.Log.Usage;
        var description = $"{usage.Events}/{usage.MaxEvents} events, {usage.Bytes}/{usage.MaxBytes} bytes";
        var full = usage.Events + options.MaxBatchEvents > usage.MaxEvents || usage.Bytes + options.MaxBodyBytes > usage.MaxBytes;
        if (full && (usage.Events >= usage.MaxEvents || usage.Bytes >= usage.MaxBytes || usage.Fill > 0.5))
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("log full: " + description));
        }

        return Task.FromResult(usage.Fill > 0.8
            ? HealthCheckResult.Degraded("log above 80%: " + description)
            : HealthCheckResult.Healthy(description));
    }
}
