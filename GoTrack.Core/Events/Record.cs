using System.Diagnostics;

namespace GoTrack.Core.Events;

/// <summary>
/// One event, encoded once. Every sink writes <see cref="Json"/> as it is: the NDJSON line,
/// the Kafka value and the Postgres payload are these bytes.
/// </summary>
public sealed class Record(Guid eventId, DateTimeOffset timestamp, string type, byte[] json, ActivityContext origin = default)
{
    public Guid EventId { get; } = eventId;

    /// <summary>Server receive time (the event's <c>ts</c>), millisecond precision, UTC.</summary>
    public DateTimeOffset Timestamp { get; } = timestamp;

    /// <summary>The event's <c>e</c>.</summary>
    public string Type { get; } = type;

    /// <summary>The event as UTF-8 JSON, without a trailing newline.</summary>
    public byte[] Json { get; } = json;

    /// <summary>The request span that accepted the event, so sink batches can link back to it.</summary>
    public ActivityContext Origin { get; } = origin;
}
