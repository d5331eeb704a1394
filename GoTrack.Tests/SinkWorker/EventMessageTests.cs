extern alias sinkworker;

using System.Text;
using Confluent.Kafka;
using CsCheck;
using GoTrack.Core.Events;
using GoTrack.Core.Kafka;
using Worker = sinkworker::GoTrack.SinkWorker;

namespace GoTrack.Tests.SinkWorker;

/// <summary>The SinkWorker's reading of a Kafka value back into an event: a table of cases and properties.</summary>
public sealed class EventMessageTests
{
    private const string Id = "0193a2b4-5c6d-7e8f-9a0b-1c2d3e4f5a6b";

    [Theory]
    [InlineData("{\"event_id\":\"" + Id + "\",\"ts\":\"2026-03-01T12:00:00.000Z\",\"e\":\"pageview\"}", null)]
    [InlineData("  {\"e\":\"x\",\"props\":{\"event_id\":1},\"event_id\":\"" + Id + "\"}  ", null)]
    [InlineData("{\"event_id\":\"" + Id + "\",\"nested\":[{\"a\":[1,{\"b\":null}]}]}", null)]
    [InlineData("{\"event_id\":\"" + Id + "\",\"ts\":{\"at\":1},\"e\":[\"x\"]}", null)]
    [InlineData("{\"event_id\":{\"v\":\"" + Id + "\"}}", "bad_event_id")]
    [InlineData("{\"event_id\":\"" + Id + "\",\"e\":\"\\ud800\"}", "not_json")]
    [InlineData("", "not_json")]
    [InlineData("not json", "not_json")]
    [InlineData("[]", "not_json")]
    [InlineData("\"" + Id + "\"", "not_json")]
    [InlineData("{\"event_id\":\"" + Id + "\"", "not_json")]
    [InlineData("{\"event_id\":\"" + Id + "\"}{}", "not_json")]
    [InlineData("{\"event_id\":\"" + Id + "\",}", "not_json")]
    [InlineData("{}", "no_event_id")]
    [InlineData("{\"props\":{\"event_id\":\"" + Id + "\"}}", "no_event_id")]
    [InlineData("{\"event_id\":null}", "bad_event_id")]
    [InlineData("{\"event_id\":\"abc\"}", "bad_event_id")]
    [InlineData("{\"event_id\":\"" + "0193A2B45C6D7E8F9A0B1C2D3E4F5A6B" + "\"}", "bad_event_id")]
    [InlineData("{\"event_id\":\"{" + Id + "}\"}", "bad_event_id")]
    [InlineData("{\"event_id\":\"\\u0030193a2b4-5c6d-7e8f-9a0b-1c2d3e4f5a6b\"}", "bad_event_id")]
    [InlineData("{\"event_id\":\"" + Id + "\",\"event_id\":7}", "bad_event_id")]
    public void Values_are_events_or_poison_with_a_reason(string value, string? reason)
    {
        Assert.Equal(reason, Worker.EventMessage.Read(Encoding.UTF8.GetBytes(value), out var id, out _, out _));
        if (reason is null)
        {
            Assert.Equal(Guid.Parse(Id), id);
        }
    }

    [Fact]
    public void Invalid_UTF_8_inside_a_string_is_poison_not_a_crash()
    {
        var value = Encoding.UTF8.GetBytes("{\"event_id\":\"" + Id + "\",\"e\":\"ab\"}");
        value[^4] = 0xC3;
        Assert.Equal("not_json", Worker.EventMessage.Read(value, out _, out _, out _));
    }

    [Fact]
    public void A_record_keeps_the_exact_bytes_its_ts_type_and_trace()
    {
        var ts = new DateTimeOffset(2026, 3, 1, 12, 0, 0, 123, TimeSpan.Zero);
        var fields = new EventFields { EventId = Uuid7.Create(ts), Timestamp = ts, Type = "signup"u8, Url = "https://example.com/"u8 };
        var record = EventEncoder.Encode(fields);
        var trace = new System.Diagnostics.ActivityContext(System.Diagnostics.ActivityTraceId.CreateRandom(), System.Diagnostics.ActivitySpanId.CreateRandom(), System.Diagnostics.ActivityTraceFlags.Recorded);
        var message = KafkaEventSink.ToMessage(record, trace);

        Assert.True(Worker.EventMessage.TryRead(message, out var back, out var poison));
        Assert.Null(poison);
        Assert.Same(message.Value, back!.Json);
        Assert.Equal(record.EventId, back.EventId);
        Assert.Equal(record.Timestamp, back.Timestamp);
        Assert.Equal("signup", back.Type);
        Assert.Equal(trace.TraceId, back.Origin.TraceId);
    }

    [Fact]
    public void Without_a_ts_the_message_timestamp_stands_in()
    {
        var at = new DateTimeOffset(2026, 5, 1, 8, 0, 0, TimeSpan.Zero);
        var message = new Message<byte[], byte[]> { Value = Encoding.UTF8.GetBytes("{\"event_id\":\"" + Id + "\",\"ts\":\"yesterday\"}"), Timestamp = new Timestamp(at) };
        Assert.True(Worker.EventMessage.TryRead(message, out var record, out _));
        Assert.Equal(at, record!.Timestamp);
    }

    [Fact]
    public void Any_bytes_are_read_without_throwing_and_any_encoded_event_is_accepted()
    {
        Gen.Byte.Array[0, 200].Sample(bytes => Worker.EventMessage.Read(bytes, out _, out _, out _), iter: 50_000);

        // Event-shaped values with arbitrary bytes inside the strings, where the reader defers UTF-8 checks.
        Gen.Select(Gen.Byte.Array[0, 12], Gen.Byte.Array[0, 12]).Sample((e, ts) =>
        {
            byte[] value = [.. "{\"event_id\":\""u8, .. Encoding.UTF8.GetBytes(Id), .. "\",\"e\":\""u8, .. e, .. "\",\"ts\":\""u8, .. ts, .. "\"}"u8];
            Worker.EventMessage.Read(value, out _, out _, out _);
        }, iter: 50_000);
        Gen.String.Sample(text => Worker.EventMessage.Read(Encoding.UTF8.GetBytes(text), out _, out _, out _), iter: 50_000);
        Gen.Select(Gen.String[0, 40], Gen.String[0, 200]).Sample((type, url) =>
        {
            var at = new DateTimeOffset(2026, 3, 1, 12, 0, 0, 456, TimeSpan.Zero);
            var fields = new EventFields { EventId = Uuid7.Create(at), Timestamp = at, Type = Encoding.UTF8.GetBytes(type), Url = Encoding.UTF8.GetBytes(url) };
            var record = EventEncoder.Encode(fields);
            Assert.Null(Worker.EventMessage.Read(record.Json, out var id, out var read, out _));
            Assert.Equal(record.EventId, id);
            Assert.Equal(record.Timestamp, read);
        }, iter: 5_000);
    }
}
