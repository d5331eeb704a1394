namespace GoTrack.Core.Sinks;

/// <summary>
/// A sink that can tell the last event it holds, so that after a crash the write-ahead log does not hand
/// it again what it already wrote (see <see cref="Queue.ILogReader.SkipThrough"/>). The NDJSON file is one:
/// users tail and count it, and it cannot dedupe on event_id as Postgres does.
/// </summary>
public interface IResumableSink
{
    /// <summary>The event_id of the last whole event in the output, or null when there is none.</summary>
    Guid? LastWrittenEventId();
}
