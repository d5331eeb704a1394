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

    /// <summary>Checks the fields a client may set; null when the event is fine.</summary>
    public static string? Validate(scoped in EventFields f) =>
        CheckLength("e", f.Type, FieldLimits.Type)
        ?? CheckLength("uid", f.Uid, FieldLimits.Id)
        ?? CheckLength("sid", f.Sid, FieldLimits.Id)
        ?? CheckLength("url", f.Url, FieldLimits.Url)
        ?? CheckLength("ref", f.Ref, FieldLimits.Url)
        ?? CheckLength("utm_source", f.UtmSource, FieldLimits.Utm)
        ?? CheckLength("utm_medium", f.UtmMedium, FieldLimits.Utm)
        ?? CheckLength("utm_campaign", f.UtmCampaign, FieldLimits.Utm)
        ?? CheckLength("utm_term", f.UtmTerm, FieldLimits.Utm)
        ?? CheckLength("utm_content", f.UtmContent, FieldLimits.Utm)
        ?? CheckLength("gclid", f.Gclid, FieldLimits.Utm)
        ?? CheckLength("fbclid", f.Fbclid, FieldLimits.Utm)
        ?? CheckLength("msclkid", f.Msclkid, FieldLimits.Utm);

    public static ReadOnlySpan<byte> DefaultType => "pageview"u8;
}
