using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GoTrack.Core.Kafka;

/// <summary>
/// KAFKA_CREATE_TOPIC, a development aid: creates the topics at start when they are missing. A failure is
/// logged and the start goes on; readiness then says the topic is missing.
/// </summary>
public sealed partial class KafkaTopicInitializer(KafkaOptions options, IReadOnlyList<string> topics, ILogger<KafkaTopicInitializer> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        using var admin = new AdminClientBuilder(options.ToAdminConfig()).Build();
        foreach (var topic in topics)
        {
            var spec = new TopicSpecification
            {
                Name = topic,
                NumPartitions = options.TopicPartitions,
                ReplicationFactor = options.TopicReplicationFactor,
            };
            try
            {
                await admin.CreateTopicsAsync([spec], new CreateTopicsOptions { RequestTimeout = TimeSpan.FromSeconds(10), OperationTimeout = TimeSpan.FromSeconds(10) })
                    .WaitAsync(cancellationToken).ConfigureAwait(false);
                LogCreated(logger, topic, options.TopicPartitions, options.TopicReplicationFactor);
            }
            catch (CreateTopicsException e) when (e.Results.All(r => r.Error.Code == ErrorCode.TopicAlreadyExists))
            {
                LogExists(logger, topic);
            }
            catch (KafkaException e)
            {
                LogFailed(logger, topic, e.Error.Reason);
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 310, Level = LogLevel.Information, Message = "KAFKA_CREATE_TOPIC: created topic {Topic} with {Partitions} partitions, replication factor {Replication}.")]
    private static partial void LogCreated(ILogger logger, string topic, int partitions, short replication);

    [LoggerMessage(EventId = 311, Level = LogLevel.Information, Message = "KAFKA_CREATE_TOPIC: topic {Topic} already exists.")]
    private static partial void LogExists(ILogger logger, string topic);

    [LoggerMessage(EventId = 312, Level = LogLevel.Error, Message = "KAFKA_CREATE_TOPIC: could not create topic {Topic}: {Reason}. Create it by hand (see README).")]
    private static partial void LogFailed(ILogger logger, string topic, string reason);
}
