using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;

namespace GoTrack.Core.Sinks;

/// <summary>
/// The pipeline every batch write runs in: retry forever with capped exponential backoff and jitter,
/// around a per-attempt timeout. "Forever" is deliberate: the log is the buffer, a batch is never
/// skipped, and when a sink stays down the log fills and intake answers 503. Only cancellation
/// (shutdown running out of time) ends the retries.
/// A sink may add a circuit breaker between the retry and the timeout: while it is open, attempts fail
/// at once with <see cref="BrokenCircuitException"/> instead of dialing a dead server, and the retry
/// outside it keeps the same batch waiting, so the breaker never skips one.
/// </summary>
public static class SinkResilience
{
    public static string PipelineKey(string sinkName) => "gotrack-sink:" + sinkName;

    public static ResiliencePipelineBuilder AddSinkStrategies(
        this ResiliencePipelineBuilder builder,
        SinkRunnerOptions options,
        Func<OnRetryArguments<object>, ValueTask> onRetry,
        CircuitBreakerStrategyOptions? circuitBreaker = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        builder
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = static args => ValueTask.FromResult(
                    args.Outcome.Exception is not null && !args.Context.CancellationToken.IsCancellationRequested),
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryBaseDelay,
                MaxDelay = options.RetryMaxDelay,
                OnRetry = onRetry,
            });
        if (circuitBreaker is not null)
        {
            builder.AddCircuitBreaker(circuitBreaker);
        }

        return builder.AddTimeout(options.AttemptTimeout);
    }

    /// <summary>
    /// A breaker tuned for a batch sink: a sink sees a few calls a second rather than hundreds, so it
    /// judges on as few as 4 attempts in 30 s and opens when half of them failed. It stays open for the
    /// retry's cap (SINK_RETRY_MAX_MS), bounded to 0.5 to 5 s so that a recovered server is found soon.
    /// </summary>
    public static CircuitBreakerStrategyOptions BatchSinkBreaker(SinkRunnerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var breakFor = TimeSpan.FromMilliseconds(Math.Clamp(options.RetryMaxDelay.TotalMilliseconds, 500, 5000));
        return new CircuitBreakerStrategyOptions
        {
            ShouldHandle = static args => ValueTask.FromResult(
                args.Outcome.Exception is not null && !args.Context.CancellationToken.IsCancellationRequested),
            FailureRatio = 0.5,
            MinimumThroughput = 4,
            SamplingDuration = TimeSpan.FromSeconds(30),
            BreakDuration = breakFor,
        };
    }
}
