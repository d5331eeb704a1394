using GoTrack.Core.Queue;
using GoTrack.Core.Sinks;
using GoTrack.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Polly.CircuitBreaker;
using Record = GoTrack.Core.Events.Record;

namespace GoTrack.Tests.Queue;

/// <summary>A sink with a circuit breaker (as the postgres sink has) still gets every batch, in the end.</summary>
public sealed class CircuitBreakerTests
{
    /// <remarks>
    /// Everything runs on a fake clock (the runner's, and through the container the resilience pipeline's:
    /// retry backoff, breaker and attempt timeout). The test moves time to each retry's due moment, one at a
    /// time, so which attempt reaches the sink and which the open breaker turns away follows from the
    /// breaker's rules alone: it opens after 4 failed calls (MinimumThroughput, all failed), turns every
    /// call away for BreakDuration, then lets exactly one probe through, which reopens it when it fails.
    /// One batch is in flight at a time, so no two calls race past the breaker.
    /// </remarks>
    [Fact]
    public async Task An_open_breaker_delays_batches_but_never_skips_one_and_keeps_the_real_error()
    {
        const int FailFirst = 12;
        var clock = new TimerClock();
        var flaky = new FakeSink("flaky", failFirst: FailFirst, maxConcurrency: 1);
        var runner = TestPipeline.FastRetries();
        // A first delay far above the cap makes every backoff exactly the cap (20 ms): jitter spreads the
        // uncapped value, which stays above 20 ms (below it only with a chance of about 1e-11). Task.Delay
        // also rounds a delay down to whole milliseconds, so a small jittered one would retry at once,
        // without a timer to step on.
        runner.RetryBaseDelay = TimeSpan.FromHours(1);
        // Batches are only ever full here (all 100 records are in before the runner starts); a long linger
        // keeps its timer apart from the retries' anyway.
        runner.FlushInterval = TimeSpan.FromHours(1);
        var breaker = SinkResilience.BatchSinkBreaker(runner);
        var states = new CircuitBreakerStateProvider();
        var (opened, halfOpened, closed) = (0, 0, 0);
        breaker.StateProvider = states;
        breaker.OnOpened = _ => { Interlocked.Increment(ref opened); return default; };
        breaker.OnHalfOpened = _ => { Interlocked.Increment(ref halfOpened); return default; };
        breaker.OnClosed = _ => { Interlocked.Increment(ref closed); return default; };
        runner.Overrides["flaky"] = new SinkOverrides { CircuitBreaker = breaker };
        var (sp, pipeline) = TestPipeline.Build(runner, ["flaky"], s => s.AddSingleton<IEventSink>(flaky).AddSingleton<TimeProvider>(clock));
        await using var _ = sp;

        var sent = new List<Guid>();
        for (var i = 0; i < 100; i++)
        {
            var r = new Record(Guid.CreateVersion7(), DateTimeOffset.UnixEpoch, "t", "{}"u8.ToArray());
            sent.Add(r.EventId);
            Assert.Equal(AppendResult.Accepted, await pipeline.Log.AppendAsync(r, default));
        }

        await pipeline.StartAsync(default);
        var runnerState = pipeline.Runner("flaky");
        bool IsRetry(TimeSpan delay) => delay > TimeSpan.Zero && delay <= runner.RetryMaxDelay;

        // The model: the first batch's first call is made at once; after that, one call per retry.
        var start = clock.GetUtcNow();
        var now = start;
        var calls = 1;              // calls that reached the sink
        var failures = 1;           // failed attempts the runner counted: the sink's and the breaker's refusals
        var refusals = 0;
        var reachedSink = true;
        DateTimeOffset? openUntil = null;
        while (true)
        {
            if (reachedSink && calls >= 4)
            {
                openUntil = now + breaker.BreakDuration; // the 4th failure opens it; each failed probe reopens it
            }

            // The runner waits for this retry only once the attempt's outcome has been recorded.
            var retry = await clock.NextTimerAsync(IsRetry, $"retry after call {calls} (failure {failures})");
            Assert.Equal(runner.RetryMaxDelay, retry.Delay);
            Assert.Equal(calls, flaky.Attempts);
            Assert.Equal(failures, runnerState.ConsecutiveFailures);
            // Turned away by the breaker or not, the error kept is the sink's own, never BrokenCircuitException.
            Assert.Equal($"IOException: injected failure {calls}", runnerState.LastError);
            Assert.Equal(openUntil is null ? CircuitState.Closed : CircuitState.Open, states.CircuitState);

            now = retry.Due;
            reachedSink = openUntil is null || now >= openUntil;
            clock.FireAt(retry);
            if (!reachedSink)
            {
                refusals++;
                failures++;
                continue;
            }

            calls++;
            if (calls > FailFirst)
            {
                break; // this probe succeeds and closes the breaker
            }

            failures++;
        }

        // Retries 20 ms apart: each of the 9 breaks of 500 ms turned away the 24 retries before its end,
        // and let the one at its end through.
        Assert.Equal(9 * 24, refusals);
        Assert.Equal(FailFirst + refusals, failures);
        Assert.Equal(start + TimeSpan.FromMilliseconds(3 * 20 + 9 * 500), clock.GetUtcNow());

        // Once closed, the other 9 batches go through without a retry (the clock does not move again).
        await pipeline.StoppedAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
        Assert.Equal(sent.Order(), flaky.Delivered.Order());
        Assert.Equal(FailFirst + 10, flaky.Attempts);
        Assert.Equal(0, runnerState.ConsecutiveFailures);
        Assert.Equal(CircuitState.Closed, states.CircuitState);
        // Opened by the 4th failure, then reopened by each of the 8 failed probes (calls 5 to 12); the 9th probe closed it.
        Assert.Equal(9, opened);
        Assert.Equal(9, halfOpened);
        Assert.Equal(1, closed);
    }
}
