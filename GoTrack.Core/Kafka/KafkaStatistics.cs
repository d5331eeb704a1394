using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GoTrack.Core.Kafka;

/// <summary>
/// Turns librdkafka's statistics JSON into <c>gotrack.kafka.*</c> instruments. librdkafka calls the
/// statistics handler on its own thread; the handler only posts the text to a small bounded channel
/// (the oldest is dropped when full, since only the newest matters) and this service parses it off
/// that thread, as Aspire's Kafka component does.
/// </summary>
public sealed partial class KafkaStatistics : BackgroundService
{
    private readonly Channel<string> _channel = Channel.CreateBounded<string>(
        new BoundedChannelOptions(8) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });

    private readonly ConcurrentDictionary<string, Snapshot> _clients = new(StringComparer.Ordinal);
    private readonly ILogger<KafkaStatistics> _logger;

    public KafkaStatistics(IMeterFactory meterFactory, ILogger<KafkaStatistics> logger)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _logger = logger;
        var meter = meterFactory.Create(KafkaTelemetry.MeterName);
        meter.CreateObservableGauge("gotrack.kafka.queue.messages", () => Observe(s => s.QueueMessages), "{message}", "Messages in the client's queues, not yet acknowledged (producer) or handed to the application (consumer).");
        meter.CreateObservableGauge("gotrack.kafka.queue.bytes", () => Observe(s => s.QueueBytes), "By", "Bytes of messages in the client's queues.");
        meter.CreateObservableCounter("gotrack.kafka.requests.sent", () => Observe(s => s.RequestsSent), "{request}", "Requests sent to brokers.");
        meter.CreateObservableCounter("gotrack.kafka.bytes.sent", () => Observe(s => s.BytesSent), "By", "Bytes sent to brokers.");
        meter.CreateObservableCounter("gotrack.kafka.bytes.received", () => Observe(s => s.BytesReceived), "By", "Bytes received from brokers.");
        meter.CreateObservableCounter("gotrack.kafka.messages.sent", () => Observe(s => s.MessagesSent), "{message}", "Messages sent to brokers.");
        meter.CreateObservableCounter("gotrack.kafka.messages.received", () => Observe(s => s.MessagesReceived), "{message}", "Messages received from brokers.");
        meter.CreateObservableCounter("gotrack.kafka.request.errors", () => Observe(s => s.RequestErrors), "{error}", "Failed requests, over all brokers.");
        meter.CreateObservableCounter("gotrack.kafka.request.retries", () => Observe(s => s.RequestRetries), "{retry}", "Retried requests, over all brokers.");
        meter.CreateObservableGauge("gotrack.kafka.brokers.up", () => Observe(s => s.BrokersUp), "{broker}", "Brokers the client has a working connection to.");
        meter.CreateObservableGauge("gotrack.kafka.consumer.lag", () => Observe(s => s.ConsumerLag), "{message}", "Messages the consumer is behind the end of its assigned partitions.");
    }

    /// <summary>The statistics handler's body: never blocks librdkafka's thread.</summary>
    public void Post(string json) => _channel.Writer.TryWrite(json);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var json in _channel.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                if (Parse(json) is { } snapshot)
                {
                    _clients[snapshot.Client] = snapshot;
                }
                else
                {
                    LogUnreadable(_logger);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Reads one statistics document; null when it is not one.</summary>
    public static Snapshot? Parse(string json)
    {
        LibrdkafkaStats? stats;
        try
        {
            stats = JsonSerializer.Deserialize(json, KafkaStatsJson.Default.LibrdkafkaStats);
        }
        catch (JsonException)
        {
            return null;
        }

        if (stats?.Name is null)
        {
            return null;
        }

        long errors = 0, retries = 0, up = 0, lag = 0;
        foreach (var broker in stats.Brokers?.Values ?? Enumerable.Empty<BrokerStats>())
        {
            errors += broker.TxErrors;
            retries += broker.TxRetries;
            if (broker.NodeId >= 0 && broker.State == "UP")
            {
                up++;
            }
        }

        foreach (var topic in stats.Topics?.Values ?? Enumerable.Empty<TopicStats>())
        {
            foreach (var partition in topic.Partitions?.Values ?? Enumerable.Empty<PartitionStats>())
            {
                if (partition.Partition >= 0 && partition.ConsumerLag > 0)
                {
                    lag += partition.ConsumerLag;
                }
            }
        }

        return new Snapshot(stats.Name, stats.Type ?? "", stats.MsgCnt, stats.MsgSize, stats.Tx, stats.TxBytes, stats.RxBytes,
            stats.TxMsgs, stats.RxMsgs, errors, retries, up, lag);
    }

    private IEnumerable<Measurement<long>> Observe(Func<Snapshot, long> value)
    {
        foreach (var snapshot in _clients.Values)
        {
            yield return new Measurement<long>(value(snapshot), new KeyValuePair<string, object?>("client", snapshot.Client));
        }
    }

    [LoggerMessage(EventId = 300, Level = LogLevel.Debug, Message = "librdkafka statistics could not be read; skipped.")]
    private static partial void LogUnreadable(ILogger logger);

    /// <summary>What one statistics document says about a client.</summary>
    public sealed record Snapshot(string Client, string Type, long QueueMessages, long QueueBytes, long RequestsSent, long BytesSent,
        long BytesReceived, long MessagesSent, long MessagesReceived, long RequestErrors, long RequestRetries, long BrokersUp, long ConsumerLag);
}

internal sealed class LibrdkafkaStats
{
    [JsonPropertyName("name")] public string? Name { get; set; }
    [JsonPropertyName("type")] public string? Type { get; set; }
    [JsonPropertyName("msg_cnt")] public long MsgCnt { get; set; }
    [JsonPropertyName("msg_size")] public long MsgSize { get; set; }
    [JsonPropertyName("tx")] public long Tx { get; set; }
    [JsonPropertyName("tx_bytes")] public long TxBytes { get; set; }
    [JsonPropertyName("rx_bytes")] public long RxBytes { get; set; }
    [JsonPropertyName("txmsgs")] public long TxMsgs { get; set; }
    [JsonPropertyName("rxmsgs")] public long RxMsgs { get; set; }
    [JsonPropertyName("brokers")] public Dictionary<string, BrokerStats>? Brokers { get; set; }
    [JsonPropertyName("topics")] public Dictionary<string, TopicStats>? Topics { get; set; }
}

internal sealed class BrokerStats
{
    [JsonPropertyName("nodeid")] public int NodeId { get; set; }
    [JsonPropertyName("state")] public string? State { get; set; }
    [JsonPropertyName("txerrs")] public long TxErrors { get; set; }
    [JsonPropertyName("txretries")] public long TxRetries { get; set; }
}

internal sealed class TopicStats
{
    [JsonPropertyName("partitions")] public Dictionary<string, PartitionStats>? Partitions { get; set; }
}

internal sealed class PartitionStats
{
    [JsonPropertyName("partition")] public int Partition { get; set; }
    [JsonPropertyName("consumer_lag")] public long ConsumerLag { get; set; }
}

[JsonSerializable(typeof(LibrdkafkaStats))]
[JsonSourceGenerationOptions(NumberHandling = JsonNumberHandling.AllowReadingFromString)]
internal sealed partial class KafkaStatsJson : JsonSerializerContext;
