namespace GoTrack.Core.Events;

/// <summary>
/// The normalized fields of one event before encoding. Every span is UTF-8, unescaped and valid;
/// an empty span means "not known" and the key is left out of the JSON.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1051:Do not declare visible instance fields",
    Justification = "A stack-only bag of spans that parsers fill through ref; fields are the point.")]
public ref struct EventFields
{
    public Guid EventId;
    public DateTimeOffset Timestamp;
    public ReadOnlySpan<byte> Type;
    public ReadOnlySpan<byte> Uid;
    public ReadOnlySpan<byte> Sid;
    public ReadOnlySpan<byte> Url;
    public ReadOnlySpan<byte> Ref;

    /// <summary>The client sent a <c>ref</c>, possibly empty: then the Referer header does not stand in for it.</summary>
    public bool RefSent;
    public ReadOnlySpan<byte> Ua;
    public ReadOnlySpan<byte> Ip;
    public ReadOnlySpan<byte> UtmSource;
    public ReadOnlySpan<byte> UtmMedium;
    public ReadOnlySpan<byte> UtmCampaign;
    public ReadOnlySpan<byte> UtmTerm;
    public ReadOnlySpan<byte> UtmContent;
    public ReadOnlySpan<byte> Gclid;
    public ReadOnlySpan<byte> Fbclid;
    public ReadOnlySpan<byte> Msclkid;
    public ReadOnlySpan<byte> DeviceBrowser;
    public ReadOnlySpan<byte> DeviceOs;
    public ReadOnlySpan<byte> DeviceType;

    /// <summary>Writes <c>"bot": true</c> (BOT_MODE=flag and the user agent is a crawler or automation).</summary>
    public bool Bot;
    public ReadOnlySpan<byte> GeoCountry;
    public ReadOnlySpan<byte> GeoRegion;
    public ReadOnlySpan<byte> GeoCity;

    /// <summary>The source name of the request's write key (WRITE_KEYS).</summary>
    public ReadOnlySpan<byte> Source;

    /// <summary>The client's own time of the event, corrected for its clock's skew (the Segment API's timestamp and sentAt).</summary>
    public DateTimeOffset? ClientTs;

    public readonly bool HasUtm =>
        !UtmSource.IsEmpty || !UtmMedium.IsEmpty || !UtmCampaign.IsEmpty || !UtmTerm.IsEmpty || !UtmContent.IsEmpty;

    public readonly bool HasClick => !Gclid.IsEmpty || !Fbclid.IsEmpty || !Msclkid.IsEmpty;

    public readonly bool HasDevice => !DeviceBrowser.IsEmpty || !DeviceOs.IsEmpty || !DeviceType.IsEmpty;

    public readonly bool HasGeo => !GeoCountry.IsEmpty || !GeoRegion.IsEmpty || !GeoCity.IsEmpty;
}
