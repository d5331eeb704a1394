namespace GoTrack.Ingest.Parsing;

/// <summary>A field of the event model a client may set, by the same name in the pixel's query and in /collect's JSON.</summary>
internal enum ClientField
{
    /// <summary>Not one of them: a prop (or, in /collect, one of its own keys).</summary>
    None,
    E,
    Uid,
    Sid,
    Url,
    Ref,
    UtmSource,
    UtmMedium,
    UtmCampaign,
    UtmTerm,
    UtmContent,
    Gclid,
    Fbclid,
    Msclkid,
    EventId,
}
