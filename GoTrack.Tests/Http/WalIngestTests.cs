using System.Net;
using System.Text;
using System.Text.Json;
using GoTrack.Core.Queue;
using GoTrack.Core.Queue.Wal;
using GoTrack.Tests.Kafka;
using GoTrack.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Record = GoTrack.Core.Events.Record;

namespace GoTrack.Tests.Http;

/// <summary>GoTrack.Ingest with ACK_MODE=wal, in process: a full log, and a log damaged by a crash.</summary>
public sealed class WalIngestTests
{
    internal static string BigBatch(int events, int propBytes)
    {
        var blob = new string('x', propBytes);
        return "[" + string.Join(",", Enumerable.Range(0, events).Select(_ => $"{{\"e\":\"big\",\"props\":{{\"blob\":\"{blob}\"}}}}")) + "]";
    }

    [Fact]
    public async Task A_full_wal_answers_503_while_kafka_is_down_the_ndjson_sink_keeps_flowing_and_everything_arrives_after()
    {
        using var kafka = new MockKafka();
        using var app = kafka.Ingest(("ACK_MODE", "wal"), ("WAL_MAX_BYTES", "4M"), ("WAL_SEGMENT_MB", "1"), ("OUTPUTS", "log,kafka"));
        var client = app.CreateClient();
        await client.WaitReadyStatusAsync(HttpStatusCode.OK, TimeSpan.FromSeconds(20));
        kafka.Cluster.SetBrokerDown();

        var accepted = 0;
        var refused = 0;
        for (var i = 0; i < 60 && refused < 3; i++)
        {
            using var body = new StringContent(BigBatch(25, 8000), Encoding.UTF8, "application/json");
            using var r = await client.PostAsync("/collect", body);
            if (r.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                Assert.NotNull(r.Headers.RetryAfter);
                refused++;
            }
            else
            {
                Assert.Equal(HttpStatusCode.Accepted, r.StatusCode);
                accepted += 25;
            }
        }

        Assert.Equal(3, refused);
        Assert.InRange(accepted, 300, 500); // 4 MiB of ~8.1 KB events

        // The NDJSON sink is not held back by Kafka: it has every accepted event while the WAL is full.
        var log = app.Services.GetRequiredService<GoTrack.Core.Sinks.EventPipeline>().Runner("log");
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (log.Reader.Pending > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.Equal(accepted, app.Lines().Length);
        await client.WaitReadyStatusAsync(HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(10));

        kafka.Cluster.SetBrokerUp();
        await app.WaitDeliveredAsync(TimeSpan.FromSeconds(60));
        var messages = await kafka.ReadAsync(accepted);
        Assert.Equal(accepted, messages.Count);
        var ids = app.Lines().Select(l => JsonDocument.Parse(l).RootElement.GetProperty("event_id").GetString()!).ToHashSet();
        Assert.Equal(ids, messages.Select(m => m.Key()).ToHashSet());

        // Released by both sinks, the segments go and intake is open again.
        ((WriteAheadLog)app.Services.GetRequiredService<IEventLog>()).Maintain();
        await client.WaitReadyStatusAsync(HttpStatusCode.OK, TimeSpan.FromSeconds(10));
        using var again = new StringContent(BigBatch(25, 8000), Encoding.UTF8, "application/json");
        Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsync("/collect", again)).StatusCode);
    }
}

public sealed class WalDamageTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static Record Event()
    {
        var id = Guid.NewGuid();
        return new Record(id, DateTimeOffset.UtcNow, "before", Encoding.UTF8.GetBytes($"{{\"event_id\":\"{id}\",\"e\":\"before\"}}"));
    }

    [Fact]
    public async Task A_corrupt_segment_and_a_torn_tail_left_by_a_crash_do_not_stop_the_start_and_are_counted()
    {
        // A previous run: three segments of events the log sink never delivered, then a crash.
        var walDir = _dir.File("wal");
        var before = new WriteAheadLog(new WalOptions { Directory = walDir, SegmentBytes = 4096 });
        before.OpenReader("log");
        var records = new List<Record>();
        while (before.SegmentPaths().Count < 3)
        {
            var r = Event();
            records.Add(r);
            Assert.Equal(AppendResult.Accepted, await before.AppendAsync(r, default));
        }

        var segments = before.SegmentPaths();
        before.Crash();
        var first = await File.ReadAllBytesAsync(segments[0]);
        var size = WalRecordFormat.SizeOf(records[0]);
        first[size + 30] ^= 0x55; // the second record of the first segment
        await File.WriteAllBytesAsync(segments[0], first);
        await using (var last = new FileStream(segments[^1], FileMode.Open))
        {
            last.Position = WriteAheadLog.DataLength(segments[^1]);
            last.Write("torn, never acknowledged"u8);
        }

        Assert.True(WalSegment.TryParseName(Path.GetFileName(segments[1]), out var firstOfSecond));
        var lostInFirst = (int)firstOfSecond - 1;

        using var app = new IngestFactory(new() { ["ACK_MODE"] = "wal", ["WAL_DIR"] = walDir });
        var client = app.CreateClient();
        using (var pixel = await client.GetAsync("/px.gif?e=after"))
        {
            Assert.Equal(HttpStatusCode.OK, pixel.StatusCode);
        }

        await app.WaitDeliveredAsync();
        var wal = (WriteAheadLog)app.Services.GetRequiredService<IEventLog>();
        Assert.Equal(1, wal.CorruptSegments);
        Assert.Equal(1, wal.TornTails);
        // The counters operators see, from this host's own meter (HostMeter says why not from /metrics here).
        Assert.Equal(1, HostMeter.Observe(app.Services, "gotrack.wal_corrupt_segments"));
        Assert.Equal(1, HostMeter.Observe(app.Services, "gotrack.wal_torn_tails"));

        // Everything but the damaged segment's tail reaches the file, then the new event.
        var lines = app.Lines();
        Assert.Equal(records.Count - lostInFirst + 1, lines.Length);
        Assert.Equal(records[0].EventId.ToString(), JsonDocument.Parse(lines[0]).RootElement.GetProperty("event_id").GetString());
        Assert.Equal("after", JsonDocument.Parse(lines[^1]).RootElement.GetProperty("e").GetString());
        Assert.Single(Directory.GetFiles(Path.Combine(walDir, "corrupt")));
    }
}
