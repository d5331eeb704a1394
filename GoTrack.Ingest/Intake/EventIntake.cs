using GoTrack.Core.Events;
using GoTrack.Core.Queue;
using GoTrack.Core.Sinks;
using GoTrack.Core.Telemetry;

namespace GoTrack.Ingest.Intake;

/// <summary>Appends accepted events to the log and counts every outcome in <c>gotrack_events_total</c>.</summary>
public sealed class EventIntake(EventPipeline pipeline, GoTrackMetrics metrics)
{
    private readonly IEventLog _log = pipeline.Log;

    public GoTrackMetrics Metrics => metrics;

    public async ValueTask<AppendResult> AppendAsync(Record record, CancellationToken cancellationToken)
    {
        var result = await _log.AppendAsync(record, cancellationToken).ConfigureAwait(false);
        Count(result, 1);
        return result;
    }

    public async ValueTask<AppendResult> AppendAsync(ReadOnlyMemory<Record> records, CancellationToken cancellationToken)
    {
        var result = await _log.AppendAsync(records, cancellationToken).ConfigureAwait(false);
        Count(result, records.Length);
        return result;
    }

    private void Count(AppendResult result, int count) => metrics.Events(
        result switch
        {
            AppendResult.Accepted => EventOutcomes.Accepted,
            AppendResult.Full => EventOutcomes.Overload,
            AppendResult.Failed => EventOutcomes.StorageFailed,
            _ => EventOutcomes.Closed,
        },
        count);
}
