using GoTrack.Core.Sinks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace GoTrack.Ingest.Health;

/// <summary>
/// /readyz for one sink. Readiness means "this instance can take events": while the log has room it can,
/// so a failing or unreachable sink is <see cref="HealthStatus.Degraded"/> (the answer stays 200) until
/// it has been so for longer than READY_SINK_GRACE_MS. Every replica shares the same Kafka and Postgres;
/// turning not ready at their first hiccup would take all of them out of the load balancer at once.
/// The description says what an operator needs (failing for how long, the backlog) and never carries
/// exception text, host names or connection strings: those go to the logs.
/// </summary>
public sealed class SinkHealthCheck(EventPipeline pipeline, string sinkName, TimeSpan grace) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var runner = pipeline.Runner(sinkName);
        // The sinks' own checks describe themselves without internals (the probes name a table or topic
        // and an error code at most), so their words are passed on.
        var own = await runner.Sink.CheckHealthAsync(cancellationToken).ConfigureAwait(false);
        runner.NoteReachable(own.Status == HealthStatus.Healthy);
        var backlog = $"{runner.Reader.Pending} events ({runner.Reader.PendingBytes} bytes) waiting";
        if (runner.FailingFor is { } failing)
        {
            return Judge(failing, $"writes failing for {failing.TotalSeconds:0} s; {backlog}");
        }

        if (runner.UnreachableFor is { } unreachable)
        {
            return Judge(unreachable, $"not reachable for {unreachable.TotalSeconds:0} s ({own.Description}); {backlog}");
        }

        return HealthCheckResult.Healthy($"reachable; {backlog}");
    }

    private HealthCheckResult Judge(TimeSpan howLong, string description) => howLong >= grace
        ? HealthCheckResult.Unhealthy(description + " (past READY_SINK_GRACE_MS)")
        : HealthCheckResult.Degraded(description);
}
