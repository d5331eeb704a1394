using GoTrack.Core.Queue;
using GoTrack.Core.Sinks;
using GoTrack.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Record = GoTrack.Core.Events.Record;

namespace GoTrack.Tests.Queue;

/// <summary>A sink with a circuit breaker (as the postgres sink has) still gets every batch, in the end.</summary>
public sealed class CircuitBreakerTests
{
    [Fact]
    public async Task An_open_breaker_delays_batches_but_never_skips_one_and_keeps_the_real_error()
    {
        var flaky = new FakeSink("flaky", failFirst: 12);
        var runner = TestPipeline.FastRetries();
        runner.Overrides["flaky"] = new SinkOverrides { CircuitBreaker = SinkResilience.BatchSinkBreaker(runner) };
        var (sp, pipeline) = TestPipeline.Build(runner, ["flaky"], s => s.AddSingleton<IEventSink>(flaky));
        await using var _ = sp;
        await pipeline.StartAsync(default);

        var sent = new List<Guid>();
        for (var i = 0; i < 100; i++)
        {
            var r = new Record(Guid.CreateVersion7(), DateTimeOffset.UnixEpoch, "t", "{}"u8.ToArray());
            sent.Add(r.EventId);
            Assert.Equal(AppendResult.Accepted, await pipeline.Log.AppendAsync(r, default));
        }

        // Wait until the breaker has opened: failures then stop reaching the sink, while the runner still counts them.
        var runnerState = pipeline.Runner("flaky");
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (runnerState.ConsecutiveFailures <= flaky.Attempts && DateTime.UtcNow < deadline)
        {
            await Task.Delay(5);
        }

        Assert.True(runnerState.ConsecutiveFailures > flaky.Attempts, "the breaker never opened");
        Assert.StartsWith("IOException: injected failure", runnerState.LastError, StringComparison.Ordinal);

        await pipeline.StoppedAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
        Assert.Equal(sent.Order(), flaky.Delivered.Order());
        Assert.Equal(0, runnerState.ConsecutiveFailures);
    }
}
