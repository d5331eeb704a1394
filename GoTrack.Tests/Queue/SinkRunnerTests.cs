using GoTrack.Core.Events;
using Record = GoTrack.Core.Events.Record;
using GoTrack.Core.Queue;
using GoTrack.Core.Sinks;
using GoTrack.Core.Telemetry;
using GoTrack.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GoTrack.Tests.Queue;

public sealed class SinkRunnerTests
{
    private static (ServiceProvider Services, EventPipeline Pipeline) Pipeline(EventLogOptions log, params FakeSink[] sinks) =>
        Pipeline(log, null, sinks);

    /// <param name="frozen">
    /// A clock that never moves: the linger never ends, so a batch is taken only when full (or the log is
    /// complete), and retries have no delay. Batching is then exact, whatever the machine's load.
    /// </param>
    private static (ServiceProvider Services, EventPipeline Pipeline) Pipeline(EventLogOptions log, TimeProvider? frozen, params FakeSink[] sinks)
    {
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Warning));
        services.AddMetrics();
        if (frozen is not null)
        {
            services.AddSingleton(frozen);
        }

        var runner = new SinkRunnerOptions
        {
            BatchSize = 10,
            FlushInterval = TimeSpan.FromMilliseconds(5),
            RetryBaseDelay = frozen is null ? TimeSpan.FromMilliseconds(1) : TimeSpan.Zero,
            RetryMaxDelay = frozen is null ? TimeSpan.FromMilliseconds(20) : TimeSpan.Zero,
            WorkerConcurrency = 4,
        };
        services.AddEventPipeline(log, runner, sinks.Select(s => s.Name));
        foreach (var sink in sinks)
        {
            services.AddSingleton<IEventSink>(sink);
        }

        var sp = services.BuildServiceProvider();
        return (sp, sp.GetRequiredService<EventPipeline>());
    }

    /// <summary>
    /// Under ACK_MODE=wal the NDJSON file is the one output the log must sync before saving a cursor (its writes
    /// can sit in the page cache); Kafka and Postgres are durable when their write returns and are not asked.
    /// </summary>
    [Fact]
    public async Task The_write_ahead_log_syncs_the_file_sink_s_output_and_no_other()
    {
        using var dir = new TempDir();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddMetrics();
        services.AddEventPipeline(new EventLogOptions(), new SinkRunnerOptions(), ["log", "kafka"],
            new Core.Queue.Wal.WalOptions { Directory = dir.File("wal") });
        services.AddSingleton<IEventSink>(new NdjsonFileSink(new NdjsonSinkOptions { Path = dir.File("events.ndjson") }, TimeProvider.System));
        services.AddSingleton<IEventSink>(new FakeSink("kafka"));
        await using var sp = services.BuildServiceProvider();
        _ = sp.GetRequiredService<EventPipeline>();
        var log = Assert.IsType<Core.Queue.Wal.WriteAheadLog>(sp.GetRequiredService<IEventLog>());
        Assert.NotNull(log.SyncOutputOf("log"));
        Assert.Null(log.SyncOutputOf("kafka"));
        log.SyncOutputOf("log")!(); // before the file is opened: nothing to sync, no error
    }

    private static Record R() => new(Guid.CreateVersion7(), DateTimeOffset.UnixEpoch, "t", "{}"u8.ToArray());

    [Fact]
    public async Task A_sink_that_fails_n_times_gets_every_batch_retried_and_nothing_is_lost()
    {
        var flaky = new FakeSink("flaky", failFirst: 7);
        var (sp, pipeline) = Pipeline(new EventLogOptions(), new Microsoft.Extensions.Time.Testing.FakeTimeProvider(), flaky);
        await using var _ = sp;
        await pipeline.StartAsync(default);
        var sent = new List<Guid>();
        for (var i = 0; i < 250; i++)
        {
            var r = R();
            sent.Add(r.EventId);
            Assert.Equal(AppendResult.Accepted, await pipeline.Log.AppendAsync(r, default));
        }

        await pipeline.StoppedAsync(new CancellationTokenSource(TimeSpan.FromSeconds(20)).Token);
        Assert.Equal(sent.Order(), flaky.Delivered.Order());
        // 250 records in full batches of 10 (the frozen linger never cuts one short): 25 writes, plus the 7 that failed.
        Assert.Equal(7 + 25, flaky.Attempts);
        Assert.Equal(250, flaky.Delivered.Count);
        Assert.Equal(0, pipeline.Runner("flaky").ConsecutiveFailures);
    }

    [Fact]
    public async Task A_stuck_sink_does_not_stall_another_until_the_log_is_full()
    {
        var stuck = new FakeSink("stuck") { Blocked = true };
        var healthy = new FakeSink("healthy");
        var (sp, pipeline) = Pipeline(new EventLogOptions { MaxEvents = 100 }, stuck, healthy);
        await using var _ = sp;
        await pipeline.StartAsync(default);
        for (var i = 0; i < 100; i++)
        {
            Assert.Equal(AppendResult.Accepted, await pipeline.Log.AppendAsync(R(), default));
        }

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (healthy.Delivered.Count < 100 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        Assert.Equal(100, healthy.Delivered.Count);
        Assert.Empty(stuck.Delivered);
        Assert.Equal(AppendResult.Full, await pipeline.Log.AppendAsync(R(), default));

        stuck.Gate.SetResult();
        await pipeline.StoppedAsync(new CancellationTokenSource(TimeSpan.FromSeconds(20)).Token);
        Assert.Equal(100, stuck.Delivered.Count);
        Assert.Equal(100, stuck.Delivered.Distinct().Count());
    }

    [Fact]
    public async Task Shutdown_that_runs_out_of_time_reports_what_was_not_delivered()
    {
        var stuck = new FakeSink("stuck") { Blocked = true };
        var (sp, pipeline) = Pipeline(new EventLogOptions(), stuck);
        await using var _ = sp;
        await pipeline.StartAsync(default);
        await pipeline.Log.AppendAsync(new[] { R(), R(), R() }, default);
        var before = Environment.ExitCode;
        try
        {
            await pipeline.StoppedAsync(new CancellationTokenSource(TimeSpan.FromMilliseconds(300)).Token);
            Assert.Equal(3, pipeline.Runner("stuck").Reader.Pending);
            Assert.Equal(3, Environment.ExitCode);
        }
        finally
        {
            Environment.ExitCode = before;
        }
    }

    /// <summary>
    /// Four batches in flight and three failed attempts: every event once, and the log empty at the end. That a
    /// release out of order frees nothing until the batches before it are released is
    /// MemoryEventLogTests.Batches_released_out_of_order_free_space_in_log_order.
    /// </summary>
    [Fact]
    public async Task Concurrent_batches_of_one_sink_with_failures_deliver_each_event_once_and_free_the_whole_log()
    {
        var sink = new FakeSink("c", failFirst: 3, maxConcurrency: 4);
        var (sp, pipeline) = Pipeline(new EventLogOptions { MaxEvents = 2000 }, sink);
        await using var _ = sp;
        await pipeline.StartAsync(default);
        var tasks = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < 250; i++)
            {
                while (await pipeline.Log.AppendAsync(R(), default) != AppendResult.Accepted)
                {
                    await Task.Delay(1);
                }
            }
        }));
        await Task.WhenAll(tasks);
        await pipeline.StoppedAsync(new CancellationTokenSource(TimeSpan.FromSeconds(20)).Token);
        Assert.Equal(1000, sink.Delivered.Count);
        Assert.Equal(1000, sink.Delivered.Distinct().Count());
        Assert.Equal(0, pipeline.Log.Usage.Events);
    }
}

/// <summary>A runner meets exceptions that are not the sink's (a disk read error, a bug in GoTrack's own code around the write).</summary>
public sealed class SinkRunnerFaultTests
{
    /// <summary>Throws from the first reads and the first release, then behaves.</summary>
    private sealed class FaultyReader(ILogReader inner, int failReads, int failReleases) : ILogReader
    {
        private int _reads;
        private int _releases;

        public string SinkName => inner.SinkName;

        public long Pending => inner.Pending;

        public long PendingBytes => inner.PendingBytes;

        public long SkipThrough(IReadOnlyList<Guid> writtenTail) => inner.SkipThrough(writtenTail);

        public ValueTask<LogBatch> ReadBatchAsync(int maxCount, TimeSpan linger, CancellationToken cancellationToken) =>
            Interlocked.Increment(ref _reads) <= failReads
                ? throw new IOException("injected read failure")
                : inner.ReadBatchAsync(maxCount, linger, cancellationToken);

        public void Release(LogBatch batch)
        {
            if (Interlocked.Increment(ref _releases) <= failReleases)
            {
                throw new InvalidOperationException("injected bug after the write");
            }

            inner.Release(batch);
        }
    }

    /// <remarks>
    /// The runner's own backoff waits on its clock, here a fake one: the test steps it to each wait's end, so
    /// the waits themselves are checked (RetryBaseDelay doubling per failure in a row, from 1 ms), not only
    /// that the run finished. The resilience pipeline keeps the real clock: the sink never fails, so it never
    /// waits.
    /// </remarks>
    [Fact]
    public async Task Unexpected_exceptions_in_reading_and_releasing_are_retried_and_no_batch_is_lost()
    {
        var clock = new TimerClock();
        var log = new MemoryEventLog(new EventLogOptions(), clock);
        var reader = new FaultyReader(log.OpenReader("fake"), failReads: 3, failReleases: 2);
        var sink = new FakeSink("fake");
        var options = TestPipeline.FastRetries();
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var metrics = new GoTrackMetrics(services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());
        var pipeline = new Polly.ResiliencePipelineBuilder().AddSinkStrategies(options, _ => ValueTask.CompletedTask).Build();
        var runner = new SinkRunner(sink, reader, options, pipeline, metrics, clock, Microsoft.Extensions.Logging.Abstractions.NullLogger<SinkRunner>.Instance);

        var sent = Enumerable.Range(0, 95).Select(_ => new Record(Guid.NewGuid(), DateTimeOffset.UnixEpoch, "t", "{}"u8.ToArray())).ToArray();
        Assert.Equal(AppendResult.Accepted, await log.AppendAsync(sent, default));
        log.Complete();
        // A bound on the real clock only, so that a runner stuck for good fails the test instead of hanging it.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var run = runner.RunAsync(timeout.Token);

        // The three failed reads, one after the other: each read waits for the backoff of the one before.
        foreach (var (ms, failures) in new[] { (1, 1), (2, 2), (4, 3) })
        {
            var wait = await clock.NextTimerAsync(_ => true, $"backoff after read failure {failures}");
            Assert.Equal(TimeSpan.FromMilliseconds(ms), wait.Delay);
            Assert.Equal(failures, runner.ConsecutiveFailures);
            Assert.Equal("IOException: injected read failure", runner.LastError);
            Assert.Equal(0, sink.Attempts);
            clock.FireAt(wait);
        }

        // The two releases that throw: each of those batches waits its first backoff (1 ms), then is written again.
        for (var i = 0; i < 2; i++)
        {
            var wait = await clock.NextTimerAsync(_ => true, $"backoff after release failure {i + 1}");
            Assert.Equal(TimeSpan.FromMilliseconds(1), wait.Delay);
            Assert.Equal("InvalidOperationException: injected bug after the write", runner.LastError);
            clock.FireAt(wait);
        }

        await run;
        Assert.False(timeout.IsCancellationRequested);
        Assert.Equal(5, clock.TimersArmed); // no other wait: every other read, write and release went through at once
        Assert.Equal(0, reader.Pending);
        Assert.Equal(0, runner.ConsecutiveFailures);
        // 10 batches (9 of 10 records, 1 of 5) written once each, and the two whose release threw written again.
        // The first two releases come before the 5-record batch is read (4 in flight at most), so both were full.
        Assert.Equal(10 + 2, sink.Attempts);
        var times = sink.Delivered.GroupBy(id => id).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(sent.Select(r => r.EventId).Order(), times.Keys.Order());
        Assert.Equal(20, times.Values.Count(n => n == 2));
        Assert.Equal(75, times.Values.Count(n => n == 1));
    }
}
