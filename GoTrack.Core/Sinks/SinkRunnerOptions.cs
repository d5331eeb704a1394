using Polly.CircuitBreaker;

namespace GoTrack.Core.Sinks;

public sealed class SinkRunnerOptions
{
    /// <summary>BATCH_SIZE: records per batch.</summary>
    public int BatchSize { get; set; } = 100;

    /// <summary>FLUSH_INTERVAL_MS: how long a partial batch waits for more records.</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>WORKER_CONCURRENCY: batches in flight per sink (sinks that need order take one).</summary>
    public int WorkerConcurrency { get; set; } = 4;

    /// <summary>SINK_RETRY_BASE_MS: the first retry's delay.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>SINK_RETRY_MAX_MS: the cap on the delay between retries.</summary>
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>SINK_TIMEOUT_MS: one attempt at writing a batch is abandoned (and retried) after this.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>SHUTDOWN_TIMEOUT: how long a stop may take, drain included.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Per-sink exceptions to the settings above, by sink name (PG_BATCH_SIZE and PG_FLUSH_MS for postgres).</summary>
    public Dictionary<string, SinkOverrides> Overrides { get; } = new(StringComparer.Ordinal);

    public int BatchSizeFor(string sink) =>
        Overrides.TryGetValue(sink, out var o) && o.BatchSize is { } size ? size : BatchSize;

    public TimeSpan FlushIntervalFor(string sink) =>
        Overrides.TryGetValue(sink, out var o) && o.FlushInterval is { } flush ? flush : FlushInterval;

    public CircuitBreakerStrategyOptions? CircuitBreakerFor(string sink) =>
        Overrides.TryGetValue(sink, out var o) ? o.CircuitBreaker : null;
}
