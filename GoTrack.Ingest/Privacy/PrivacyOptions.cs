using System.Net;

namespace GoTrack.Ingest.Privacy;

/// <summary>The privacy and enrichment settings, validated by <see cref="Configuration.PrivacySettings"/>.</summary>
public sealed class PrivacyOptions
{
    /// <summary>The default TRUSTED_PROXIES: loopback and the private ranges (RFC 1918, RFC 4193 unique local).</summary>
    public const string DefaultTrustedProxies = "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7";

    public bool TrustProxy { get; set; }

    public IReadOnlyList<IPNetwork> TrustedProxies { get; set; } = [];

    /// <summary>Which header a trusted proxy writes: the other one is ignored, since the client controls it.</summary>
    public ForwardedHeader ForwardedHeader { get; set; } = ForwardedHeader.XForwardedFor;

    public IpMode IpMode { get; set; } = IpMode.Raw;

    /// <summary>IP_HASH_SECRET as bytes; null when unset (a random per-process secret is used then).</summary>
    public byte[]? IpHashSecret { get; set; }

    public bool DntRespect { get; set; } = true;

    public bool GpcRespect { get; set; } = true;

    public PrivacyMode PrivacyMode { get; set; } = PrivacyMode.Drop;

    public BotMode BotMode { get; set; } = BotMode.Flag;

    public CookieMode CookieMode { get; set; } = CookieMode.On;

    public string? GeoIpPath { get; set; }

    public TimeSpan GeoIpReloadInterval { get; set; } = TimeSpan.FromSeconds(60);

    public OriginAllowlist CorsOrigins { get; set; } = OriginAllowlist.Empty;

    /// <summary>True when some feature needs the daily key (IP_MODE=hash or COOKIE_MODE=off).</summary>
    public bool NeedsDailyKey => IpMode == IpMode.Hash || CookieMode == CookieMode.Off;
}
