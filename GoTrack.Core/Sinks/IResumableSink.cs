namespace GoTrack.Core.Sinks;

/// <summary>
/// A sink that can tell the last event it holds, so that after a crash the write-ahead log does not hand
/// it again what it already wrote (see <see cref="Queue.ILogReader.SkipThrough"/>). The NDJSON file is one:
/// users tail and count it, and it cannot dedupe on event_id as Postgres does.
/// </summary>
public interface IResumableSink
{
    /// <summary>The event_ids of the last (at most <paramref name="max"/>) whole events in the output, oldest first.</summary>
    IReadOnlyList<Guid> LastWrittenEventIds(int max);
}
