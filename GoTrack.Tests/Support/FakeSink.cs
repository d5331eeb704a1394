using System.Collections.Concurrent;
using GoTrack.Core.Events;
using Record = GoTrack.Core.Events.Record;
using GoTrack.Core.Sinks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace GoTrack.Tests.Support;

/// <summary>A sink that fails its first N attempts, or blocks until released, and records what it got.</summary>
public sealed class FakeSink(string name, int failFirst = 0, int maxConcurrency = 4) : IEventSink
{
    private int _attempts;

    public TaskCompletionSource Gate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public bool Blocked { get; set; }

    public ConcurrentQueue<Guid> Delivered { get; } = new();

    public int Attempts => Volatile.Read(ref _attempts);

    public string Name => name;

    public int MaxConcurrency => maxConcurrency;

    public async ValueTask WriteBatchAsync(ReadOnlyMemory<Record> batch, CancellationToken cancellationToken)
    {
        var attempt = Interlocked.Increment(ref _attempts);
        if (Blocked)
        {
            await Gate.Task.WaitAsync(cancellationToken);
        }

        if (attempt <= failFirst)
        {
            throw new IOException($"injected failure {attempt}");
        }

        foreach (var r in batch.Span)
        {
            Delivered.Enqueue(r.EventId);
        }
    }

    public ValueTask<HealthCheckResult> CheckHealthAsync(CancellationToken cancellationToken) =>
        ValueTask.FromResult(HealthCheckResult.Healthy());
}
