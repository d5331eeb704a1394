using System.Diagnostics;
using System.Text;
using Confluent.Kafka;

namespace GoTrack.Core.Kafka;

/// <summary>
/// Tracing for Kafka: an <see cref="ActivitySource"/> for produce and consume spans, and the W3C trace
/// context carried in each message's <c>traceparent</c> / <c>tracestate</c> headers.
/// </summary>
public static class KafkaTelemetry
{
    public const string SourceName = "GoTrack.Kafka";
    public const string MeterName = "GoTrack.Kafka";
    public const string TraceParentHeader = "traceparent";
    public const string TraceStateHeader = "tracestate";

    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>Starts a producer span for one message, a child of the request that accepted the event; null when nobody listens.</summary>
    public static Activity? StartPublish(string topic, ActivityContext origin)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var activity = Source.StartActivity(ActivityKind.Producer, parentContext: origin, name: topic + " publish");
        if (activity is not null)
        {
            activity.SetTag("messaging.system", "kafka");
            activity.SetTag("messaging.operation.type", "send");
            activity.SetTag("messaging.destination.name", topic);
        }

        return activity;
    }

    /// <summary>
    /// Starts a consumer span for a batch of messages: a child of the first message's trace context (so a
    /// lone pixel stays one trace from request to storage), linked to the others' (at most 32).
    /// </summary>
    public static Activity? StartProcess(string topic, IReadOnlyList<ActivityContext> carried)
    {
        ArgumentNullException.ThrowIfNull(carried);
        if (!Source.HasListeners())
        {
            return null;
        }

        var parent = carried.Count > 0 ? carried[0] : default;
        var links = carried.Skip(1).Where(c => c != default).Take(32).Select(c => new ActivityLink(c));
        var activity = Source.StartActivity(ActivityKind.Consumer, parent, links: links, name: topic + " process");
        if (activity is not null)
        {
            activity.SetTag("messaging.system", "kafka");
            activity.SetTag("messaging.operation.type", "process");
            activity.SetTag("messaging.destination.name", topic);
            activity.SetTag("messaging.batch.message_count", carried.Count);
        }

        return activity;
    }

    /// <summary>Writes <paramref name="context"/> as W3C <c>traceparent</c> (and <c>tracestate</c>) headers.</summary>
    public static void Inject(ActivityContext context, Headers headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        if (context == default)
        {
            return;
        }

        var flags = (context.TraceFlags & ActivityTraceFlags.Recorded) != 0 ? "01" : "00";
        headers.Add(TraceParentHeader, Encoding.ASCII.GetBytes($"00-{context.TraceId.ToHexString()}-{context.SpanId.ToHexString()}-{flags}"));
        if (!string.IsNullOrEmpty(context.TraceState))
        {
            headers.Add(TraceStateHeader, Encoding.ASCII.GetBytes(context.TraceState));
        }
    }

    /// <summary>Reads the trace context a message carries; default when it has none or it is malformed.</summary>
    public static ActivityContext Extract(Headers? headers)
    {
        if (headers is null || !headers.TryGetLastBytes(TraceParentHeader, out var parent))
        {
            return default;
        }

        string? state = headers.TryGetLastBytes(TraceStateHeader, out var stateBytes) ? Encoding.ASCII.GetString(stateBytes) : null;
        return ActivityContext.TryParse(Encoding.ASCII.GetString(parent), state, isRemote: true, out var context) ? context : default;
    }
}
