namespace GoTrack.Core.Sinks;

/// <summary>
/// A sink whose writes can sit in the OS's cache after <see cref="IEventSink.WriteBatchAsync"/> returns (a
/// file). A durable log (ACK_MODE=wal) calls <see cref="SyncOutput"/> before it saves the sink's cursor, and
/// frees no segment the saved cursors do not cover, so what it releases is on disk in the sink's output too.
/// Kafka (acks=all) and Postgres (a commit) are durable when their write returns and need no such step.
/// </summary>
public interface IOutputSync
{
    /// <summary>Makes everything written so far durable. Called from the log's maintenance thread.</summary>
    void SyncOutput();
}
