using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using GoTrack.Core.Events;
using GoTrack.Core.Sinks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace GoTrack.Core.Kafka;

/// <summary>
/// The <c>kafka</c> sink. Each record becomes one message: key = event_id, value = the event JSON (the
/// NDJSON line's bytes), headers <c>event_type</c> and <c>schema=v1</c> (plus the trace context). A
/// batch is done only when the broker has acknowledged every message in it; any failure fails the
/// batch, which the runner retries. The retry re-sends only the messages the broker did not acknowledge,
/// so duplicates come only from a message whose fate librdkafka could not know (at least once; a
/// duplicate carries the same key).
/// </summary>
/// <remarks>
/// Messages go through the delivery-handler <c>Produce</c>, so librdkafka batches them freely and one
/// completion per batch is awaited. librdkafka gives up on a message after KAFKA_MESSAGE_TIMEOUT_MS
/// (validated to be below SINK_TIMEOUT_MS, with request.timeout.ms below it), so an attempt's reports are
/// normally in before the attempt could be abandoned; if one is abandoned anyway, its retry waits for
/// the outstanding reports before sending, so retries never pile copies up in librdkafka's buffer.
/// </remarks>
public sealed class KafkaEventSink(KafkaProducerHost producers, KafkaOptions options, KafkaMetadataProbe probe) : IEventSink
{
    public const string SinkName = "kafka";
    public const string EventTypeHeader = "event_type";
    public const string SchemaHeader = "schema";
    public const string SchemaVersion = "v1";

    private static readonly byte[] SchemaValue = Encoding.ASCII.GetBytes(SchemaVersion);

    // The latest attempt of each batch in flight, by its first record: its reports, and which messages
    // the broker acknowledged. At most one entry per batch in flight; removed when the batch succeeds.
    private readonly ConcurrentDictionary<Record, BatchDelivery> _partial = new(ReferenceEqualityComparer.Instance);

    public string Name => SinkName;

    /// <summary>Batches may overlap: the idempotent producer keeps each partition in order.</summary>
    public int MaxConcurrency => int.MaxValue;

    public async ValueTask WriteBatchAsync(ReadOnlyMemory<Record> batch, CancellationToken cancellationToken)
    {
        if (batch.IsEmpty)
        {
            return;
        }

        // After a fatal error the producer is replaced. The old one may never report on what it still held,
        // so every attempt still waiting on it is ended first: its unacknowledged messages count as failed
        // and are sent again by the new producer.
        if (producers.IsFatal)
        {
            foreach (var outstanding in _partial.Values)
            {
                outstanding.Abandon(0, new Error(ErrorCode.Local_Fatal, "the producer was replaced after a fatal error"));
            }
        }

        var producer = producers.Current();

        // A retry of a batch sends only what the broker has not acknowledged. If the earlier attempt was
        // abandoned (timed out) with messages still in librdkafka, wait for their reports first, so the
        // same messages are never in librdkafka twice.
        var first = batch.Span[0];
        bool[]? earlier = null;
        if (_partial.TryGetValue(first, out var previous) && previous.Persisted.Length == batch.Length)
        {
            await previous.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            earlier = previous.Persisted;
        }

        var delivery = new BatchDelivery(batch.Length, earlier);
        _partial[first] = delivery;
        var records = batch.Span;
        for (var i = 0; i < records.Length; i++)
        {
            if (earlier is not null && earlier[i])
            {
                continue;
            }

            var record = records[i];
            var activity = KafkaTelemetry.StartPublish(options.Topic, record.Origin);
            var message = ToMessage(record, activity?.Context ?? record.Origin);
            try
            {
                producer.Produce(options.Topic, message, delivery.Handler(i, activity));
            }
            catch (KafkaException e)
            {
                // Refused before it was queued (the bounded buffer is full, the producer is closing, ...):
                // this message and the rest of the batch will have no report.
                activity?.SetStatus(ActivityStatusCode.Error, e.Error.Reason);
                activity?.Dispose();
                delivery.Abandon(i, e.Error);
                break;
            }
        }

        await delivery.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (delivery.FirstError is { } error)
        {
            throw new KafkaException(error);
        }

        _partial.TryRemove(first, out _);
    }

    public async ValueTask<HealthCheckResult> CheckHealthAsync(CancellationToken cancellationToken) =>
        await probe.CheckHealthAsync(new HealthCheckContext(), cancellationToken).ConfigureAwait(false);

    /// <summary>The message for one record; <paramref name="trace"/> is the context it carries, if any.</summary>
    public static Message<byte[], byte[]> ToMessage(Record record, ActivityContext trace)
    {
        ArgumentNullException.ThrowIfNull(record);
        var key = new byte[36];
        record.EventId.TryFormat(key, out _, "D");
        var headers = new Headers
        {
            { EventTypeHeader, Encoding.UTF8.GetBytes(record.Type) },
            { SchemaHeader, SchemaValue },
        };
        KafkaTelemetry.Inject(trace, headers);
        return new Message<byte[], byte[]>
        {
            Key = key,
            Value = record.Json,
            Headers = headers,
            Timestamp = new Timestamp(record.Timestamp),
        };
    }

    /// <summary>Counts one batch's delivery reports down; completes when every message has one.</summary>
    private sealed class BatchDelivery
    {
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _remaining;
        private Error? _firstError;

        public BatchDelivery(int count, bool[]? earlier)
        {
            Persisted = new bool[count];
            _remaining = count;
            if (earlier is not null)
            {
                earlier.CopyTo(Persisted, 0);
                _remaining -= earlier.Count(static p => p);
            }

            if (_remaining == 0)
            {
                _done.TrySetResult();
            }
        }

        /// <summary>Which messages the broker has acknowledged (in this attempt or an earlier one).</summary>
        public bool[] Persisted { get; }

        public Task Task => _done.Task;

        public Error? FirstError => Volatile.Read(ref _firstError);

        public Action<DeliveryReport<byte[], byte[]>> Handler(int index, Activity? activity) => report =>
        {
            if (report.Error.IsError)
            {
                Interlocked.CompareExchange(ref _firstError, report.Error, null);
                activity?.SetStatus(ActivityStatusCode.Error, report.Error.Reason);
            }
            else
            {
                Persisted[index] = true;
                activity?.SetTag("messaging.destination.partition.id", report.Partition.Value);
                activity?.SetTag("messaging.kafka.offset", report.Offset.Value);
            }

            activity?.Dispose();
            CountDown(1);
        };

        /// <summary>Messages from <paramref name="from"/> on were never queued and will get no report.</summary>
        public void Abandon(int from, Error error)
        {
            Interlocked.CompareExchange(ref _firstError, error, null);
            var unsent = 0;
            for (var i = from; i < Persisted.Length; i++)
            {
                unsent += Persisted[i] ? 0 : 1;
            }

            CountDown(unsent);
        }

        private void CountDown(int count)
        {
            if (count > 0 && Interlocked.Add(ref _remaining, -count) == 0)
            {
                _done.TrySetResult();
            }
        }
    }
}
