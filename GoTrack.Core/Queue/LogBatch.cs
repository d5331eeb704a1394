using GoTrack.Core.Events;

namespace GoTrack.Core.Queue;

/// <summary>A run of consecutive records handed to one sink, identified by its range of log positions.</summary>
public sealed class LogBatch(long start, Record[] items, int count, long end, long bytes)
{
    public static readonly LogBatch Empty = new(0, [], 0, 0, 0);

    /// <summary>The log position of the first record.</summary>
    public long Start { get; } = start;

    public int Count { get; } = count;

    public bool IsEmpty => Count == 0;

    public ReadOnlyMemory<Record> Records => new(items, 0, Count);

    /// <summary>
    /// The log position just after the last record. In the memory log that is Start + Count; the
    /// write-ahead log may skip positions that never reached the disk (a failed fsync answered 503).
    /// </summary>
    public long End { get; } = end;

    /// <summary>The bytes these records take in the log, for the per-sink backlog in bytes.</summary>
    public long Bytes { get; } = bytes;

    internal Record[] Buffer => items;
}
