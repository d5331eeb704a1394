using GoTrack.Core.Events;
using GoTrack.Core.Queue;
using GoTrack.Core.Sinks;
using GoTrack.Core.Telemetry;

namespace GoTrack.Ingest.Intake;

/// <summary>Appends accepted events to the log and counts every outcome in <c>gotrack_events_total</c>.</summary>
public sealed class EventIntake(EventPipeline pipeline, GoTrackMetrics metrics, Debugging.DebugFeed debug)
{
    private readonly IEventLog _log = pipeline.Log;

    public GoTrackMetrics Metrics => metrics;

    /// <summary>The live debugger's feed (DEBUG_UI); a no-op when it is off.</summary>
    public Debugging.DebugFeed Debug => debug;

    public async ValueTask<AppendResult> AppendAsync(Record record, CancellationToken cancellationToken, string endpoint = "pixel")
    {
        var result = await _log.AppendAsync(record, cancellationToken).ConfigureAwait(false);
        Count(result, 1);
        if (result == AppendResult.Accepted && debug.Enabled)
        {
            debug.Stored(endpoint, [record]);
        }

        return result;
    }

    public async ValueTask<AppendResult> AppendAsync(ReadOnlyMemory<Record> records, CancellationToken cancellationToken, string endpoint = "collect")
    {
        var result = await _log.AppendAsync(records, cancellationToken).ConfigureAwait(false);
        Count(result, records.Length);
        if (result == AppendResult.Accepted && debug.Enabled)
        {
            debug.Stored(endpoint, records.Span);
        }

        return result;
    }

    /// <summary>Counts events not stored under <paramref name="outcome"/> and shows them in the debugger with the reason.</summary>
    public void Refused(string endpoint, string outcome, string? reason, int count = 1)
    {
        metrics.Events(outcome, count);
        debug.Refused(endpoint, outcome, reason, count);
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
