using Polly;
using Polly.Retry;

namespace GoTrack.Core.Sinks;

/// <summary>
/// The pipeline every batch write runs in: retry forever with capped exponential backoff and jitter,
/// around a per-attempt timeout. "Forever" is deliberate: the log is the buffer, a batch is never
/// skipped, and when a sink stays down the log fills and intake answers 503. Only cancellation
/// (shutdown running out of time) ends the retries.
/// </summary>
public static class SinkResilience
{
    public static string PipelineKey(string sinkName) => "gotrack-sink:" + sinkName;

    public static ResiliencePipelineBuilder AddSinkStrategies(
        this ResiliencePipelineBuilder builder,
        SinkRunnerOptions options,
        Func<OnRetryArguments<object>, ValueTask> onRetry)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        return builder
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
            })
            .AddTimeout(options.AttemptTimeout);
    }
}
