using GoTrack.Core.Sinks;
using GoTrack.Core.Telemetry;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;

namespace GoTrack.Core.Postgres;

/// <summary>
/// The <c>postgres</c> output. A batch is written by <see cref="PostgresEventWriter.WriteIsolatingAsync"/>:
/// transient failures throw, so the runner retries the whole batch (duplicates are skipped by the
/// table's unique event_id); rows Postgres refuses for good go to the dead-letter file with the reason
/// and are counted in <c>gotrack_dead_letters_total{sink="postgres"}</c>, so one bad event never blocks
/// the sink.
/// </summary>
public sealed partial class PostgresSink(
    PostgresEventWriter writer,
    DeadLetterFile deadLetters,
    GoTrackMetrics metrics,
    ILogger<PostgresSink> logger) : IEventSink, IDisposable
{
    public const string SinkName = "postgres";

    public string Name => SinkName;

    /// <summary>Batches are independent transactions and dedupe on event_id, so WORKER_CONCURRENCY decides.</summary>
    public int MaxConcurrency => int.MaxValue;

    public async ValueTask WriteBatchAsync(ReadOnlyMemory<Events.Record> batch, CancellationToken cancellationToken)
    {
        var result = await writer.WriteIsolatingAsync(batch, cancellationToken).ConfigureAwait(false);
        if (result.Rejected.Count > 0)
        {
            // Written (and fsynced) before the batch counts as done: a crash here means the batch is
            // retried and the rows are dead-lettered again, never lost.
            await deadLetters.AppendAsync(Name, result.Rejected, cancellationToken).ConfigureAwait(false);
            metrics.DeadLetters(Name, result.Rejected.Count);
            LogDeadLettered(logger, result.Rejected.Count, deadLetters.FilePath, result.Rejected[0].Error);
        }
    }

    public async ValueTask<HealthCheckResult> CheckHealthAsync(CancellationToken cancellationToken) =>
        await PostgresHealthCheck.ProbeAsync(writer, cancellationToken).ConfigureAwait(false);

    /// <summary>The sink owns its dead-letter file.</summary>
    public void Dispose() => deadLetters.Dispose();

    [LoggerMessage(EventId = 200, Level = LogLevel.Warning,
        Message = "Postgres refused {Count} events for good; they were written to {Path}. First reason: {Reason}")]
    private static partial void LogDeadLettered(ILogger logger, int count, string path, string reason);
}
