namespace GoTrack.Core.Queue;

/// <summary>One sink's cursor into the <see cref="IEventLog"/>.</summary>
public interface ILogReader
{
    string SinkName { get; }

    /// <summary>
    /// Waits for records after the cursor and hands out the next batch: <paramref name="maxCount"/> records,
    /// or fewer once <paramref name="linger"/> has passed since the first one was there. Returns an empty
    /// batch only when the log is complete and this reader has been handed everything.
    /// Batches may be read ahead of release, so several can be in flight at once.
    /// </summary>
    ValueTask<LogBatch> ReadBatchAsync(int maxCount, TimeSpan linger, CancellationToken cancellationToken);

    /// <summary>Marks a batch delivered. Batches may be released in any order; space frees in log order.</summary>
    void Release(LogBatch batch);

    /// <summary>Records appended but not yet released by this reader (its queue depth).</summary>
    long Pending { get; }

    /// <summary>The bytes of those records in the log (JSON bytes in memory; record bytes on disk).</summary>
    long PendingBytes { get; }

    /// <summary>
    /// Before the first read: if the records about to be delivered again begin with the last ones the sink
    /// wrote (<paramref name="writtenTail"/>, the event_ids of its last lines, oldest first), moves the
    /// cursor past them and returns how many were passed over. The NDJSON sink uses this so a restart does
    /// not write lines twice.
    /// </summary>
    long SkipThrough(IReadOnlyList<Guid> writtenTail);
}
