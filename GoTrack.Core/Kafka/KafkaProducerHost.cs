using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace GoTrack.Core.Kafka;

/// <summary>
/// Owns the producer, and replaces it after a fatal error. A fatal error (for example a broken idempotence
/// sequence) leaves a librdkafka producer unable to send anything until it is recreated; before, the kafka
/// sink failed every batch until someone restarted the process, and the log filled to 503s.
/// </summary>
/// <remarks>
/// Rebuilding is safe because the events are still in GoTrack's log: the sink releases a batch only when
/// the broker has acknowledged every message of it, and a retry re-sends only the messages the broker did
/// not acknowledge. A message that was in flight when the error came may reach the topic twice: at least
/// once, as always (same key; consumers dedupe on event_id).
/// </remarks>
public sealed partial class KafkaProducerHost : IDisposable
{
    private readonly Func<Action, IProducer<byte[], byte[]>> _build;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private IProducer<byte[], byte[]> _producer;
    private IAdminClient _admin;
    private volatile bool _fatal;
    private int _rebuilds;

    /// <param name="build">Builds a producer; the action it is given must be called on a fatal error.</param>
    public KafkaProducerHost(Func<Action, IProducer<byte[], byte[]>> build, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(build);
        _build = build;
        _logger = logger;
        _producer = build(MarkFatal);
        _admin = new DependentAdminClientBuilder(_producer.Handle).Build();
    }

    /// <summary>How many times the producer was replaced after a fatal error.</summary>
    public int Rebuilds => Volatile.Read(ref _rebuilds);

    /// <summary>An admin client over the current producer's connections (for the readiness probe).</summary>
    public IAdminClient Admin
    {
        get
        {
            lock (_lock)
            {
                return _admin;
            }
        }
    }

    /// <summary>Called from librdkafka's error callback: the next <see cref="Current"/> builds a new producer.</summary>
    public void MarkFatal() => _fatal = true;

    /// <summary>Whether the current producer had a fatal error and <see cref="Current"/> will replace it.</summary>
    public bool IsFatal => _fatal;

    /// <summary>The producer to send with: a new one if the current one had a fatal error.</summary>
    public IProducer<byte[], byte[]> Current()
    {
        if (!_fatal)
        {
            return _producer;
        }

        lock (_lock)
        {
            if (!_fatal)
            {
                return _producer;
            }

            // The sink has already ended every attempt that waited on the old producer's reports
            // (KafkaEventSink.WriteBatchAsync); a fatal producer sends nothing more, so it is closed as it is.
            _admin.Dispose();
            _producer.Dispose();
            _producer = _build(MarkFatal);
            _admin = new DependentAdminClientBuilder(_producer.Handle).Build();
            _fatal = false;
            Interlocked.Increment(ref _rebuilds);
            LogRebuilt(_logger);
            return _producer;
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _admin.Dispose();
            _producer.Dispose();
        }
    }

    [LoggerMessage(EventId = 323, Level = LogLevel.Warning,
        Message = "Kafka producer replaced after a fatal error; the messages the broker had not acknowledged are sent again from the event log.")]
    private static partial void LogRebuilt(ILogger logger);
}
