using Polly.CircuitBreaker;

namespace GoTrack.Core.Sinks;

/// <summary>What one sink does differently from the shared <see cref="SinkRunnerOptions"/>; null keeps the shared value.</summary>
public sealed class SinkOverrides
{
    public int? BatchSize { get; set; }

    public TimeSpan? FlushInterval { get; set; }

    /// <summary>A circuit breaker inside the sink's retry (see <see cref="SinkResilience.BatchSinkBreaker"/>).</summary>
    public CircuitBreakerStrategyOptions? CircuitBreaker { get; set; }
}
