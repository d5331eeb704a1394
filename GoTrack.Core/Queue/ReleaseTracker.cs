using System.Buffers;
using GoTrack.Core.Events;

namespace GoTrack.Core.Queue;

/// <summary>
/// One reader's released position. Batches may be released in any order (several are in flight);
/// the position moves only over a contiguous run, so space is freed in log order. Callers hold the log's lock.
/// </summary>
internal sealed class ReleaseTracker(long position, long bytes)
{
    private readonly List<LogBatch> _ahead = [];

    /// <summary>Every position before this one is released.</summary>
    public long Position { get; private set; } = position;

    /// <summary>Log bytes released so far (counted from the log's own origin), for the backlog in bytes.</summary>
    public long Bytes { get; private set; } = bytes;

    public void Release(LogBatch batch)
    {
        if (batch.Start != Position)
        {
            _ahead.Add(batch);
            return;
        }

        Advance(batch);
        bool advanced;
        do
        {
            advanced = false;
            for (var i = 0; i < _ahead.Count; i++)
            {
                if (_ahead[i].Start == Position)
                {
                    var next = _ahead[i];
                    _ahead.RemoveAt(i);
                    Advance(next);
                    advanced = true;
                    break;
                }
            }
        }
        while (advanced);
    }

    private void Advance(LogBatch batch)
    {
        Position = batch.End;
        Bytes += batch.Bytes;
        if (batch.Buffer.Length > 0)
        {
            ArrayPool<Record>.Shared.Return(batch.Buffer, clearArray: true);
        }
    }
}
