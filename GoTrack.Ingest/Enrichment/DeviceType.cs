namespace GoTrack.Ingest.Enrichment;

/// <summary>The kind of device a user agent describes; None when there is no user agent.</summary>
public enum DeviceType : byte
{
    None,
    Desktop,
    Mobile,
    Tablet,
    Tv,
    Console,
    Bot,
}
