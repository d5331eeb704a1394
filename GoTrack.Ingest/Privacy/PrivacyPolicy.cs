using GoTrack.Ingest.Enrichment;

namespace GoTrack.Ingest.Privacy;

/// <summary>
/// The privacy and enrichment settings in force, with what they need at run time: the daily hash key
/// and the GeoIP database. One per process; every request reads it.
/// </summary>
public sealed class PrivacyPolicy
{
    /// <summary>The seed's behaviour: raw IP, cookies on, bots flagged, no GeoIP.</summary>
    public static readonly PrivacyPolicy Default = new(new PrivacyOptions(), null, null);

    public PrivacyPolicy(PrivacyOptions options, DailyKey? key, GeoIpLookup? geo)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        Key = key ?? (options.NeedsDailyKey ? new DailyKey(options.IpHashSecret) : null);
        Geo = geo;
    }

    public PrivacyOptions Options { get; }

    /// <summary>The daily key, when IP_MODE=hash or COOKIE_MODE=off needs one.</summary>
    public DailyKey? Key { get; }

    public GeoIpLookup? Geo { get; }

    public IpMode IpMode => Options.IpMode;

    public BotMode BotMode => Options.BotMode;

    public bool Cookieless => Options.CookieMode == CookieMode.Off;
}
