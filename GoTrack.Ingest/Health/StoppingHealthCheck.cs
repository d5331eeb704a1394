using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace GoTrack.Ingest.Health;

/// <summary>/readyz: not ready once the server is stopping, so a load balancer sends nothing more here.</summary>
public sealed class StoppingHealthCheck(IHostApplicationLifetime lifetime) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(lifetime.ApplicationStopping.IsCancellationRequested
            ? HealthCheckResult.Unhealthy("stopping")
            : HealthCheckResult.Healthy("running"));
}
