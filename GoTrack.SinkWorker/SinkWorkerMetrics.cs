using System.Diagnostics.Metrics;

namespace GoTrack.SinkWorker;

/// <summary>
/// SinkWorker's instruments (meter <c>GoTrack.SinkWorker</c>); consumer lag comes from librdkafka's
/// statistics as <c>gotrack_kafka_consumer_lag</c>.
/// </summary>
public sealed class SinkWorkerMetrics
{
    public const string MeterName = "GoTrack.SinkWorker";
    private readonly Histogram<int> _batchSize;
    private readonly Histogram<double> _writeLatency;
    private readonly Counter<long> _retries;
    private readonly Counter<long> _deadLetters;
    private readonly Counter<long> _written;
    private readonly Counter<long> _commitFailures;
    private readonly Counter<long> _revoked;
    private long _revokedTotal;
    private long _retriesTotal;

    public SinkWorkerMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(MeterName);
        _batchSize = meter.CreateHistogram<int>("gotrack.sinkworker.batch_size", "{message}", "Messages per batch taken from Kafka.");
        _writeLatency = meter.CreateHistogram<double>("gotrack.sinkworker.write_latency", "s", "Time to write a batch to Postgres, retries included.");
        _retries = meter.CreateCounter<long>("gotrack.sinkworker.retries", "{attempt}", "Failed write attempts that were retried.");
        _deadLetters = meter.CreateCounter<long>("gotrack.sinkworker.dead_letters", "{message}", "Messages sent to the dead-letter topic, by reason.");
        _written = meter.CreateCounter<long>("gotrack.sinkworker.events", "{event}", "Events Postgres took (stored, or skipped as already stored), counted when their batch's write succeeds, before its offsets are committed: a batch read again after a crash counts again. Rows Postgres refused go to the dead-letter topic and are not counted.");
        _commitFailures = meter.CreateCounter<long>("gotrack.sinkworker.commit_failures", "{commit}", "Offset commits that failed (the messages are read again; ON CONFLICT absorbs them).");
        _revoked = meter.CreateCounter<long>("gotrack.sinkworker.partitions_revoked", "{partition}", "Partitions taken from this instance by a rebalance.");
    }

    /// <summary>The values of <c>gotrack_sinkworker_dead_letters_total{reason}</c>: a closed set.</summary>
    public static IReadOnlyList<string> DeadLetterReasons { get; } =
        [PoisonReasons.NotJson, PoisonReasons.NoEventId, PoisonReasons.BadEventId, PoisonReasons.PostgresRejected, DeadLetterTopic.FallbackReason];

    /// <summary>
    /// Creates every counter series at zero. increase() and rate() need a sample before the first event:
    /// without one, an alert on the first dead letter of a reason never fires. Call once exporters listen
    /// (a measurement taken before is not seen): <see cref="ZeroSeries"/> does.
    /// </summary>
    public void ExportZeros()
    {
        foreach (var reason in DeadLetterReasons)
        {
            _deadLetters.Add(0, new KeyValuePair<string, object?>("reason", reason));
        }

        _retries.Add(0);
        _written.Add(0);
        _commitFailures.Add(0);
        _revoked.Add(0);
    }

    public void Batch(int size) => _batchSize.Record(size);

    public void Written(int count, TimeSpan latency)
    {
        _written.Add(count);
        _writeLatency.Record(latency.TotalSeconds);
    }

    public void Retry()
    {
        _retries.Add(1);
        Interlocked.Increment(ref _retriesTotal);
    }

    /// <summary>Failed attempts retried since start (the counter's value: the worker tells slow writes from failing ones by it).</summary>
    public long RetriesTotal => Interlocked.Read(ref _retriesTotal);

    public void DeadLetter(string reason, int count = 1) => _deadLetters.Add(count, new KeyValuePair<string, object?>("reason", reason));

    public void CommitFailed() => _commitFailures.Add(1);

    public void Revoked(int partitions)
    {
        _revoked.Add(partitions);
        Interlocked.Add(ref _revokedTotal, partitions);
    }

    /// <summary>Partitions revoked since start (the counter's value, for tests).</summary>
    public long RevokedTotal => Interlocked.Read(ref _revokedTotal);
}
