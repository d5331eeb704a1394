using System.Globalization;
using Confluent.Kafka;

namespace GoTrack.SinkWorker;

/// <summary>
/// Writes messages that can never become rows to KAFKA_DLQ_TOPIC: the original key, value and headers,
/// plus <c>dlq.reason</c> (a closed set), <c>dlq.error</c> (the detail) and where the message came from.
/// A batch's offsets are committed only after its dead letters are acknowledged.
/// </summary>
public sealed class DeadLetterTopic(IProducer<byte[], byte[]> producer, SinkWorkerOptions options, SinkWorkerMetrics metrics)
{
    public const string ReasonHeader = "dlq.reason";
    public const string ErrorHeader = "dlq.error";
    public const string SourceHeader = "dlq.source";

    /// <summary>The DI key of the readiness probe for the dead-letter topic.</summary>
    public const string ProbeKey = "gotrack-kafka-dlq";

    public async Task SendAsync(IReadOnlyList<(ConsumeResult<byte[], byte[]> Message, string Reason, string Error)> letters, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(letters);
        if (letters.Count == 0)
        {
            return;
        }

        var sends = new Task[letters.Count];
        for (var i = 0; i < letters.Count; i++)
        {
            var (message, reason, error) = letters[i];
            var headers = new Headers();
            foreach (var h in message.Message.Headers ?? [])
            {
                headers.Add(h.Key, h.GetValueBytes());
            }

            headers.Add(ReasonHeader, EventMessage.Utf8(reason));
            headers.Add(ErrorHeader, EventMessage.Utf8(error));
            headers.Add(SourceHeader, EventMessage.Utf8(string.Create(CultureInfo.InvariantCulture,
                $"{message.Topic}/{message.Partition.Value}/{message.Offset.Value}")));
            sends[i] = producer.ProduceAsync(options.DeadLetterTopic, new Message<byte[], byte[]>
            {
                Key = message.Message.Key,
                Value = message.Message.Value,
                Headers = headers,
                Timestamp = message.Message.Timestamp,
            }, cancellationToken);
        }

        await Task.WhenAll(sends).ConfigureAwait(false);
        foreach (var group in letters.GroupBy(l => l.Reason))
        {
            metrics.DeadLetter(group.Key, group.Count());
        }
    }
}
