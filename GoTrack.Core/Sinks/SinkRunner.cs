using System.Diagnostics;
using GoTrack.Core.Events;
using GoTrack.Core.Queue;
using GoTrack.Core.Telemetry;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.CircuitBreaker;

namespace GoTrack.Core.Sinks;

/// <summary>
/// Moves one sink's cursor: reads batches from the log, writes each through the resilience pipeline
/// (retried until it succeeds), then releases it. Up to MaxConcurrency batches are in flight; the
/// log frees space in order however they finish.
/// </summary>
public sealed partial class SinkRunner(
    IEventSink sink,
    ILogReader reader,
    SinkRunnerOptions options,
    ResiliencePipeline pipeline,
    GoTrackMetrics metrics,
    TimeProvider time,
    ILogger<SinkRunner> logger)
{
    private int _consecutiveFailures;
    private string? _lastError;
    private long _failingSince = -1;
    private long _unreachableSince = -1;

    public IEventSink Sink => sink;

    public ILogReader Reader => reader;

    /// <summary>Failed attempts since the last successful batch.</summary>
    public int ConsecutiveFailures => Volatile.Read(ref _consecutiveFailures);

    /// <summary>How long the sink's writes have been failing without a success in between; null when they are not.</summary>
    public TimeSpan? FailingFor => Since(ref _failingSince);

    /// <summary>How long the sink's own reachability check has said no in a row; null when it last said yes.</summary>
    public TimeSpan? UnreachableFor => Since(ref _unreachableSince);

    /// <summary>Records what the sink's reachability check (run by /readyz) found.</summary>
    public void NoteReachable(bool reachable)
    {
        if (reachable)
        {
            Interlocked.Exchange(ref _unreachableSince, -1);
        }
        else
        {
            Interlocked.CompareExchange(ref _unreachableSince, time.GetTimestamp(), -1);
        }
    }

    private TimeSpan? Since(ref long timestamp)
    {
        var since = Interlocked.Read(ref timestamp);
        return since < 0 ? null : time.GetElapsedTime(since);
    }

    /// <summary>The last failure's message (exception type and text; never event data). For logs, never for health answers.</summary>
    public string? LastError => Volatile.Read(ref _lastError);

    internal LogThrottle Throttle { get; } = new(time, TimeSpan.FromSeconds(10));

    private CancellationTokenSource? _stop;
    private volatile bool _stopOnFailure;

    /// <summary>
    /// Runs until the log is complete and drained, or <paramref name="abort"/> fires, or (after
    /// <see cref="StopOnFailure"/>) the sink fails. Never faults: an unexpected exception is logged and
    /// retried like a sink failure, so no batch is ever dropped by a bug here.
    /// </summary>
    public async Task RunAsync(CancellationToken abort)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(abort);
        Volatile.Write(ref _stop, stop);
        var token = stop.Token;
        var concurrency = Math.Max(1, Math.Min(sink.MaxConcurrency, options.WorkerConcurrency));
        var batchSize = options.BatchSizeFor(sink.Name);
        var flushInterval = options.FlushIntervalFor(sink.Name);
        using var slots = new SemaphoreSlim(concurrency, concurrency);
        var inFlight = new List<Task>();
        var attempt = 0;
        try
        {
            while (true)
            {
                await slots.WaitAsync(token).ConfigureAwait(false);
                LogBatch batch;
                try
                {
                    batch = await reader.ReadBatchAsync(batchSize, flushInterval, token).ConfigureAwait(false);
                    attempt = 0;
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !token.IsCancellationRequested)
                {
                    // Reading the log failed (a disk error under ACK_MODE=wal): nothing was taken, so try again.
                    slots.Release();
                    var delay = BackoffAfterUnexpected(ex, attempt++);
                    await Task.Delay(delay, time, token).ConfigureAwait(false);
                    continue;
                }

                if (batch.IsEmpty)
                {
                    slots.Release();
                    break;
                }

                inFlight.RemoveAll(static t => t.IsCompleted);
                inFlight.Add(DeliverAsync(batch, slots, token));
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }

        // DeliverAsync never faults, so this never throws and every in-flight batch is accounted for.
        await Task.WhenAll(inFlight).ConfigureAwait(false);
        Volatile.Write(ref _stop, null);
    }

    /// <summary>
    /// ACK_MODE=wal shutdown: keep delivering while the sink succeeds, but stop at its first failure
    /// (or now, if it is failing already). What it has not delivered stays on disk for the next start.
    /// </summary>
    public void StopOnFailure()
    {
        _stopOnFailure = true;
        if (ConsecutiveFailures > 0)
        {
            CancelRun();
        }
    }

    private void CancelRun()
    {
        try
        {
            Volatile.Read(ref _stop)?.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private async Task DeliverAsync(LogBatch batch, SemaphoreSlim slots, CancellationToken abort)
    {
        try
        {
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    await DeliverOnceAsync(batch, abort).ConfigureAwait(false);
                    return;
                }
                catch (OperationCanceledException) when (abort.IsCancellationRequested)
                {
                    // Shutdown ran out of time (or, under ACK_MODE=wal, the sink failed while stopping): the
                    // batch stays unreleased and the caller accounts for it.
                    return;
                }
                catch (Exception ex)
                {
                    // The pipeline retries every sink failure itself; reaching here is a bug in GoTrack's own
                    // code around the write. The batch is kept and tried again, never dropped.
                    var delay = BackoffAfterUnexpected(ex, attempt);
                    try
                    {
                        await Task.Delay(delay, time, abort).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                }
            }
        }
        finally
        {
            slots.Release();
        }
    }

    private async Task DeliverOnceAsync(LogBatch batch, CancellationToken abort)
    {
        using var activity = StartBatchActivity(batch);
        var started = time.GetTimestamp();
        await pipeline.ExecuteAsync(
            static (state, ct) => state.sink.WriteBatchAsync(state.batch.Records, ct),
            (sink, batch),
            abort).ConfigureAwait(false);
        metrics.BatchFlushed(sink.Name, time.GetElapsedTime(started));
        metrics.Events(EventOutcomes.Delivered, batch.Count);
        Volatile.Write(ref _consecutiveFailures, 0);
        Interlocked.Exchange(ref _failingSince, -1);
        reader.Release(batch);
    }

    private TimeSpan BackoffAfterUnexpected(Exception error, int attempt)
    {
        var delay = TimeSpan.FromMilliseconds(Math.Min(
            options.RetryMaxDelay.TotalMilliseconds,
            options.RetryBaseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 20))));
        OnFailedAttempt(error, attempt, delay);
        return delay;
    }

    /// <summary>Called by the pipeline's retry strategy for every failed attempt.</summary>
    internal void OnFailedAttempt(Exception? error, int attempt, TimeSpan nextDelay)
    {
        // Counted before readiness can see it, so a scrape after /readyz turns unhealthy always shows it.
        metrics.SinkFailure(sink.Name);
        Interlocked.Increment(ref _consecutiveFailures);
        Interlocked.CompareExchange(ref _failingSince, time.GetTimestamp(), -1);

        // An open breaker says nothing new about the sink: keep the failure that opened it.
        if (error is not BrokenCircuitException || LastError is null)
        {
            var message = error is null ? "unknown error" : $"{error.GetType().Name}: {error.Message}";
            Volatile.Write(ref _lastError, message);
        }

        if (Throttle.ShouldLog(out var suppressed))
        {
            LogBatchFailed(logger, sink.Name, attempt + 1, nextDelay.TotalMilliseconds, suppressed, error);
        }

        if (_stopOnFailure)
        {
            CancelRun();
        }
    }

    private Activity? StartBatchActivity(LogBatch batch)
    {
        if (!GoTrackActivity.Sinks.HasListeners())
        {
            return null;
        }

        // Link to (at most 32 of) the request spans that accepted these events.
        var links = new List<ActivityLink>();
        foreach (var record in batch.Records.Span)
        {
            if (record.Origin != default)
            {
                links.Add(new ActivityLink(record.Origin));
                if (links.Count == 32)
                {
                    break;
                }
            }
        }

        var activity = GoTrackActivity.Sinks.StartActivity(ActivityKind.Producer, parentContext: default, links: links, name: "sink.write " + sink.Name);
        activity?.SetTag("gotrack.sink", sink.Name);
        activity?.SetTag("gotrack.batch.size", batch.Count);
        return activity;
    }

    [LoggerMessage(EventId = 100, Level = LogLevel.Error,
        Message = "Sink {Sink}: writing a batch failed (attempt {Attempt}); retrying in {DelayMs:F0} ms. {Suppressed} more failures since the last line.")]
    private static partial void LogBatchFailed(ILogger logger, string sink, int attempt, double delayMs, long suppressed, Exception? error);
}
