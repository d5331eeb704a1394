using GoTrack.Core.Events;
using Record = GoTrack.Core.Events.Record;
using GoTrack.Core.Queue;

namespace GoTrack.Tests.Queue;

public sealed class MemoryEventLogTests
{
    private static Record R(int size = 10) => new(Guid.CreateVersion7(), DateTimeOffset.UnixEpoch, "t", new byte[size]);

    [Fact]
    public async Task A_full_log_refuses_whole_appends_and_frees_space_when_every_reader_released()
    {
        var log = new MemoryEventLog(new EventLogOptions { MaxEvents = 3, MaxBytes = 1000 });
        var a = log.OpenReader("a");
        var b = log.OpenReader("b");
        Assert.Equal(AppendResult.Accepted, await log.AppendAsync(R(), default));
        Assert.Equal(AppendResult.Full, await log.AppendAsync(new[] { R(), R(), R() }, default));
        Assert.Equal(1, log.Usage.Events);
        Assert.Equal(AppendResult.Accepted, await log.AppendAsync(new[] { R(), R() }, default));
        Assert.Equal(AppendResult.Full, await log.AppendAsync(R(), default));

        var fromA = await a.ReadBatchAsync(10, TimeSpan.Zero, default);
        Assert.Equal(3, fromA.Count);
        a.Release(fromA);
        Assert.Equal(AppendResult.Full, await log.AppendAsync(R(), default)); // b still holds them
        Assert.Equal(0, a.Pending);
        Assert.Equal(3, b.Pending);

        var fromB = await b.ReadBatchAsync(2, TimeSpan.Zero, default);
        b.Release(fromB);
        Assert.Equal(1, log.Usage.Events);
        Assert.Equal(AppendResult.Accepted, await log.AppendAsync(R(), default));
    }

    [Fact]
    public async Task The_byte_bound_counts_json_bytes()
    {
        var log = new MemoryEventLog(new EventLogOptions { MaxEvents = 100, MaxBytes = 25 });
        log.OpenReader("a");
        Assert.Equal(AppendResult.Accepted, await log.AppendAsync(R(20), default));
        Assert.Equal(AppendResult.Full, await log.AppendAsync(R(6), default));
        Assert.Equal(AppendResult.Accepted, await log.AppendAsync(R(5), default));
        Assert.Equal(25, log.Usage.Bytes);
    }

    [Fact]
    public async Task Batches_released_out_of_order_free_space_in_log_order()
    {
        var log = new MemoryEventLog(new EventLogOptions { MaxEvents = 10, MaxBytes = 10_000 });
        var a = log.OpenReader("a");
        await log.AppendAsync(Enumerable.Range(0, 6).Select(_ => R()).ToArray(), default);
        var first = await a.ReadBatchAsync(2, TimeSpan.Zero, default);
        var second = await a.ReadBatchAsync(2, TimeSpan.Zero, default);
        var third = await a.ReadBatchAsync(2, TimeSpan.Zero, default);
        Assert.Equal([0L, 2L, 4L], [first.Start, second.Start, third.Start]);
        a.Release(third);
        a.Release(second);
        Assert.Equal(6, a.Pending);
        Assert.Equal(6, log.Usage.Events);
        a.Release(first);
        Assert.Equal(0, a.Pending);
        Assert.Equal(0, log.Usage.Events);
    }

    /// <summary>Linger on a fake clock, for both logs: no sleep, and the exact moment the batch goes.</summary>
    [Theory]
    [InlineData("memory")]
    [InlineData("wal")]
    public async Task A_reader_lingers_for_a_full_batch_then_takes_what_is_there(string kind)
    {
        using var dir = new GoTrack.Tests.Support.TempDir();
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        IEventLog log = kind == "memory"
            ? new MemoryEventLog(new EventLogOptions(), clock)
            : new GoTrack.Core.Queue.Wal.WriteAheadLog(new GoTrack.Core.Queue.Wal.WalOptions { Directory = dir.File("wal"), SegmentBytes = 1 << 20, MaxBytes = 4 << 20 }, clock);
        try
        {
            var a = log.OpenReader("a");
            await log.AppendAsync(R(), default);
            var read = a.ReadBatchAsync(100, TimeSpan.FromMilliseconds(150), default).AsTask();
            await log.AppendAsync(R(), default);
            clock.Advance(TimeSpan.FromMilliseconds(149));
            Assert.False(read.IsCompleted);
            clock.Advance(TimeSpan.FromMilliseconds(1));
            var batch = await read.WaitAsync(TimeSpan.FromSeconds(5));
            Assert.Equal(2, batch.Count);
            a.Release(batch);

            // A full batch wakes the reader at once, without the clock moving.
            var full = a.ReadBatchAsync(3, TimeSpan.FromSeconds(30), default).AsTask();
            await log.AppendAsync(new[] { R(), R(), R() }, default);
            Assert.Equal(3, (await full.WaitAsync(TimeSpan.FromSeconds(5))).Count);
        }
        finally
        {
            (log as IDisposable)?.Dispose();
        }
    }

    [Fact]
    public async Task Complete_refuses_appends_and_readers_drain_then_get_empty()
    {
        var log = new MemoryEventLog(new EventLogOptions());
        var a = log.OpenReader("a");
        await log.AppendAsync(new[] { R(), R() }, default);
        var waiting = a.ReadBatchAsync(10, TimeSpan.FromSeconds(30), default).AsTask();
        log.Complete();
        Assert.Equal(AppendResult.Closed, await log.AppendAsync(R(), default));
        Assert.Equal(2, (await waiting.WaitAsync(TimeSpan.FromSeconds(5))).Count);
        Assert.True((await a.ReadBatchAsync(10, TimeSpan.FromSeconds(30), default)).IsEmpty);
    }

    [Fact]
    public async Task Readers_must_exist_before_the_first_append()
    {
        var log = new MemoryEventLog(new EventLogOptions());
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await log.AppendAsync(R(), default));
        log.OpenReader("a");
        Assert.Equal(AppendResult.Accepted, await log.AppendAsync(R(), default));
        Assert.Throws<InvalidOperationException>(() => log.OpenReader("b"));
    }
}

public sealed class MemoryEventLogStressTests
{
    /// <summary>
    /// 8 appenders (single records and batches) against 3 readers that keep up to 4 batches in flight and
    /// release them in random order, with a log small enough to be full often. Every accepted record must
    /// reach every reader exactly once, in log order, and the log must end empty.
    /// </summary>
    [Fact]
    public async Task Many_appenders_and_readers_releasing_out_of_order_lose_and_repeat_nothing()
    {
        var log = new MemoryEventLog(new EventLogOptions { MaxEvents = 500, MaxBytes = 1 << 20 });
        var readers = new[] { log.OpenReader("a"), log.OpenReader("b"), log.OpenReader("c") };
        var accepted = new System.Collections.Concurrent.ConcurrentDictionary<Guid, byte>();
        var full = 0;
        var appenders = Enumerable.Range(0, 8).Select(a => Task.Run(async () =>
        {
            var random = new Random(a);
            for (var i = 0; i < 2000; i++)
            {
                var batch = Enumerable.Range(0, random.Next(1, 6))
                    .Select(_ => new Record(Guid.NewGuid(), DateTimeOffset.UnixEpoch, "t", new byte[random.Next(1, 50)])).ToArray();
                var result = batch.Length == 1 ? await log.AppendAsync(batch[0], default) : await log.AppendAsync(batch, default);
                if (result == AppendResult.Accepted)
                {
                    foreach (var r in batch)
                    {
                        accepted[r.EventId] = 0;
                    }
                }
                else
                {
                    Assert.Equal(AppendResult.Full, result);
                    Interlocked.Increment(ref full);
                    await Task.Yield();
                }
            }
        })).ToArray();

        var consumers = readers.Select((reader, k) => Task.Run(async () =>
        {
            var random = new Random(100 + k);
            var seen = new List<Guid>();
            var inFlight = new List<LogBatch>();
            long expectedStart = 0;
            while (true)
            {
                var batch = await reader.ReadBatchAsync(random.Next(1, 40), TimeSpan.Zero, default);
                if (batch.IsEmpty)
                {
                    break;
                }

                Assert.Equal(expectedStart, batch.Start);
                expectedStart = batch.End;
                seen.AddRange(batch.Records.ToArray().Select(r => r.EventId));
                inFlight.Add(batch);
                if (inFlight.Count >= 4 || random.Next(3) == 0)
                {
                    var pick = inFlight[random.Next(inFlight.Count)];
                    inFlight.Remove(pick);
                    reader.Release(pick);
                }
            }

            foreach (var b in inFlight.OrderBy(_ => random.Next()))
            {
                reader.Release(b);
            }

            return seen;
        })).ToArray();

        await Task.WhenAll(appenders);
        log.Complete();

        // The full path was taken: a log that never filled would test only half of what it claims.
        Assert.True(full > 0, "no append found the log full");
        var results = await Task.WhenAll(consumers);

        foreach (var seen in results)
        {
            Assert.Equal(accepted.Count, seen.Count);
            Assert.Equal(accepted.Count, seen.Distinct().Count());
            Assert.True(accepted.Keys.ToHashSet().SetEquals(seen));
        }

        Assert.Equal(results[0], results[1]); // one log order for every reader
        Assert.Equal(results[0], results[2]);
        Assert.Equal(0, log.Usage.Events);
        Assert.Equal(0, log.Usage.Bytes);
        Assert.All(readers, r => Assert.Equal(0, r.Pending));
    }
}
