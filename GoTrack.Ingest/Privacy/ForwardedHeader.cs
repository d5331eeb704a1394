namespace GoTrack.Ingest.Privacy;

/// <summary>FORWARDED_HEADER: the forwarding header a trusted proxy writes.</summary>
public enum ForwardedHeader
{
    XForwardedFor,
    Forwarded,
}
