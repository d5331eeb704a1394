using GoTrack.Core.Sinks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace GoTrack.Ingest.Health;

/// <summary>/readyz for one sink: its own reachability check, and whether its current batch keeps failing.</summary>
public sealed class SinkHealthCheck(EventPipeline pipeline, string sinkName) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var runner = pipeline.Runner(sinkName);
        var pending = runner.Reader.Pending;
        if (runner.ConsecutiveFailures > 0)
        {
            return HealthCheckResult.Unhealthy($"{runner.ConsecutiveFailures} failed attempts in a row, {pending} events waiting: {runner.LastError}");
        }

        var own = await runner.Sink.CheckHealthAsync(cancellationToken).ConfigureAwait(false);
        return new HealthCheckResult(own.Status, $"{own.Description}; {pending} events waiting", own.Exception);
    }
}
