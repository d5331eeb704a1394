namespace GoTrack.Ingest.Enrichment;

/// <summary>
/// A small bounded cache of user agent to device: a few user agents make up most traffic, and hashing and
/// comparing one is several times cheaper than parsing it (measured with PixelPathBenchmarks). Direct-mapped
/// and lock-free: 1024 slots, each an immutable entry replaced whole, so a collision simply evicts.
/// Holds at most 1024 header strings (each at most 512 characters).
/// </summary>
public static class DeviceCache
{
    private const int Slots = 1024;
    private const int MaxCachedLength = 512;

    private static readonly Entry?[] WithBots = new Entry?[Slots];
    private static readonly Entry?[] WithoutBots = new Entry?[Slots];

    public static DeviceInfo Parse(string? userAgent, bool detectBots)
    {
        if (string.IsNullOrEmpty(userAgent))
        {
            return default;
        }

        if (userAgent.Length > MaxCachedLength)
        {
            return UserAgentParser.Parse(userAgent, detectBots);
        }

        var slots = detectBots ? WithBots : WithoutBots;
        var slot = userAgent.GetHashCode(StringComparison.Ordinal) & (Slots - 1);
        var entry = Volatile.Read(ref slots[slot]);
        if (entry is not null && string.Equals(entry.UserAgent, userAgent, StringComparison.Ordinal))
        {
            return entry.Device;
        }

        var device = UserAgentParser.Parse(userAgent, detectBots);
        Volatile.Write(ref slots[slot], new Entry(userAgent, device));
        return device;
    }

    private sealed record Entry(string UserAgent, DeviceInfo Device);
}
