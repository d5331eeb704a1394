using System.Collections.Concurrent;
using System.Diagnostics;
using GoTrack.Tests.Kafka;
using GoTrack.Tests.Support;

namespace GoTrack.Tests.SinkWorker;

/// <summary>
/// One pixel is one trace: the ingest request, the Kafka publish, the worker's processing of the batch
/// and its Postgres commands share the trace id the browser's request started, carried across Kafka in
/// the message headers. Ingest and the worker run in this process; the broker and Postgres are real.
/// </summary>
public sealed class TraceContinuityTests : IAsyncLifetime
{
    private SinkWorkerRig _rig = null!;

    public async Task InitializeAsync() => _rig = await SinkWorkerRig.CreateAsync();

    public async Task DisposeAsync() => await _rig.DisposeAsync();

    [Fact]
    public async Task Request_publish_process_and_the_Postgres_write_are_one_trace()
    {
        var traceId = ActivityTraceId.CreateRandom();
        var spans = new ConcurrentBag<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name is "Microsoft.AspNetCore" or "GoTrack.Kafka" or "Npgsql",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a =>
            {
                if (a.TraceId == traceId)
                {
                    spans.Add(a);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);

        using var ingest = new IngestFactory(new()
        {
            ["OUTPUTS"] = "kafka",
            ["KAFKA_BROKERS"] = _rig.Kafka.Bootstrap,
        });
        var client = ingest.CreateClient();
        using (var pixel = new HttpRequestMessage(HttpMethod.Get, "/px.gif?e=pageview&url=https%3A%2F%2Fexample.com%2Ftraced"))
        {
            pixel.Headers.Add("traceparent", $"00-{traceId.ToHexString()}-{ActivitySpanId.CreateRandom().ToHexString()}-01");
            using var response = await client.SendAsync(pixel);
            response.EnsureSuccessStatusCode();
        }

        await ingest.WaitDeliveredAsync();
        using var worker = await _rig.StartWorkerAsync();
        await _rig.WaitRowsAsync(1);

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!spans.Any(s => s.Source.Name == "Npgsql") && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        var request = Assert.Single(spans, s => s.Source.Name == "Microsoft.AspNetCore");
        var publish = Assert.Single(spans, s => s.Source.Name == "GoTrack.Kafka" && s.Kind == ActivityKind.Producer);
        var process = Assert.Single(spans, s => s.Source.Name == "GoTrack.Kafka" && s.Kind == ActivityKind.Consumer);
        Assert.Equal(request.SpanId, publish.ParentSpanId);
        Assert.Equal(ActivityKind.Producer, publish.Kind);
        Assert.Equal(publish.SpanId, process.ParentSpanId);
        Assert.Equal(ActivityKind.Consumer, process.Kind);
        Assert.Contains(spans, s => s.Source.Name == "Npgsql" && s.ParentSpanId == process.SpanId);
    }
}
