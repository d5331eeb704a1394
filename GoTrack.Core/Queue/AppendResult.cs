namespace GoTrack.Core.Queue;

/// <summary>What happened to an append. Anything but <see cref="Accepted"/> means nothing was stored.</summary>
public enum AppendResult
{
    /// <summary>Every record is in the log (and, for a disk log, durable).</summary>
    Accepted,

    /// <summary>The log has no room for all of the records; none was stored.</summary>
    Full,

    /// <summary>The log no longer takes records (shutting down).</summary>
    Closed,

    /// <summary>The disk refused the write or its fsync; none of the records was acknowledged.</summary>
    Failed,
}
