using GoTrack.Core.Events;

namespace GoTrack.Ingest.Parsing;

/// <summary>
/// The one table of client-settable fields: their names, their limits and where each goes in
/// <see cref="EventFields"/>. The pixel parser, the /collect parser and the validation all read it, so a
/// new field is one edit here (and its slot in EventFields and the encoder), not four.
/// </summary>
internal static class ClientFields
{
    // One array for good: a collection expression in the property allocated a new one per event wherever
    // the JIT does not put it on the stack (a Debug build does not; PixelAllocationTests saw its 72 bytes).
    private static readonly ClientField[] TextFields =
    [
        ClientField.E, ClientField.Uid, ClientField.Sid, ClientField.Url, ClientField.Ref,
        ClientField.UtmSource, ClientField.UtmMedium, ClientField.UtmCampaign, ClientField.UtmTerm, ClientField.UtmContent,
        ClientField.Gclid, ClientField.Fbclid, ClientField.Msclkid,
    ];

    /// <summary>The text fields, in the order validation reports them (event_id is parsed, not stored as text).</summary>
    public static ReadOnlySpan<ClientField> Text => TextFields;

    /// <summary>The field a parameter or key names; <see cref="ClientField.None"/> for anything else. Switches on length first.</summary>
    public static ClientField Lookup(ReadOnlySpan<byte> name) => name.Length switch
    {
        1 when name[0] == (byte)'e' => ClientField.E,
        3 when name.SequenceEqual("uid"u8) => ClientField.Uid,
        3 when name.SequenceEqual("sid"u8) => ClientField.Sid,
        3 when name.SequenceEqual("url"u8) => ClientField.Url,
        3 when name.SequenceEqual("ref"u8) => ClientField.Ref,
        5 when name.SequenceEqual("gclid"u8) => ClientField.Gclid,
        6 when name.SequenceEqual("fbclid"u8) => ClientField.Fbclid,
        7 when name.SequenceEqual("msclkid"u8) => ClientField.Msclkid,
        8 when name.SequenceEqual("event_id"u8) => ClientField.EventId,
        8 when name.SequenceEqual("utm_term"u8) => ClientField.UtmTerm,
        10 when name.SequenceEqual("utm_source"u8) => ClientField.UtmSource,
        10 when name.SequenceEqual("utm_medium"u8) => ClientField.UtmMedium,
        11 when name.SequenceEqual("utm_content"u8) => ClientField.UtmContent,
        12 when name.SequenceEqual("utm_campaign"u8) => ClientField.UtmCampaign,
        _ => ClientField.None,
    };

    /// <summary>The field's name, for error messages.</summary>
    public static string Name(ClientField field) => field switch
    {
        ClientField.E => "e",
        ClientField.Uid => "uid",
        ClientField.Sid => "sid",
        ClientField.Url => "url",
        ClientField.Ref => "ref",
        ClientField.UtmSource => "utm_source",
        ClientField.UtmMedium => "utm_medium",
        ClientField.UtmCampaign => "utm_campaign",
        ClientField.UtmTerm => "utm_term",
        ClientField.UtmContent => "utm_content",
        ClientField.Gclid => "gclid",
        ClientField.Fbclid => "fbclid",
        ClientField.Msclkid => "msclkid",
        ClientField.EventId => "event_id",
        _ => throw new ArgumentOutOfRangeException(nameof(field)),
    };

    /// <summary>The most bytes the field may have (<see cref="FieldLimits"/>).</summary>
    public static int Limit(ClientField field) => field switch
    {
        ClientField.E => FieldLimits.Type,
        ClientField.Uid or ClientField.Sid => FieldLimits.Id,
        ClientField.Url or ClientField.Ref => FieldLimits.Url,
        _ => FieldLimits.Utm,
    };

    /// <summary>Where a text field lives in <see cref="EventFields"/>.</summary>
    public static ref ReadOnlySpan<byte> Slot(ref EventFields f, ClientField field)
    {
        switch (field)
        {
            case ClientField.E: return ref f.Type;
            case ClientField.Uid: return ref f.Uid;
            case ClientField.Sid: return ref f.Sid;
            case ClientField.Url: return ref f.Url;
            case ClientField.Ref: return ref f.Ref;
            case ClientField.UtmSource: return ref f.UtmSource;
            case ClientField.UtmMedium: return ref f.UtmMedium;
            case ClientField.UtmCampaign: return ref f.UtmCampaign;
            case ClientField.UtmTerm: return ref f.UtmTerm;
            case ClientField.UtmContent: return ref f.UtmContent;
            case ClientField.Gclid: return ref f.Gclid;
            case ClientField.Fbclid: return ref f.Fbclid;
            case ClientField.Msclkid: return ref f.Msclkid;
            default: throw new ArgumentOutOfRangeException(nameof(field), "not a text field");
        }
    }
}
