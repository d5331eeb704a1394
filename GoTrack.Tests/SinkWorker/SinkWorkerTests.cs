extern alias sinkworker;

using System.Text;
using Confluent.Kafka;
using GoTrack.Tests.Kafka;
using GoTrack.Tests.Postgres;
using GoTrack.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Worker = sinkworker::GoTrack.SinkWorker;

namespace GoTrack.Tests.SinkWorker;

/// <summary>
/// GoTrack.SinkWorker in process against librdkafka's mock cluster and a real PostgreSQL. Every case
/// ends with zero loss. Duplicate rows cannot exist (event_id is the table's unique key), so where a case
/// says "once" it counts what the worker handed to Postgres: gotrack.sinkworker.events, summed over its
/// instances, against the messages produced.
/// </summary>
public sealed class SinkWorkerTests : IAsyncLifetime
{
    /// <summary>gotrack_sinkworker_events_total: messages handed to Postgres in batches that were written.</summary>
    internal const string EventsCounter = "gotrack.sinkworker.events";

    private SinkWorkerRig _rig = null!;

    public async Task InitializeAsync() => _rig = await SinkWorkerRig.CreateAsync();

    public async Task DisposeAsync() => await _rig.DisposeAsync();

    /// <summary>
    /// No batch is larger than PG_BATCH_SIZE. Rows of one batch share a transaction, so their xmin says which
    /// batch wrote them. It saw 11 of 10 while SinkWorker read ahead (taken out again), and again against a
    /// flush that waited for more than PG_BATCH_SIZE messages.
    /// </summary>
    [Fact]
    public async Task A_batch_is_never_larger_than_PG_BATCH_SIZE()
    {
        await _rig.ProduceAsync(Rows.Many(300));
        using var host = await _rig.StartWorkerAsync(("PG_BATCH_SIZE", "10"), ("PG_FLUSH_MS", "1000"));
        await _rig.WaitRowsAsync(300);

        var largest = await Sql.ScalarAsync<long>(_rig.Check, "select max(n) from (select count(*) as n from events_json group by xmin::text) as batches");
        Assert.Equal(10, largest);
    }

    [Fact]
    public async Task Events_land_once_each_even_when_messages_repeat_and_offsets_are_committed()
    {
        var records = Rows.Many(300);

        // Every tenth event is produced twice, as a retried batch upstream would.
        await _rig.ProduceAsync(records.Concat(records.Where((_, i) => i % 10 == 0)));
        using var host = await _rig.StartWorkerAsync();
        await _rig.WaitRowsAsync(300);

        Assert.Equal(records.Select(r => r.EventId).ToHashSet(), await Sql.EventIdsAsync(_rig.Check));
        var payload = await Sql.ScalarAsync<string>(_rig.Check, $"select payload::text from events_json where event_id = '{records[7].EventId}'");
        Assert.Contains("\"n\": 7", payload, StringComparison.Ordinal);

        await host.StopAsync();
        Assert.Equal(330, _rig.CommittedTotal());
        // Each of the 330 messages went to Postgres in exactly one written batch: the table absorbed the 30 repeats.
        Assert.Equal(330, _rig.WorkerCounter(EventsCounter));
    }

    [Fact]
    public async Task Poison_messages_go_to_the_dead_letter_topic_with_the_reason_and_never_block_the_partition()
    {
        var good = Rows.Many(20);
        await _rig.ProduceAsync(good.Take(10));
        await _rig.ProduceRawAsync(
            "not json",
            "[1,2,3]",
            "{\"e\":\"pageview\"}",
            "{\"event_id\":\"abc\"}",
            "{\"event_id\":42}",
            "{\"event_id\":\"0193a2b4-0000-7000-8000-000000000001\"} trailing",
            null);
        await _rig.ProduceAsync([Rows.WithNul()]);
        await _rig.ProduceAsync(good.Skip(10));

        using var host = await _rig.StartWorkerAsync();
        await _rig.WaitRowsAsync(20);
        var letters = await _rig.Kafka.ReadAsync(8, topic: SinkWorkerRig.DeadLetterTopic);
        Assert.Equal(
            ["bad_event_id", "bad_event_id", "no_event_id", "not_json", "not_json", "not_json", "not_json", "postgres_rejected"],
            letters.Select(l => l.Header(Worker.DeadLetterTopic.ReasonHeader)!).Order(StringComparer.Ordinal));
        Assert.All(letters, l => Assert.StartsWith(MockKafka.Topic + "/", l.Header(Worker.DeadLetterTopic.SourceHeader), StringComparison.Ordinal));
        Assert.Contains(letters, l => l.Message.Value is not null && Encoding.UTF8.GetString(l.Message.Value) == "not json");

        await host.StopAsync();
        Assert.Equal(28, _rig.CommittedTotal());

        // Only what Postgres took counts as written: the 20 good rows, not the row it refused (a review found
        // the refused one counted too).
        Assert.Equal(20, _rig.WorkerCounter(EventsCounter));
    }

    [Fact]
    public async Task A_dead_letter_the_topic_refuses_for_good_goes_to_the_fallback_file_and_the_partition_moves_on()
    {
        using var dir = new GoTrack.Tests.Support.TempDir();
        var fallback = dir.File("fallback.ndjson");
        _rig.Kafka.Cluster.SetTopicError(SinkWorkerRig.DeadLetterTopic, ErrorCode.TopicAuthorizationFailed);
        await _rig.ProduceAsync(Rows.Many(10));
        await _rig.ProduceRawAsync("not json", "{\"event_id\":\"abc\"}");

        using var host = await _rig.StartWorkerAsync(("DLQ_FALLBACK_PATH", fallback));
        await _rig.WaitRowsAsync(10);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (_rig.CommittedTotal() < 12 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }

        Assert.Equal(12, _rig.CommittedTotal());
        var lines = File.ReadAllLines(fallback);
        Assert.Equal(2, lines.Length);
        Assert.Contains(lines, l => l.Contains("not_json", StringComparison.Ordinal) && l.Contains("TopicAuthorizationFailed", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("bad_event_id", StringComparison.Ordinal));

        // Counted once each, as dlq_refused (they never reached the topic), not also under their own reasons.
        Assert.Equal(2, _rig.WorkerCounter("gotrack.sinkworker.dead_letters"));
        Assert.Equal(2, _rig.WorkerCounter("gotrack.sinkworker.dead_letters", "reason", Worker.DeadLetterTopic.FallbackReason));
    }

    [Fact]
    public async Task Brokers_down_and_up_mid_stream_lose_nothing_and_readiness_follows()
    {
        var logs = new CapturingLoggerProvider();
        using var host = await _rig.StartWorkerAsync(logs);
        var records = Rows.Many(1000);
        await _rig.ProduceAsync(records.Take(500));
        await _rig.WaitRowsAsync(500);
        Assert.Equal(HealthStatus.Healthy, (await SinkWorkerRig.ReadinessAsync(host)).Status);

        _rig.Kafka.Cluster.SetBrokerDown();
        await SinkWorkerRig.WaitCheckAsync(host, "kafka", HealthStatus.Unhealthy);
        // Not only the probe: the worker's own consumer has lost its brokers (its error handler said so).
        await SinkWorkerRig.WaitForAsync(
            () => logs.Lines.Any(l => l.StartsWith("Warning GoTrack.Kafka.Consumer: Kafka client error", StringComparison.Ordinal)),
            "the consumer to report the outage");
        _rig.Kafka.Cluster.SetBrokerUp();

        await _rig.ProduceAsync(records.Skip(500));
        await _rig.WaitRowsAsync(1000);
        Assert.Equal(records.Select(r => r.EventId).ToHashSet(), await Sql.EventIdsAsync(_rig.Check));
    }

    [Fact]
    public async Task Readiness_probes_are_made_once_not_per_check()
    {
        using var host = await _rig.StartWorkerAsync();
        var registrations = host.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<HealthCheckServiceOptions>>().Value.Registrations;
        foreach (var name in new[] { "kafka", "kafka-dlq" })
        {
            var registration = registrations.Single(r => r.Name == name);
            Assert.Same(registration.Factory(host.Services), registration.Factory(host.Services));
        }
    }

    [Fact]
    public async Task A_graceful_stop_commits_what_was_written_and_a_new_instance_carries_on()
    {
        var records = Rows.Many(400);
        using (var first = await _rig.StartWorkerAsync())
        {
            await _rig.ProduceAsync(records.Take(200));
            await _rig.WaitRowsAsync(200);
            await first.StopAsync();
        }

        Assert.Equal(200, _rig.CommittedTotal());
        await _rig.ProduceAsync(records.Skip(200));
        using var second = await _rig.StartWorkerAsync();
        await _rig.WaitRowsAsync(400);
        await second.StopAsync();
        Assert.Equal(400, _rig.CommittedTotal());
    }

    [Fact]
    public async Task Two_instances_share_the_partitions_and_write_each_event_once()
    {
        using var a = await _rig.StartWorkerAsync();
        using var b = await _rig.StartWorkerAsync();
        // The rebalance is over before the first message: then nothing is read again after a revoke, and
        // "once" is exact. (A partition moving mid-stream may be re-read from its last commit: at least once.)
        var consumerA = a.Services.GetRequiredService<IConsumer<byte[], byte[]>>();
        var consumerB = b.Services.GetRequiredService<IConsumer<byte[], byte[]>>();
        await SinkWorkerRig.WaitForAsync(
            () => consumerA.Assignment.Count > 0 && consumerB.Assignment.Count > 0 && consumerA.Assignment.Count + consumerB.Assignment.Count == 3,
            "both instances to hold partitions");

        // When the first instance was assigned every partition before the second joined, that join revoked one
        // (counted); that is before any message. From here on, no partition may move.
        var revokedBefore = _rig.WorkerCounter("gotrack.sinkworker.partitions_revoked");
        var records = Rows.Many(1500);
        await _rig.ProduceAsync(records);
        await _rig.WaitRowsAsync(1500);
        Assert.Equal(records.Select(r => r.EventId).ToHashSet(), await Sql.EventIdsAsync(_rig.Check));

        // Each message was handed to Postgres by one instance, once (a batch is counted before its commit).
        await SinkWorkerRig.WaitForAsync(() => _rig.CommittedTotal() == 1500, "every offset to be committed");
        Assert.Equal(1500, _rig.WorkerCounter(EventsCounter));
        Assert.Equal(revokedBefore, _rig.WorkerCounter("gotrack.sinkworker.partitions_revoked"));
    }
}

/// <summary>Dead letters and retries: what the topic has acknowledged is never sent again.</summary>
public sealed class DeadLetterRetryTests : IAsyncLifetime
{
    private SinkWorkerRig _rig = null!;

    public async Task InitializeAsync() => _rig = await SinkWorkerRig.CreateAsync();

    public async Task DisposeAsync() => await _rig.DisposeAsync();

    [Fact]
    public async Task A_retry_sends_only_the_letters_the_topic_has_not_acknowledged()
    {
        using var host = await _rig.StartWorkerAsync();
        var topic = host.Services.GetRequiredService<Worker.DeadLetterTopic>();
        var letters = Enumerable.Range(0, 5).Select(i => (new ConsumeResult<byte[], byte[]>
        {
            Topic = MockKafka.Topic,
            Partition = 0,
            Offset = i,
            Message = new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes("k" + i), Value = Encoding.UTF8.GetBytes("not json " + i), Headers = [] },
        }, "not_json", "test")).ToList();

        // The pipeline's retry calls again with the same state: the first call's acknowledgements hold.
        var sent = new bool[letters.Count];
        await topic.SendAsync(letters, sent, default);
        Assert.All(sent, Assert.True);
        await topic.SendAsync(letters, sent, default);

        var messages = await _rig.Kafka.ReadAsync(5, topic: SinkWorkerRig.DeadLetterTopic);
        Assert.Equal(5, messages.Count);
        Assert.Equal(5, messages.Select(m => m.Key()).Distinct().Count());

        // Each letter is counted once, when the topic acknowledges it: not again by the second call.
        Assert.Equal(5, _rig.WorkerCounter("gotrack.sinkworker.dead_letters", "reason", "not_json"));
        Assert.Equal(5, _rig.WorkerCounter("gotrack.sinkworker.dead_letters"));
    }
}

/// <summary>Stops and starts the PostgreSQL cluster under a running worker: a private cluster.</summary>
public sealed class SinkWorkerPostgresRestartTests : IAsyncLifetime
{
    private PostgresServer _server = null!;
    private SinkWorkerRig _rig = null!;

    public async Task InitializeAsync()
    {
        _server = await PostgresServer.StartNewAsync();
        _rig = await SinkWorkerRig.CreateAsync(_server);
    }

    public async Task DisposeAsync()
    {
        await _rig.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task A_Postgres_restart_mid_stream_loses_nothing_and_hands_each_message_to_postgres_once()
    {
        using var host = await _rig.StartWorkerAsync();
        var records = Rows.Many(2000);
        await _rig.ProduceAsync(records.Take(600));
        await _rig.WaitRowsAsync(600);

        var producing = _rig.ProduceAsync(records.Skip(600).Take(700));
        await _server.StopAsync();
        await producing;
        await _rig.ProduceAsync(records.Skip(1300)); // arrives while Postgres is down: its writes must fail
        await SinkWorkerRig.WaitCheckAsync(host, "postgres", HealthStatus.Unhealthy);
        await SinkWorkerRig.WaitForAsync(() => _rig.WorkerCounter("gotrack.sinkworker.retries") > 0, "a failed write to be retried");
        await _server.StartAsync();

        await _rig.WaitRowsAsync(2000);
        Assert.Equal(records.Select(r => r.EventId).ToHashSet(), await Sql.EventIdsAsync(_rig.Check));
        Assert.Equal(HealthStatus.Healthy, (await SinkWorkerRig.ReadinessAsync(host)).Status);

        // The retries re-wrote batches, but each message counts once, in the batch that was finally written,
        // and no message was read twice from Kafka. (The table would hide a second copy: event_id is unique.)
        await SinkWorkerRig.WaitForAsync(() => _rig.CommittedTotal() == 2000, "every offset to be committed");
        Assert.Equal(2000, _rig.WorkerCounter(SinkWorkerTests.EventsCounter));
    }

    /// <summary>
    /// An outage three times longer than max.poll.interval.ms (6 s here, 5 minutes by default). Writing
    /// inside the consume loop used to stop polling, so the instance left its group and its partitions
    /// churned; now it pauses them and keeps polling, and no partition is ever revoked.
    /// </summary>
    [Fact]
    public async Task A_Postgres_outage_longer_than_the_poll_interval_keeps_the_partitions_and_loses_nothing()
    {
        using var host = await _rig.StartWorkerAsync(("KAFKA_MAX_POLL_INTERVAL_MS", "6000"), ("KAFKA_SESSION_TIMEOUT_MS", "6000"), ("SINK_TIMEOUT_MS", "5000"));
        var metrics = host.Services.GetRequiredService<Worker.SinkWorkerMetrics>();
        var records = Rows.Many(1000);
        await _rig.ProduceAsync(records.Take(300));
        await _rig.WaitRowsAsync(300);
        Assert.Equal(0, metrics.RevokedTotal);

        await _server.StopAsync();
        await _rig.ProduceAsync(records.Skip(300));
        await Task.Delay(TimeSpan.FromSeconds(18)); // the outage itself: three poll intervals
        await _server.StartAsync();

        await _rig.WaitRowsAsync(1000);
        Assert.Equal(records.Select(r => r.EventId).ToHashSet(), await Sql.EventIdsAsync(_rig.Check));
        Assert.Equal(0, metrics.RevokedTotal);
    }

    /// <summary>
    /// Issue 10: an incremental (cooperative-sticky) rebalance in the middle of a Postgres outage. A alone
    /// holds one failing batch with messages from every partition when B joins and takes one partition.
    /// Only that partition's messages may leave A's batch: A writes and commits the rest, and its kept
    /// partitions resume. Postgres comes back after the revoke handler gave up on the write, or while the
    /// handler still waits for it (then it is written there). Clearing the whole batch on a revoke left the
    /// kept partitions uncommitted in the first case, and paused for good in the second.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_incremental_revoke_during_an_outage_drops_only_the_revoked_partitions_messages(bool backDuringTheRevoke)
    {
        const int First = 90;
        var records = Rows.Many(2 * First);
        (string, string)[] settings =
        [
            ("KAFKA_ASSIGNMENT_STRATEGY", "cooperative-sticky"),
            ("PG_BATCH_SIZE", "90"), // A's one batch is the whole first wave
            ("PG_FLUSH_MS", "2000"),
            ("SINK_TIMEOUT_MS", backDuringTheRevoke ? "30000" : "2000"), // also how long the revoke handler waits for the write
        ];
        await _server.StopAsync();
        await _rig.ProduceAsync(records.Take(First));
        var logsA = new CapturingLoggerProvider();
        using var a = await _rig.StartWorkerAsync(logsA, settings);
        var consumerA = a.Services.GetRequiredService<IConsumer<byte[], byte[]>>();
        var metricsA = a.Services.GetRequiredService<Worker.SinkWorkerMetrics>();
        await WaitForAsync(() => consumerA.Assignment.Count == 3 && Positions(consumerA).Sum() == First, "A to read the whole first wave");
        Assert.All(Positions(consumerA), p => Assert.True(p > 0, "every partition has messages in A's batch"));

        using var b = await _rig.StartWorkerAsync(settings);
        var consumerB = b.Services.GetRequiredService<IConsumer<byte[], byte[]>>();
        await WaitForAsync(() => metricsA.RevokedTotal > 0, "a revoke on A");
        if (backDuringTheRevoke)
        {
            await _server.StartAsync();
        }

        await WaitForAsync(() => consumerB.Assignment.Count > 0 && consumerA.Assignment.Count + consumerB.Assignment.Count == 3, "the rebalance to end");
        if (!backDuringTheRevoke)
        {
            await _server.StartAsync();
        }

        // Incremental: A lost only what B got and kept the rest; the handler took the path the case is about.
        Assert.InRange(metricsA.RevokedTotal, 1, 2);
        Assert.Equal(metricsA.RevokedTotal, consumerB.Assignment.Count);
        Assert.Equal(3 - metricsA.RevokedTotal, consumerA.Assignment.Count);
        Assert.Equal(!backDuringTheRevoke, logsA.Lines.Any(l => l.Contains("revoked while the write kept failing", StringComparison.Ordinal)));

        await _rig.WaitRowsAsync(First);
        Assert.Equal(records.Take(First).Select(r => r.EventId).ToHashSet(), await Sql.EventIdsAsync(_rig.Check));
        // When the write ends inside the handler, A's commit of its kept partitions comes during the
        // rebalance's second round and the broker refuses it (IllegalGeneration); A commits it again once
        // the rebalance is over, before any new message arrives on those partitions.
        await WaitForAsync(() => _rig.CommittedTotal() == First, "every message of the first wave to be committed");

        // A's kept partitions were resumed: a second wave on every partition lands too.
        await _rig.ProduceAsync(records.Skip(First));
        await _rig.WaitRowsAsync(records.Length);
        Assert.Equal(records.Select(r => r.EventId).ToHashSet(), await Sql.EventIdsAsync(_rig.Check));
        await WaitForAsync(() => _rig.CommittedTotal() == records.Length, "every message to be committed");
        Assert.InRange(metricsA.RevokedTotal, 1, 2);
    }

    private static long[] Positions(IConsumer<byte[], byte[]> consumer) =>
        [.. consumer.Assignment.Select(p => Math.Max(0, consumer.Position(p).Value))];

    /// <summary>Polls <paramref name="condition"/> until it holds (30 s at most).</summary>
    private static async Task WaitForAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for " + what);
            await Task.Delay(100);
        }
    }
}

/// <summary>KAFKA_ASSIGNMENT_STRATEGY: validated at start, and handed to librdkafka as it accepts it.</summary>
public sealed class SinkWorkerAssignmentStrategyTests
{
    private static Worker.SinkWorkerOptions Load(out IReadOnlyList<string> errors, string? strategy)
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["KAFKA_BROKERS"] = "k1:9092",
            ["PG_DSN"] = "postgres://u@h/db",
            ["KAFKA_ASSIGNMENT_STRATEGY"] = strategy,
        }).Build();
        return Worker.SinkWorkerSettings.Load(config, out errors);
    }

    /// <summary>A revoke waits for the write in hand inside the poll: one attempt must fit in max.poll.interval.ms.</summary>
    [Theory]
    [InlineData("30000", "300000", true)]
    [InlineData("299999", "300000", true)]
    [InlineData("300000", "300000", false)]
    [InlineData("60000", "6000", false)]
    public void SINK_TIMEOUT_MS_must_be_below_KAFKA_MAX_POLL_INTERVAL_MS(string attempt, string pollInterval, bool valid)
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["KAFKA_BROKERS"] = "k1:9092",
            ["PG_DSN"] = "postgres://u@h/db",
            ["SINK_TIMEOUT_MS"] = attempt,
            ["KAFKA_MAX_POLL_INTERVAL_MS"] = pollInterval,
            ["KAFKA_SESSION_TIMEOUT_MS"] = "6000",
        }).Build();
        Worker.SinkWorkerSettings.Load(config, out var errors);
        if (valid)
        {
            Assert.Empty(errors);
        }
        else
        {
            Assert.StartsWith("SINK_TIMEOUT_MS: must be below KAFKA_MAX_POLL_INTERVAL_MS", Assert.Single(errors), StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData("range", PartitionAssignmentStrategy.Range)]
    [InlineData("roundrobin", PartitionAssignmentStrategy.RoundRobin)]
    [InlineData("Cooperative-Sticky", PartitionAssignmentStrategy.CooperativeSticky)]
    public void The_strategy_reaches_the_consumer(string? value, PartitionAssignmentStrategy? expected)
    {
        var o = Load(out var errors, value);
        Assert.Empty(errors);
        var config = o.Kafka.ToConsumerConfig("g1");
        Assert.Equal(expected, config.PartitionAssignmentStrategy);
        using (new ConsumerBuilder<byte[], byte[]>(config).Build())
        {
        }
    }

    [Fact]
    public void An_unknown_strategy_is_refused_naming_the_variable()
    {
        Load(out var errors, "sticky");
        Assert.Contains(errors, e => e.StartsWith("KAFKA_ASSIGNMENT_STRATEGY: must be one of range, roundrobin, cooperative-sticky", StringComparison.Ordinal));
    }
}
