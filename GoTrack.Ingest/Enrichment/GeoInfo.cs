namespace GoTrack.Ingest.Enrichment;

/// <summary>The coarse location GoTrack keeps: ISO country code, ISO subdivision code, English city name.</summary>
public readonly record struct GeoInfo(string? Country, string? Region, string? City)
{
    public bool IsEmpty => Country is null && Region is null && City is null;

    /// <summary>UTF-8 bytes the three names can need.</summary>
    public int Utf8Size => 3 * ((Country?.Length ?? 0) + (Region?.Length ?? 0) + (City?.Length ?? 0));
}
