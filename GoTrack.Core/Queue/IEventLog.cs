using GoTrack.Core.Events;

namespace GoTrack.Core.Queue;

/// <summary>
/// One bounded log of records with a cursor per sink. Intake appends; each sink reads at its own pace
/// and releases what it has delivered. Space is reclaimed once every sink has released it, so a slow
/// sink never stalls the others until the log is full, and then intake is refused, never dropped.
/// </summary>
/// <remarks>
/// Two implementations share this contract: <see cref="MemoryEventLog"/> (ACK_MODE=memory: an accepted
/// append is in memory) and the write-ahead log (ACK_MODE=wal: an accepted append is fsynced), which
/// completes its <see cref="AppendAsync(Record, CancellationToken)"/> only after the group commit.
/// </remarks>
public interface IEventLog
{
    /// <summary>Appends one record.</summary>
    ValueTask<AppendResult> AppendAsync(Record record, CancellationToken cancellationToken);

    /// <summary>Appends all of <paramref name="records"/> or none of them.</summary>
    ValueTask<AppendResult> AppendAsync(ReadOnlyMemory<Record> records, CancellationToken cancellationToken);

    /// <summary>
    /// Opens the cursor of one sink. All readers must be opened before the first append.
    /// <paramref name="syncOutput"/>, when the sink's writes can sit in the OS's cache (a file), makes them
    /// durable: a durable log calls it before it saves this sink's cursor and frees nothing the saved cursors
    /// do not cover. The memory log has nothing to keep and ignores it.
    /// </summary>
    ILogReader OpenReader(string sinkName, Action? syncOutput = null);

    /// <summary>Stops intake. Readers still get everything appended before, then an empty batch.</summary>
    void Complete();

    /// <summary>A snapshot of how full the log is.</summary>
    LogUsage Usage { get; }

    /// <summary>
    /// Whether an accepted append survives the process (ACK_MODE=wal). A durable log is not drained at
    /// shutdown: what a sink has not taken is delivered on the next start.
    /// </summary>
    bool IsDurable { get; }

    /// <summary>Writes every reader's position where the next start finds it (a no-op for the memory log).</summary>
    void Checkpoint();
}
