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
        if (debug.Enabled)
        {
            Show(endpoint, result, [record]);
        }

        return result;
    }

    public async ValueTask<AppendResult> AppendAsync(ReadOnlyMemory<Record> records, CancellationToken cancellationToken, string endpoint = "collect")
    {
        var result = await _log.AppendAsync(records, cancellationToken).ConfigureAwait(false);
        Count(result, records.Length);
        if (debug.Enabled)
        {
            Show(endpoint, result, records.Span);
        }

        return result;
    }

    /// <summary>Counts events not stored under <paramref name="outcome"/> and shows them in the debugger with the reason.</summary>
    public void Refused(string endpoint, string outcome, string? reason, int count = 1)
    {
        metrics.Events(outcome, count);
        debug.Refused(endpoint, outcome, reason, count);
    }

    private void Count(AppendResult result, int count) => metrics.Events(Outcome(result), count);

    /// <summary>The debugger shows the stored events, or the 503 with the reason the client got (full, failing, stopping).</summary>
    private void Show(string endpoint, AppendResult result, ReadOnlySpan<Record> records)
    {
        if (result == AppendResult.Accepted)
        {
            debug.Stored(endpoint, records);
        }
        else
        {
            debug.Refused(endpoint, Outcome(result), Endpoints.HttpAnswers.Unavailable(result), records.Length);
        }
    }

    private static string Outcome(AppendResult result) => result switch
    {
        AppendResult.Accepted => EventOutcomes.Accepted,
        AppendResult.Full => EventOutcomes.Overload,
        AppendResult.Failed => EventOutcomes.StorageFailed,
        _ => EventOutcomes.Closed,
    };
}
