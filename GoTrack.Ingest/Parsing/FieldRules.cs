using System.Buffers.Text;
using GoTrack.Core.Events;

namespace GoTrack.Ingest.Parsing;

/// <summary>The checks every intake applies to an event's client-supplied fields.</summary>
internal static class FieldRules
{
    /// <summary>Null when <paramref name="value"/> fits; otherwise the reason the event is rejected.</summary>
    public static string? CheckLength(string field, ReadOnlySpan<byte> value, int max) =>
        value.Length <= max ? null : $"{field} is longer than {max} bytes";

    /// <summary>
    /// A client event_id is the idempotency key of the event in every sink, so it must be a real UUID
    /// in its canonical 36-character form, and not the nil UUID.
    /// </summary>
    public static bool TryParseEventId(ReadOnlySpan<byte> value, out Guid id) =>
        Utf8Parser.TryParse(value, out id, out var consumed, 'D') && consumed == value.Length && consumed == 36 && id != Guid.Empty;

    /// <summary>Checks the fields a client may set, from <see cref="ClientFields"/>; null when the event is fine.</summary>
    public static string? Validate(ref EventFields f)
    {
        foreach (var field in ClientFields.Text)
        {
            if (CheckLength(ClientFields.Name(field), ClientFields.Slot(ref f, field), ClientFields.Limit(field)) is { } error)
            {
                return error;
            }
        }

        return null;
    }

    public static ReadOnlySpan<byte> DefaultType => "pageview"u8;
}
