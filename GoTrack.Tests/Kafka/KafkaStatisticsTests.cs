using GoTrack.Core.Kafka;

namespace GoTrack.Tests.Kafka;

public sealed class KafkaStatisticsTests
{
    // Shaped like librdkafka's statistics (STATISTICS.md), trimmed to what we read plus some we ignore.
    private const string Producer = """
        {"name":"gotrack-ingest#producer-1","client_id":"gotrack-ingest","type":"producer","ts":1,"time":2,"age":3,
         "replyq":0,"msg_cnt":42,"msg_size":4200,"msg_max":100000,"msg_size_max":1073741824,
         "tx":10,"tx_bytes":9000,"rx":10,"rx_bytes":800,"txmsgs":500,"txmsg_bytes":50000,"rxmsgs":0,"rxmsg_bytes":0,
         "brokers":{
           "127.0.0.1:9092/bootstrap":{"name":"127.0.0.1:9092/bootstrap","nodeid":-1,"state":"UP","txerrs":0,"txretries":0,"rtt":{"avg":0}},
           "127.0.0.1:40001/1":{"name":"127.0.0.1:40001/1","nodeid":1,"state":"UP","txerrs":2,"txretries":3},
           "127.0.0.1:40002/2":{"name":"127.0.0.1:40002/2","nodeid":2,"state":"DOWN","txerrs":1,"txretries":4}},
         "topics":{"gotrack.events":{"topic":"gotrack.events","partitions":{
           "0":{"partition":0,"consumer_lag":-1},"-1":{"partition":-1,"consumer_lag":7}}}}}
        """;

    private const string Consumer = """
        {"name":"sinkworker#consumer-2","type":"consumer","msg_cnt":0,"msg_size":0,"tx":1,"tx_bytes":1,"rx_bytes":1,"txmsgs":0,"rxmsgs":90,
         "brokers":{},
         "topics":{"gotrack.events":{"partitions":{"0":{"partition":0,"consumer_lag":5},"1":{"partition":1,"consumer_lag":10},"2":{"partition":2,"consumer_lag":-1}}}}}
        """;

    [Fact]
    public void A_producer_document_becomes_a_snapshot()
    {
        var s = KafkaStatistics.Parse(Producer)!;
        Assert.Equal("gotrack-ingest#producer-1", s.Client);
        Assert.Equal("producer", s.Type);
        Assert.Equal(42, s.QueueMessages);
        Assert.Equal(4200, s.QueueBytes);
        Assert.Equal(500, s.MessagesSent);
        Assert.Equal(3, s.RequestErrors);
        Assert.Equal(7, s.RequestRetries);
        Assert.Equal(1, s.BrokersUp);
        Assert.Equal(0, s.ConsumerLag);
    }

    [Fact]
    public void Consumer_lag_sums_the_known_partitions()
    {
        var s = KafkaStatistics.Parse(Consumer)!;
        Assert.Equal(15, s.ConsumerLag);
        Assert.Equal(90, s.MessagesReceived);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("[]")]
    [InlineData("{}")]
    [InlineData("{\"name\":3}")]
    [InlineData("{\"name\":\"x\",\"brokers\":[1,2]}")]
    public void Anything_else_is_skipped(string json) => Assert.Null(KafkaStatistics.Parse(json));
}
