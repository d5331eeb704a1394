using System.Net;
using System.Text;
using GoTrack.Core.Configuration;
using GoTrack.Ingest.Enrichment;
using GoTrack.Ingest.Privacy;

namespace GoTrack.Ingest.Configuration;

/// <summary>The "Privacy and enrichment" settings: their docs (for <c>--help</c>) and their validation.</summary>
public static class PrivacySettings
{
    public static SettingDoc[] Docs { get; } =
    [
        new("TRUST_PROXY", "false", "Take the client IP from the forwarding header, but only when the peer is in TRUSTED_PROXIES; the rightmost address that is not a trusted proxy is the client."),
        new("TRUSTED_PROXIES", PrivacyOptions.DefaultTrustedProxies, "Comma-separated CIDRs (or single addresses) of the proxies whose forwarding header is believed."),
        new("FORWARDED_HEADER", "x-forwarded-for", "The header your proxy writes: x-forwarded-for or forwarded (RFC 7239). The other is ignored: a client could write it."),
        new("IP_MODE", "raw", "What is stored of the client IP: raw, truncate (IPv4 /24, IPv6 /48), hash (HMAC-SHA256 with a key that changes every UTC day) or drop."),
        new("IP_HASH_SECRET", "", "Secret (16+ characters) behind IP_MODE=hash, COOKIE_MODE=off and the new session values joined in SESSION_JOIN_WINDOW. Unset: a random secret per process, so instances and restarts disagree (and a page's first requests split across instances)."),
        new("DNT_RESPECT", "true", "Honour DNT: 1 as an opt-out (see PRIVACY_MODE). The pixel still answers with the GIF."),
        new("GPC_RESPECT", "true", "Honour Sec-GPC: 1 (Global Privacy Control) as an opt-out (see PRIVACY_MODE)."),
        new("PRIVACY_MODE", "drop", "What an opt-out does: drop (the event is not recorded) or anonymize (recorded without uid, sid, ip, ua and click ids; no cookie)."),
        new("BOT_MODE", "flag", "Crawlers, headless browsers and HTTP libraries: flag (\"bot\": true), drop (not recorded; the pixel still answers) or off (no detection)."),
        new("COOKIE_MODE", "on", "on: a session cookie gives sid. off: no cookie; sid is the daily keyed hash of site + IP + user agent."),
        new("GEOIP_DB", "", "Path to a MaxMind GeoIP2/GeoLite2 City or Country .mmdb; fills geo{country,region,city}. Reloaded when the file changes."),
        new("GEOIP_RELOAD_INTERVAL", "60s", "How often GEOIP_DB is checked for a new version."),
        new("CORS_ALLOWED_ORIGINS", "", "Origins allowed to POST /collect from a browser: https://shop.example.com, https://*.example.com, or *. Empty: no CORS headers and no Origin check."),
    ];

    /// <summary>Reads and validates the privacy settings into <paramref name="o"/>; errors go to <paramref name="r"/>.</summary>
    public static void Load(SettingsReader r, PrivacyOptions o)
    {
        ArgumentNullException.ThrowIfNull(r);
        ArgumentNullException.ThrowIfNull(o);
        o.TrustProxy = r.Bool("TRUST_PROXY", false);
        var proxies = r.Text("TRUSTED_PROXIES", PrivacyOptions.DefaultTrustedProxies);
        if (TryParseNetworks(proxies, out var networks, out var bad))
        {
            o.TrustedProxies = networks;
        }
        else
        {
            r.Error("TRUSTED_PROXIES", $"'{bad}' is not a CIDR such as 10.0.0.0/8 or fd00::/8, or an address");
        }

        o.ForwardedHeader = r.OneOf("FORWARDED_HEADER", "x-forwarded-for", "x-forwarded-for", "forwarded") == "forwarded"
            ? ForwardedHeader.Forwarded : ForwardedHeader.XForwardedFor;
        o.IpMode = Enum.Parse<IpMode>(r.OneOf("IP_MODE", "raw", "raw", "truncate", "hash", "drop"), ignoreCase: true);
        var secret = r.Raw("IP_HASH_SECRET");
        if (secret is not null)
        {
            if (secret.Length < 16)
            {
                r.Error("IP_HASH_SECRET", "must be at least 16 characters (use a long random string, e.g. openssl rand -base64 32)");
            }
            else
            {
                o.IpHashSecret = Encoding.UTF8.GetBytes(secret);
            }
        }

        o.DntRespect = r.Bool("DNT_RESPECT", true);
        o.GpcRespect = r.Bool("GPC_RESPECT", true);
        o.PrivacyMode = Enum.Parse<PrivacyMode>(r.OneOf("PRIVACY_MODE", "drop", "drop", "anonymize"), ignoreCase: true);
        o.BotMode = Enum.Parse<BotMode>(r.OneOf("BOT_MODE", "flag", "flag", "drop", "off"), ignoreCase: true);
        o.CookieMode = Enum.Parse<CookieMode>(r.OneOf("COOKIE_MODE", "on", "on", "off"), ignoreCase: true);

        o.GeoIpPath = r.Raw("GEOIP_DB");
        if (o.GeoIpPath is { } path)
        {
            if (!File.Exists(path))
            {
                r.Error("GEOIP_DB", $"file '{path}' does not exist");
            }
            else if (GeoIpLookup.Check(path) is { } why)
            {
                r.Error("GEOIP_DB", $"'{path}' is not a usable MaxMind database: {why}");
            }
        }

        o.GeoIpReloadInterval = r.Duration("GEOIP_RELOAD_INTERVAL", TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(100), TimeSpan.FromDays(1));

        o.CorsOrigins = OriginAllowlist.Parse(r.Raw("CORS_ALLOWED_ORIGINS"), out var corsError);
        if (corsError is not null)
        {
            r.Error("CORS_ALLOWED_ORIGINS", corsError);
        }
    }

    /// <summary>Parses a comma-separated list of CIDRs or single addresses; <paramref name="bad"/> is the first entry that is neither.</summary>
    public static bool TryParseNetworks(string text, out IPNetwork[] networks, out string? bad)
    {
        ArgumentNullException.ThrowIfNull(text);
        var list = new List<IPNetwork>();
        bad = null;
        foreach (var entry in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (IPNetwork.TryParse(entry, out var network))
            {
                list.Add(network);
            }
            else if (!entry.Contains('/', StringComparison.Ordinal) && IPAddress.TryParse(entry, out var single))
            {
                single = ClientIpResolver.Normalize(single);
                list.Add(new IPNetwork(single, single.GetAddressBytes().Length * 8));
            }
            else
            {
                bad = entry;
                networks = [];
                return false;
            }
        }

        networks = [.. list];
        return true;
    }
}
