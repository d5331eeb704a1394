using GoTrack.Core.Events;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace GoTrack.Core.Sinks;

/// <summary>A destination for records: the NDJSON file, a Kafka topic, a Postgres table.</summary>
public interface IEventSink
{
    /// <summary>The sink's name as written in OUTPUTS (<c>log</c>, <c>kafka</c>, <c>postgres</c>).</summary>
    string Name { get; }

    /// <summary>How many batches may be in flight at once; the runner takes the smaller of this and WORKER_CONCURRENCY.</summary>
    int MaxConcurrency { get; }

    /// <summary>
    /// Delivers every record of the batch, or throws. A batch that threw is retried whole, so a sink
    /// must tolerate seeing records again (the NDJSON sink rolls back a failed batch; the others dedupe
    /// on event_id).
    /// </summary>
    ValueTask WriteBatchAsync(ReadOnlyMemory<Record> batch, CancellationToken cancellationToken);

    /// <summary>Whether the sink's destination is reachable now, for /readyz.</summary>
    ValueTask<HealthCheckResult> CheckHealthAsync(CancellationToken cancellationToken);
}
