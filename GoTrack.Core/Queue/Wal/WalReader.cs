using System.Buffers;
using GoTrack.Core.Events;
using Microsoft.Win32.SafeHandles;

namespace GoTrack.Core.Queue.Wal;

/// <summary>
/// One sink's cursor into the <see cref="WriteAheadLog"/>. It reads the segment files sequentially through
/// its own buffer, up to what the writer has fsynced. Positions are sequence numbers; a batch's range runs
/// from the cursor to just after its last record, so positions that never reached the disk are stepped over.
/// </summary>
internal sealed class WalReader(WriteAheadLog log, string sinkName, long start, long bytesBefore) : ILogReader
{
    private const int BufferSize = 256 * 1024;

    private readonly ReleaseTracker _released = new(start, bytesBefore);
    private TaskCompletionSource? _waiter;
    private long _wakeAt;

    // Owned by the reading task (one ReadBatchAsync at a time).
    private long _readPos = start;
    private WalSegment? _segment;
    private SafeFileHandle? _file;
    private long _offset;
    private byte[] _buffer = [];
    private long _bufferOffset;
    private int _bufferLength;

    public string SinkName { get; } = sinkName;

    /// <summary>Every position before this is released (read under the log's gate).</summary>
    internal long ReleasedPos => _released.Position;

    /// <summary>The position in the last cursors file written (changed under the log's gate); segments are freed by it.</summary>
    internal long PersistedPos { get; set; } = start;

    /// <summary>Makes the sink's output durable before its cursor is saved; null when its writes are durable already.</summary>
    internal Action? SyncOutput { get; init; }

    public long Pending
    {
        get
        {
            lock (log.Gate)
            {
                return Math.Max(0, log.DurableSeq - _released.Position);
            }
        }
    }

    public long PendingBytes
    {
        get
        {
            lock (log.Gate)
            {
                return Math.Max(0, log.DurableBytes - _released.Bytes);
            }
        }
    }

    internal void Wake()
    {
        _waiter?.TrySetResult();
        _waiter = null;
    }

    internal void WakeIfDue(long durableSeq, bool completed)
    {
        if (_waiter is not null && (durableSeq >= _wakeAt || completed))
        {
            Wake();
        }
    }

    public async ValueTask<LogBatch> ReadBatchAsync(int maxCount, TimeSpan linger, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        log.Seal();
        var time = log.Time;
        long lingerStarted = -1;
        while (true)
        {
            Task wait;
            var take = false;
            lock (log.Gate)
            {
                var available = log.DurableSeq - _readPos;
                if (ReaderWait.ShouldTake(available, maxCount, log.Ended, lingerStarted, linger, time))
                {
                    take = true;
                    wait = Task.CompletedTask;
                }
                else if (available <= 0 && log.Ended)
                {
                    return LogBatch.Empty;
                }
                else
                {
                    _wakeAt = available <= 0 ? _readPos + 1 : _readPos + maxCount;
                    _waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    wait = _waiter.Task;
                    if (available > 0 && lingerStarted < 0)
                    {
                        lingerStarted = time.GetTimestamp();
                    }
                }
            }

            if (take)
            {
                var batch = Take(maxCount);
                if (batch.Count > 0)
                {
                    return batch;
                }

                // Only positions without records (a failed write, a skipped corrupt tail): released at once.
                if (batch.End > batch.Start)
                {
                    Release(batch);
                }

                continue;
            }

            await ReaderWait.WaitAsync(wait, lingerStarted, linger, time, cancellationToken).ConfigureAwait(false);
        }
    }

    public void Release(LogBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.End == batch.Start)
        {
            return;
        }

        lock (log.Gate)
        {
            _released.Release(batch);
            log.OnReleased(log.OldestSegmentReleased());
        }
    }

    public long SkipThrough(IReadOnlyList<Guid> writtenTail)
    {
        ArgumentNullException.ThrowIfNull(writtenTail);
        if (writtenTail.Count == 0)
        {
            return 0;
        }

        // The records about to be delivered again, from the cursor on, must begin with what the sink last
        // wrote: the first j+1 of them equal its last j+1 lines, in order. Only then are they passed over.
        // A match on the last id alone is not enough: a client may send one event_id twice.
        var saved = (_readPos, _segment, _offset);
        var ids = new List<Guid>();
        long bytes = 0;
        var bytesAt = new List<long>();
        long found = -1;
        var count = 0;
        try
        {
            while (ids.Count < writtenTail.Count && NextRecord(out var record, out var seq))
            {
                ids.Add(WalRecordFormat.EventIdOf(record));
                bytes += record.Length;
                bytesAt.Add(bytes);
                if (ids[^1] == writtenTail[^1] && EndsWith(writtenTail, ids))
                {
                    found = seq;
                    count = ids.Count;
                    break;
                }
            }
        }
        finally
        {
            // Scanning only looks: the cursor is set below, from the saved state, or not at all.
            (_readPos, _segment, _offset) = saved;
            CloseFile();
        }

        if (found < 0)
        {
            return 0;
        }

        var skipped = new LogBatch(_readPos, [], 0, found + 1, bytesAt[count - 1]);
        _readPos = found + 1;
        _segment = null;
        lock (log.Gate)
        {
            _released.Release(skipped);
        }

        return count;
    }

    private static bool EndsWith(IReadOnlyList<Guid> tail, List<Guid> head)
    {
        if (head.Count > tail.Count)
        {
            return false;
        }

        var offset = tail.Count - head.Count;
        for (var i = 0; i < head.Count; i++)
        {
            if (tail[offset + i] != head[i])
            {
                return false;
            }
        }

        return true;
    }

    private LogBatch Take(int maxCount)
    {
        var start = _readPos;
        var saved = (_readPos, _segment, _offset);
        Record[]? items = null;
        var count = 0;
        long bytes = 0;
        try
        {
            while (count < maxCount && NextRecord(out var record, out var seq))
            {
                items ??= ArrayPool<Record>.Shared.Rent(maxCount);
                items[count++] = WalRecordFormat.Materialize(record);
                bytes += record.Length;
                _readPos = seq + 1;
            }
        }
        catch
        {
            // A read error part way: nothing of this batch was handed out, so the cursor goes back to
            // where it was and the retry reads the same records (else they would be released unread).
            (_readPos, _segment, _offset) = saved;
            CloseFile();
            if (items is not null)
            {
                ArrayPool<Record>.Shared.Return(items, clearArray: true);
            }

            throw;
        }

        if (count < maxCount)
        {
            // Everything on disk is read: step over positions that have no record (a failed write).
            lock (log.Gate)
            {
                if (AtDurableEnd())
                {
                    _readPos = Math.Max(_readPos, log.DurableSeq);
                }
            }
        }

        return new LogBatch(start, items ?? [], count, _readPos, bytes);
    }

    // Called under the gate: the cursor is at the end of the newest segment's durable bytes.
    private bool AtDurableEnd() =>
        _segment is null
            ? log.SegmentAtOrAfter(_readPos) is null
            : log.NextSegment(_segment) is null && _offset >= _segment.DurableLength;

    /// <summary>
    /// The next record at or after the cursor's position, from durable bytes only. Records before the
    /// position (a resume inside a segment) are passed over. False when nothing durable is left.
    /// </summary>
    private bool NextRecord(out ReadOnlySpan<byte> record, out long seq)
    {
        while (true)
        {
            long durableLength;
            bool sealedSegment;
            lock (log.Gate)
            {
                if (_segment is null)
                {
                    _segment = log.SegmentAtOrAfter(_readPos);
                    _offset = 0;
                    if (_segment is null)
                    {
                        record = default;
                        seq = 0;
                        return false;
                    }
                }

                durableLength = _segment.DurableLength;
                sealedSegment = _segment.Sealed;
            }

            if (_offset >= durableLength)
            {
                if (!sealedSegment || !MoveToNextSegment())
                {
                    record = default;
                    seq = 0;
                    return false;
                }

                continue;
            }

            var result = PeekAt(durableLength, out record, out seq);
            if (result != WalDecode.Record)
            {
                // Damage inside bytes this process wrote and synced: skip the rest of the segment, counted.
                log.CorruptFoundByReader(_segment, SinkName, _offset);
                _offset = durableLength;
                continue;
            }

            _offset += record.Length;
            if (seq >= _readPos)
            {
                return true;
            }
        }
    }

    private bool MoveToNextSegment()
    {
        lock (log.Gate)
        {
            var next = log.NextSegment(_segment!);
            if (next is null)
            {
                return false;
            }

            CloseFile();
            _segment = next;
            _offset = 0;
            return true;
        }
    }

    private WalDecode PeekAt(long durableLength, out ReadOnlySpan<byte> record, out long seq)
    {
        var available = durableLength - _offset;
        while (true)
        {
            var inBuffer = _offset >= _bufferOffset && _offset < _bufferOffset + _bufferLength
                ? _buffer.AsSpan((int)(_offset - _bufferOffset), (int)(_bufferOffset + _bufferLength - _offset))
                : [];
            if (inBuffer.Length > available)
            {
                inBuffer = inBuffer[..(int)available];
            }

            var result = WalRecordFormat.Peek(inBuffer, out seq, out var size);
            if (result == WalDecode.Record)
            {
                record = inBuffer[..size];
                return result;
            }

            if (result == WalDecode.Incomplete && inBuffer.Length < available && Fill(available, inBuffer))
            {
                continue;
            }

            record = default;
            return result == WalDecode.Incomplete ? WalDecode.Corrupt : result;
        }
    }

    /// <summary>Reads from the cursor's offset; false when no more bytes can be had.</summary>
    private bool Fill(long available, ReadOnlySpan<byte> current)
    {
        if (current.Length >= WalRecordFormat.HeaderSize)
        {
            var needed = WalRecordFormat.HeaderSize + System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(current);
            if (needed > _buffer.Length && needed <= WalRecordFormat.MaxPayload + WalRecordFormat.HeaderSize)
            {
                _buffer = new byte[needed];
            }
        }

        if (_buffer.Length == 0)
        {
            _buffer = new byte[BufferSize];
        }

        _file ??= File.OpenHandle(_segment!.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var want = (int)Math.Min(_buffer.Length, available);
        var read = RandomAccess.Read(_file, _buffer.AsSpan(0, want), _offset);
        if (read <= current.Length)
        {
            return false;
        }

        _bufferOffset = _offset;
        _bufferLength = read;
        return true;
    }

    internal void CloseFile()
    {
        _file?.Dispose();
        _file = null;
        _bufferLength = 0;
    }
}
