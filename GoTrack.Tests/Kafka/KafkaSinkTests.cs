using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using GoTrack.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace GoTrack.Tests.Kafka;

/// <summary>
/// GoTrack.Ingest with OUTPUTS=kafka,log against librdkafka's mock cluster: real Kafka protocol over
/// TCP, real producer, real consumer. Each test gets its own cluster.
/// </summary>
public sealed class KafkaSinkTests : IDisposable
{
    private readonly MockKafka _kafka = new();

    public void Dispose() => _kafka.Dispose();

    [Fact]
    public async Task Each_event_is_one_message_keyed_by_event_id_with_the_NDJSON_bytes_and_headers()
    {
        using var app = _kafka.Ingest();
        var client = app.CreateClient();
        Assert.Equal(3, await client.SendPixelsAsync(3));
        using (var collect = await client.PostAsync("/collect", new StringContent(
            """[{"e":"signup","uid":"u1","props":{"plan":"pro"}},{"e":"click","url":"https://example.com/x"}]""",
            Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.Accepted, collect.StatusCode);
        }

        await app.WaitDeliveredAsync();
        var lines = app.Lines();
        Assert.Equal(5, lines.Length);
        var messages = await _kafka.ReadAsync(5);
        Assert.Equal(5, messages.Count);

        var byKey = messages.ToDictionary(m => m.Key());
        foreach (var line in lines)
        {
            using var doc = JsonDocument.Parse(line);
            var id = doc.RootElement.GetProperty("event_id").GetString()!;
            var message = byKey[id];
            Assert.Equal(Encoding.UTF8.GetBytes(line), message.Message.Value);
            Assert.Equal(doc.RootElement.GetProperty("e").GetString(), message.Header("event_type"));
            Assert.Equal("v1", message.Header("schema"));
            Assert.Equal(doc.RootElement.GetProperty("ts").GetDateTimeOffset(), message.Message.Timestamp.UtcDateTime);
        }
    }

    [Theory]
    [InlineData("none")]
    [InlineData("gzip")]
    [InlineData("snappy")]
    [InlineData("lz4")]
    [InlineData("zstd")]
    public async Task Every_compression_codec_round_trips_the_same_bytes(string codec)
    {
        using var app = _kafka.Ingest(("KAFKA_COMPRESSION", codec));
        var client = app.CreateClient();
        Assert.Equal(50, await client.SendPixelsAsync(50, codec));
        await app.WaitDeliveredAsync();

        var messages = await _kafka.ReadAsync(50);
        Assert.Equal(
            app.Lines().Order(StringComparer.Ordinal),
            messages.Select(m => m.Value()).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Readyz_is_not_ready_once_no_broker_has_answered_for_the_grace_and_ready_again_after()
    {
        using var app = _kafka.Ingest(("READY_SINK_GRACE_MS", "500"));
        var client = app.CreateClient();
        await client.WaitReadyStatusAsync(HttpStatusCode.OK, TimeSpan.FromSeconds(20));

        _kafka.Cluster.SetBrokerDown();
        await client.WaitReadyStatusAsync(HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(20));
        using (var ready = await client.GetAsync("/readyz"))
        {
            Assert.Contains("sink-kafka", await ready.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        _kafka.Cluster.SetBrokerUp();
        await client.WaitReadyStatusAsync(HttpStatusCode.OK, TimeSpan.FromSeconds(30));
    }

    [Theory]
    [InlineData("memory")]
    [InlineData("wal")]
    public async Task An_outage_of_several_seconds_loses_nothing(string ackMode)
    {
        using var app = _kafka.Ingest(("ACK_MODE", ackMode));
        var client = app.CreateClient();
        Assert.Equal(20, await client.SendPixelsAsync(20, "before"));
        await app.WaitDeliveredAsync();

        _kafka.Cluster.SetBrokerDown();
        Assert.Equal(200, await client.SendPixelsAsync(200, "during"));
        // The outage lasts until the sink has failed a batch (KAFKA_MESSAGE_TIMEOUT_MS) and retried it.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (app.SinkCounter("gotrack.sink_failures", "kafka") < 2)
        {
            Assert.True(DateTime.UtcNow < deadline, "the kafka sink never failed a batch: the broker was not down for it");
            await Task.Delay(50);
        }

        _kafka.Cluster.SetBrokerUp();
        await app.WaitDeliveredAsync(TimeSpan.FromSeconds(60));

        var messages = await _kafka.ReadAsync(220);
        var expected = app.Lines().Select(l => JsonDocument.Parse(l).RootElement.GetProperty("event_id").GetString()!).ToHashSet();
        Assert.Equal(220, expected.Count);
        Assert.Equal(expected, messages.Select(m => m.Key()).ToHashSet());
        Assert.Equal(220, messages.Count);
    }

    [Fact]
    public async Task Injected_produce_errors_are_retried_and_each_event_lands_exactly_once()
    {
        using var app = _kafka.Ingest();
        var client = app.CreateClient();
        Assert.Equal(5, await client.SendPixelsAsync(5, "warm"));
        await app.WaitDeliveredAsync();

        // Retriable errors on the next Produce requests, whichever broker gets them.
        _kafka.Cluster.PushRequestErrors(0,
            ErrorCode.NotLeaderForPartition, ErrorCode.RequestTimedOut, ErrorCode.NotEnoughReplicas,
            ErrorCode.NotEnoughReplicasAfterAppend, ErrorCode.LeaderNotAvailable, ErrorCode.NetworkException);
        Assert.Equal(300, await client.SendPixelsAsync(300, "err"));
        await app.WaitDeliveredAsync(TimeSpan.FromSeconds(60));

        var messages = await _kafka.ReadAsync(305);
        Assert.Equal(305, messages.Count);
        Assert.Equal(305, messages.Select(m => m.Key()).Distinct().Count());
    }

    [Theory]
    [InlineData(ErrorCode.NotLeaderForPartition)]
    [InlineData(ErrorCode.RequestTimedOut)]
    [InlineData(ErrorCode.NotEnoughReplicas)]
    [InlineData(ErrorCode.NotEnoughReplicasAfterAppend)]
    [InlineData(ErrorCode.LeaderNotAvailable)]
    [InlineData(ErrorCode.NetworkException)]
    public async Task Each_kind_of_produce_error_is_absorbed_without_loss_or_duplicates(ErrorCode error)
    {
        using var app = _kafka.Ingest();
        var client = app.CreateClient();
        Assert.Equal(5, await client.SendPixelsAsync(5, "warm"));
        await app.WaitDeliveredAsync();

        _kafka.Cluster.PushRequestErrors(0, error, error, error);
        Assert.Equal(100, await client.SendPixelsAsync(100, "err"));
        await app.WaitDeliveredAsync(TimeSpan.FromSeconds(60));

        var messages = await _kafka.ReadAsync(105);
        Assert.Equal(105, messages.Count);
        Assert.Equal(105, messages.Select(m => m.Key()).Distinct().Count());
    }

    [Fact]
    public async Task A_failing_topic_fails_batches_which_are_retried_until_it_recovers()
    {
        using var app = _kafka.Ingest(("READY_SINK_GRACE_MS", "500"));
        var client = app.CreateClient();
        await client.WaitReadyStatusAsync(HttpStatusCode.OK, TimeSpan.FromSeconds(20));

        // A non-retriable error for every produce: librdkafka fails the messages, the sink fails the
        // batch, and the runner retries it whole until the topic works again.
        _kafka.Cluster.SetTopicError(MockKafka.Topic, ErrorCode.TopicAuthorizationFailed);
        Assert.Equal(40, await client.SendPixelsAsync(40));
        await client.WaitReadyStatusAsync(HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(20));
        _kafka.Cluster.SetTopicError(MockKafka.Topic, ErrorCode.NoError);
        await app.WaitDeliveredAsync(TimeSpan.FromSeconds(60));

        var messages = await _kafka.ReadAsync(40);
        Assert.Equal(40, messages.Count);
        Assert.Equal(40, messages.Select(m => m.Key()).Distinct().Count());
    }

    [Fact]
    public async Task A_full_log_answers_503_while_no_broker_is_reachable_and_the_accepted_events_arrive_later()
    {
        using var app = _kafka.Ingest(("QUEUE_MAX_EVENTS", "25"), ("MAX_BATCH_EVENTS", "25"));
        var client = app.CreateClient();
        await client.WaitReadyStatusAsync(HttpStatusCode.OK, TimeSpan.FromSeconds(20));
        _kafka.Cluster.SetBrokerDown();

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 40; i++)
        {
            using var r = await client.GetAsync($"/px.gif?url=https%3A%2F%2Fexample.com%2F{i}");
            statuses.Add(r.StatusCode);
            if (r.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                Assert.True(r.Headers.RetryAfter is not null);
            }
        }

        var accepted = statuses.Count(s => s == HttpStatusCode.OK);
        Assert.Equal(25, accepted);
        Assert.Equal(15, statuses.Count(s => s == HttpStatusCode.ServiceUnavailable));

        _kafka.Cluster.SetBrokerUp();
        await app.WaitDeliveredAsync(TimeSpan.FromSeconds(60));
        var messages = await _kafka.ReadAsync(25);
        Assert.Equal(25, messages.Count);
        Assert.Equal(25, messages.Select(m => m.Key()).Distinct().Count());
    }

    [Fact]
    public async Task Shutdown_delivers_every_accepted_event_before_the_host_stops()
    {
        var app = _kafka.Ingest(("FLUSH_INTERVAL_MS", "200"), ("BATCH_SIZE", "1000"));
        var client = app.CreateClient();
        Assert.Equal(500, await client.SendPixelsAsync(500));
        app.Dispose();

        var messages = await _kafka.ReadAsync(500);
        Assert.Equal(500, messages.Count);
        Assert.Equal(500, messages.Select(m => m.Key()).Distinct().Count());
    }

    [Fact]
    public async Task A_missing_topic_makes_readyz_say_so()
    {
        using var app = _kafka.Ingest(("KAFKA_TOPIC", "no.such.topic"), ("READY_SINK_GRACE_MS", "500"));
        var client = app.CreateClient();
        await client.WaitReadyStatusAsync(HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(20));
        using var ready = await client.GetAsync("/readyz");
        Assert.Contains("no.such.topic", await ready.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_request_trace_travels_in_the_message_headers()
    {
        var traceId = ActivityTraceId.CreateRandom();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name is "Microsoft.AspNetCore" or "GoTrack.Kafka",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);

        using var app = _kafka.Ingest();
        var client = app.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/px.gif?e=traced");
        request.Headers.Add("traceparent", $"00-{traceId.ToHexString()}-{ActivitySpanId.CreateRandom().ToHexString()}-01");
        using (var response = await client.SendAsync(request))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        await app.WaitDeliveredAsync();
        var message = Assert.Single(await _kafka.ReadAsync(1));
        var parent = message.Header("traceparent");
        Assert.NotNull(parent);
        Assert.StartsWith($"00-{traceId.ToHexString()}-", parent, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Librdkafka_statistics_become_gotrack_kafka_metrics()
    {
        using var app = _kafka.Ingest(("KAFKA_STATS_INTERVAL_MS", "100"));
        var client = app.CreateClient();
        Assert.Equal(10, await client.SendPixelsAsync(10));
        await app.WaitDeliveredAsync();

        // librdkafka counts messages per produce request; wait for a snapshot taken after all ten. Only this
        // host's producer, from this host's meter (/metrics in a test process is not reliably one host's own:
        // see HostMeter); the names are checked in /metrics.
        var producer = app.Services.GetRequiredService<GoTrack.Core.Kafka.KafkaProducerHost>().Current().Name;
        var deadline = DateTime.UtcNow.AddSeconds(15);
        double? sent = 0;
        while (DateTime.UtcNow < deadline && sent < 10)
        {
            await Task.Delay(200);
            sent = HostMeter.Observe(app.Services, "gotrack.kafka.messages.sent", ("client", producer));
        }

        // Ten messages and no error: librdkafka sent each once (a retried produce would count again).
        Assert.Equal(10, sent);
        Assert.True(HostMeter.Observe(app.Services, "gotrack.kafka.brokers.up", ("client", producer)) >= 1);
        var text = await client.GetStringAsync("/metrics");
        Assert.Contains("gotrack_kafka_messages_sent_total{", text, StringComparison.Ordinal);
        Assert.Contains("gotrack_kafka_queue_messages{", text, StringComparison.Ordinal);
    }
}
