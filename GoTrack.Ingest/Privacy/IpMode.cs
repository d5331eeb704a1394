namespace GoTrack.Ingest.Privacy;

/// <summary>What is stored of the client IP.</summary>
public enum IpMode
{
    Raw,
    Truncate,
    Hash,
    Drop,
}
