using System.Buffers;
using GoTrack.Core.Events;

namespace GoTrack.Core.Queue;

/// <summary>
/// ACK_MODE=memory: the log is a ring of records in memory, bounded by count and by bytes.
/// One lock guards it; appends and batch reads hold it for a few hundred nanoseconds, which on the
/// two to eight cores a collector runs on costs less than the lock-free alternatives' extra fences.
/// </summary>
public sealed class MemoryEventLog : IEventLog
{
    private readonly Lock _lock = new();
    private readonly Record?[] _ring;
    private readonly long _maxBytes;
    private readonly List<Reader> _readers = [];
    private long _head;
    private long _tail;
    private long _bytes;
    private long _appendedBytes;
    private bool _completed;

    private readonly TimeProvider _time;

    public MemoryEventLog(EventLogOptions options, TimeProvider? timeProvider = null)
    {
        _time = timeProvider ?? TimeProvider.System;
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxEvents, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxBytes, 1);
        _ring = new Record?[options.MaxEvents];
        _maxBytes = options.MaxBytes;
    }

    public LogUsage Usage
    {
        get
        {
            lock (_lock)
            {
                return new LogUsage(_head - _tail, _ring.Length, _bytes, _maxBytes);
            }
        }
    }

    public ILogReader OpenReader(string sinkName, Action? syncOutput = null)
    {
        lock (_lock)
        {
            if (_head != 0)
            {
                throw new InvalidOperationException("Readers must be opened before the first append.");
            }

            var reader = new Reader(this, sinkName);
            _readers.Add(reader);
            return reader;
        }
    }

    public ValueTask<AppendResult> AppendAsync(Record record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        lock (_lock)
        {
            var result = CheckRoom(1, record.Json.Length);
            if (result == AppendResult.Accepted)
            {
                Put(record);
                WakeReaders();
            }

            return new ValueTask<AppendResult>(result);
        }
    }

    public ValueTask<AppendResult> AppendAsync(ReadOnlyMemory<Record> records, CancellationToken cancellationToken)
    {
        var span = records.Span;
        long bytes = 0;
        foreach (var r in span)
        {
            bytes += r.Json.Length;
        }

        lock (_lock)
        {
            var result = CheckRoom(span.Length, bytes);
            if (result == AppendResult.Accepted && span.Length > 0)
            {
                foreach (var r in span)
                {
                    Put(r);
                }

                WakeReaders();
            }

            return new ValueTask<AppendResult>(result);
        }
    }

    public bool IsDurable => false;

    public void Checkpoint()
    {
    }

    public void Complete()
    {
        lock (_lock)
        {
            _completed = true;
            foreach (var reader in _readers)
            {
                reader.Wake();
            }
        }
    }

    private AppendResult CheckRoom(int count, long bytes)
    {
        if (_completed)
        {
            return AppendResult.Closed;
        }

        if (_readers.Count == 0)
        {
            throw new InvalidOperationException("The log has no readers: records would never be released.");
        }

        return _head - _tail + count > _ring.Length || _bytes + bytes > _maxBytes
            ? AppendResult.Full
            : AppendResult.Accepted;
    }

    private void Put(Record record)
    {
        _ring[_head % _ring.Length] = record;
        _head++;
        _bytes += record.Json.Length;
        _appendedBytes += record.Json.Length;
    }

    private void WakeReaders()
    {
        foreach (var reader in _readers)
        {
            if (reader.Waiter is not null && _head >= reader.WakeAt)
            {
                reader.Wake();
            }
        }
    }

    // Called under the lock after a reader's released position moved.
    private void AdvanceTail()
    {
        var min = long.MaxValue;
        foreach (var reader in _readers)
        {
            min = Math.Min(min, reader.ReleasedPos);
        }

        while (_tail < min)
        {
            var slot = _tail % _ring.Length;
            _bytes -= _ring[slot]!.Json.Length;
            _ring[slot] = null;
            _tail++;
        }
    }

    private sealed class Reader(MemoryEventLog log, string sinkName) : ILogReader
    {
        private readonly ReleaseTracker _released = new(0, 0);

        public string SinkName { get; } = sinkName;

        internal long ReadPos { get; private set; }

        internal long ReleasedPos => _released.Position;

        internal TaskCompletionSource? Waiter { get; private set; }

        internal long WakeAt { get; private set; }

        public long Pending
        {
            get
            {
                lock (log._lock)
                {
                    return log._head - ReleasedPos;
                }
            }
        }

        public long PendingBytes
        {
            get
            {
                lock (log._lock)
                {
                    return log._appendedBytes - _released.Bytes;
                }
            }
        }

        // A memory log starts empty: nothing of a previous run can be delivered again.
        public long SkipThrough(IReadOnlyList<Guid> writtenTail) => 0;

        internal void Wake()
        {
            Waiter?.TrySetResult();
            Waiter = null;
        }

        public async ValueTask<LogBatch> ReadBatchAsync(int maxCount, TimeSpan linger, CancellationToken cancellationToken)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
            var time = log._time;
            long lingerStarted = -1;
            while (true)
            {
                Task wait;
                lock (log._lock)
                {
                    var available = log._head - ReadPos;
                    if (ReaderWait.ShouldTake(available, maxCount, log._completed, lingerStarted, linger, time))
                    {
                        return Take((int)Math.Min(available, maxCount));
                    }

                    if (available == 0 && log._completed)
                    {
                        return LogBatch.Empty;
                    }

                    // Wake on the first record, or, while lingering, on a full batch.
                    WakeAt = available == 0 ? ReadPos + 1 : ReadPos + maxCount;
                    Waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    wait = Waiter.Task;
                    if (available > 0 && lingerStarted < 0)
                    {
                        lingerStarted = time.GetTimestamp();
                    }
                }

                await ReaderWait.WaitAsync(wait, lingerStarted, linger, time, cancellationToken).ConfigureAwait(false);
            }
        }

        private LogBatch Take(int count)
        {
            var items = ArrayPool<Record>.Shared.Rent(count);
            var ring = log._ring;
            long bytes = 0;
            for (var i = 0; i < count; i++)
            {
                var record = ring[(ReadPos + i) % ring.Length]!;
                items[i] = record;
                bytes += record.Json.Length;
            }

            var batch = new LogBatch(ReadPos, items, count, ReadPos + count, bytes);
            ReadPos += count;
            return batch;
        }

        public void Release(LogBatch batch)
        {
            ArgumentNullException.ThrowIfNull(batch);
            if (batch.IsEmpty)
            {
                return;
            }

            lock (log._lock)
            {
                _released.Release(batch);
                log.AdvanceTail();
            }
        }
    }
}
