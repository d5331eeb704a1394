using System.Buffers.Text;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using GoTrack.Core.Events;
using GoTrack.Core.Kafka;

namespace GoTrack.SinkWorker;

/// <summary>Why a message cannot be an event row. The values are a closed set: they label metrics.</summary>
public static class PoisonReasons
{
    public const string NotJson = "not_json";
    public const string NoEventId = "no_event_id";
    public const string BadEventId = "bad_event_id";
    public const string PostgresRejected = "postgres_rejected";
}

/// <summary>
/// Turns a message from the events topic back into a <see cref="Record"/> without re-serializing it:
/// the value must be one JSON object with a string <c>event_id</c> that is a UUID. Anything else is
/// poison, with a reason. <c>ts</c> comes from the JSON; when it is missing or not a timestamp, the
/// message's own timestamp stands in (Postgres needs one; the payload keeps whatever was sent).
/// </summary>
public static class EventMessage
{
    private static ReadOnlySpan<byte> EventIdName => "event_id"u8;

    private static ReadOnlySpan<byte> TsName => "ts"u8;

    private static ReadOnlySpan<byte> TypeName => "e"u8;

    public static bool TryRead(Message<byte[], byte[]> message, out Record? record, out string? poison)
    {
        ArgumentNullException.ThrowIfNull(message);
        record = null;
        poison = Read(message.Value, out var id, out var ts, out var type);
        if (poison is not null)
        {
            return false;
        }

        var timestamp = ts ?? (message.Timestamp.Type == TimestampType.NotAvailable
            ? DateTimeOffset.UtcNow
            : message.Timestamp.UtcDateTime);
        record = new Record(id, timestamp, type ?? "", message.Value, KafkaTelemetry.Extract(message.Headers));
        return true;
    }

    /// <summary>Checks one value; returns the poison reason, or null with the fields read.</summary>
    public static string? Read(ReadOnlySpan<byte> value, out Guid eventId, out DateTimeOffset? ts, out string? type)
    {
        eventId = default;
        ts = null;
        type = null;
        if (value.IsEmpty)
        {
            return PoisonReasons.NotJson;
        }

        var reader = new Utf8JsonReader(value, new JsonReaderOptions { MaxDepth = 64 });
        var sawId = false;
        var badId = false;
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return PoisonReasons.NotJson;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isId = reader.ValueTextEquals(EventIdName);
                var isTs = !isId && reader.ValueTextEquals(TsName);
                var isType = !isId && !isTs && reader.ValueTextEquals(TypeName);
                reader.Read();
                if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                {
                    // Not the shape we read; skip the whole value (an object-valued ts is no reason to refuse).
                    reader.Skip();
                    badId |= isId;
                    sawId |= isId;
                    continue;
                }

                if (isId)
                {
                    sawId = true;
                    badId = !(reader.TokenType == JsonTokenType.String && TryReadUuid(ref reader, out eventId)) || badId;
                }
                else if (isTs && reader.TokenType == JsonTokenType.String && reader.TryGetDateTimeOffset(out var parsed))
                {
                    ts = parsed;
                }
                else if (isType && reader.TokenType == JsonTokenType.String)
                {
                    // GetString checks the UTF-8 (the reader does not, inside strings): bad bytes throw below.
                    type = reader.GetString();
                }
            }

            // The object must be the whole value: reading on throws for anything but trailing whitespace.
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                return PoisonReasons.NotJson;
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // Malformed JSON, or invalid UTF-8 inside a string: not an event, whatever else it holds.
            return PoisonReasons.NotJson;
        }

        return !sawId ? PoisonReasons.NoEventId : badId ? PoisonReasons.BadEventId : null;
    }

    private static bool TryReadUuid(ref Utf8JsonReader reader, out Guid id)
    {
        id = default;
        if (reader.ValueIsEscaped || reader.HasValueSequence || reader.ValueSpan.Length != 36)
        {
            return false;
        }

        return Utf8Parser.TryParse(reader.ValueSpan, out id, out var consumed, 'D') && consumed == 36;
    }

    /// <summary>Text for logs and dead-letter headers.</summary>
    public static string Describe(string reason) => reason switch
    {
        PoisonReasons.NotJson => "the value is not one JSON object",
        PoisonReasons.NoEventId => "the event has no event_id",
        PoisonReasons.BadEventId => "event_id is not a UUID",
        _ => reason,
    };

    internal static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}
