using System.Globalization;
using Confluent.Kafka;
using GoTrack.Core.Events;
using GoTrack.Core.Kafka;
using GoTrack.Core.Sinks;

namespace GoTrack.SinkWorker;

/// <summary>
/// Writes messages that can never become rows to KAFKA_DLQ_TOPIC: the original key, value and headers,
/// plus <c>dlq.reason</c> (a closed set), <c>dlq.error</c> (the detail) and where the message came from.
/// A batch's offsets are committed only after its dead letters are acknowledged. A dead letter the topic
/// refuses for good (too large with the added headers, not authorized) goes to DLQ_FALLBACK_PATH instead,
/// so that it cannot block the partition; other produce failures throw, and the send is retried.
/// After a fatal producer error (Local_Fatal on every send) the retry sends through a new producer: the
/// letters are still in hand, and the ones the topic acknowledged are not sent again.
/// </summary>
public sealed class DeadLetterTopic(KafkaProducerHost producers, SinkWorkerOptions options, SinkWorkerMetrics metrics, DeadLetterFile fallback)
{
    public const string ReasonHeader = "dlq.reason";
    public const string ErrorHeader = "dlq.error";
    public const string SourceHeader = "dlq.source";

    /// <summary>The metric reason of a dead letter that went to the fallback file.</summary>
    public const string FallbackReason = "dlq_refused";

    /// <summary>The DI key of the readiness probe for the dead-letter topic.</summary>
    public const string ProbeKey = "gotrack-kafka-dlq";

    /// <summary>
    /// Sends the letters not yet marked in <paramref name="sent"/>, and marks each one the topic acknowledges
    /// (or the fallback file took). The caller's retry passes the same array, so a letter the topic already
    /// has is never sent twice. Each letter is counted once, under its reason when the topic has it or under
    /// <see cref="FallbackReason"/> when the file took it.
    /// </summary>
    public async Task SendAsync(IReadOnlyList<(ConsumeResult<byte[], byte[]> Message, string Reason, string Error)> letters, bool[] sent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(letters);
        ArgumentNullException.ThrowIfNull(sent);
        if (letters.Count == 0)
        {
            return;
        }

        var producer = producers.Current();
        var sends = new Task?[letters.Count];
        for (var i = 0; i < letters.Count; i++)
        {
            if (sent[i])
            {
                continue;
            }

            var (message, reason, error) = letters[i];
            var headers = new Headers();
            foreach (var h in message.Message.Headers ?? [])
            {
                headers.Add(h.Key, h.GetValueBytes());
            }

            headers.Add(ReasonHeader, EventMessage.Utf8(reason));
            headers.Add(ErrorHeader, EventMessage.Utf8(error));
            headers.Add(SourceHeader, EventMessage.Utf8(Source(message)));
            sends[i] = producer.ProduceAsync(options.DeadLetterTopic, new Message<byte[], byte[]>
            {
                Key = message.Message.Key,
                Value = message.Message.Value,
                Headers = headers,
                Timestamp = message.Message.Timestamp,
            }, cancellationToken);
        }

        try
        {
            await Task.WhenAll(sends.Where(static t => t is not null)!).ConfigureAwait(false);
        }
        catch (ProduceException<byte[], byte[]>)
        {
            // Looked at one by one below.
        }

        var refused = new List<RejectedRecord>();
        var refusedAt = new List<int>();
        Exception? transient = null;
        for (var i = 0; i < sends.Length; i++)
        {
            if (sends[i] is not { } send)
            {
                continue;
            }

            if (send.IsCompletedSuccessfully)
            {
                // Counted here, once: a later call (the pipeline's retry) skips it.
                sent[i] = true;
                metrics.DeadLetter(letters[i].Reason);
            }
            else if (send.Exception?.InnerException is ProduceException<byte[], byte[]> e && IsPermanent(e.Error.Code))
            {
                var (message, reason, error) = letters[i];
                var record = new Record(Guid.Empty, message.Message.Timestamp.UtcDateTime, reason, message.Message.Value ?? []);
                refused.Add(new RejectedRecord(record, $"{Source(message)}: {reason}: {error}; the dead-letter topic refused it: {e.Error.Code} {e.Error.Reason}"));
                refusedAt.Add(i);
            }
            else
            {
                // Transient (no broker, topic not there yet): the caller's pipeline retries the rest.
                transient ??= send.Exception?.InnerException ?? (Exception?)send.Exception ?? new OperationCanceledException();
            }
        }

        if (refused.Count > 0)
        {
            await fallback.AppendAsync("sinkworker", refused, cancellationToken).ConfigureAwait(false);
            metrics.DeadLetter(FallbackReason, refused.Count);
            foreach (var i in refusedAt)
            {
                sent[i] = true;
            }
        }

        if (transient is not null)
        {
            throw transient;
        }
    }

    /// <summary>Errors no retry can fix for this message.</summary>
    public static bool IsPermanent(ErrorCode code) => code is ErrorCode.MsgSizeTooLarge or ErrorCode.InvalidMsgSize
        or ErrorCode.RecordListTooLarge or ErrorCode.InvalidRecord or ErrorCode.InvalidMsg
        or ErrorCode.TopicAuthorizationFailed or ErrorCode.ClusterAuthorizationFailed or ErrorCode.TopicException;

    private static string Source(ConsumeResult<byte[], byte[]> message) =>
        string.Create(CultureInfo.InvariantCulture, $"{message.Topic}/{message.Partition.Value}/{message.Offset.Value}");
}
