using GoTrack.Core.Kafka;
using GoTrack.DevKafka;
using GoTrack.Tests.Support;
using Microsoft.Extensions.Logging;

namespace GoTrack.Tests.Kafka;

/// <summary>
/// KAFKA_CREATE_TOPIC against a broker that cannot create topics: librdkafka's mock cluster has no
/// CreateTopics, so what can be shown here is the failure path, which must log and let the start go on
/// (readiness then says the topic is missing). Creating a topic on a real broker is not exercised here.
/// </summary>
public sealed class KafkaTopicInitializerTests
{
    [Fact]
    public async Task A_broker_that_cannot_create_the_topic_is_logged_and_the_start_goes_on()
    {
        using var cluster = new MockKafkaCluster(brokers: 1);
        using var logs = new CapturingLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs));
        var options = new KafkaOptions { Brokers = cluster.BootstrapServers, TopicPartitions = 4, TopicReplicationFactor = 1 };
        var initializer = new KafkaTopicInitializer(options, ["fresh.events"], factory.CreateLogger<KafkaTopicInitializer>());

        await initializer.StartAsync(CancellationToken.None);

        Assert.Contains(logs.Lines, l => l.StartsWith("Error", StringComparison.Ordinal)
            && l.Contains("KAFKA_CREATE_TOPIC: could not create topic fresh.events", StringComparison.Ordinal));
    }
}
