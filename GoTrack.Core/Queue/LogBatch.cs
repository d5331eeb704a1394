using GoTrack.Core.Events;

namespace GoTrack.Core.Queue;

/// <summary>A run of consecutive records handed to one sink, identified by its position in the log.</summary>
public sealed class LogBatch(long start, Record[] items, int count)
{
    public static readonly LogBatch Empty = new(0, [], 0);

    /// <summary>The log position of the first record.</summary>
    public long Start { get; } = start;

    public int Count { get; } = count;

    public bool IsEmpty => Count == 0;

    public ReadOnlyMemory<Record> Records => new(items, 0, Count);

    /// <summary>The log position just after the last record.</summary>
    public long End => Start + Count;

    internal Record[] Buffer => items;
}
