using System.Net;
using GoTrack.Ingest.Enrichment;
using GoTrack.Ingest.Privacy;
using Microsoft.AspNetCore.Http;

namespace GoTrack.Ingest.Intake;

/// <summary>
/// The parts of a request the server vouches for: receive time, user agent, the client address (behind
/// trusted proxies), what the user agent and GeoIP say, and whether the browser opted out. Built once per
/// request; every event of a /collect batch shares it.
/// </summary>
/// <param name="RemoteIp">The real client address. Policy (IP_MODE) decides what of it is stored; it is never logged.</param>
internal readonly record struct RequestInfo(DateTimeOffset Now, string? UserAgent, IPAddress? RemoteIp)
{
    public PrivacyPolicy Policy { get; init; } = PrivacyPolicy.Default;

    public DeviceInfo Device { get; init; }

    public GeoInfo Geo { get; init; }

    /// <summary>The browser opted out and PRIVACY_MODE=anonymize: keep the event without identifiers.</summary>
    public bool Anonymize { get; init; }

    /// <summary>The source name of the request's write key (WRITE_KEYS); null without one.</summary>
    public string? Source { get; init; }

    /// <summary>The client's time of the event, corrected for clock skew (the Segment API); null when unknown.</summary>
    public DateTimeOffset? ClientTs { get; init; }

    /// <summary>The request's Host: the site of a cookieless session when the event has no url.</summary>
    public string? Host { get; init; }

    /// <summary>
    /// Adds the enrichments that depend only on the request: the device from the user agent (bot detection
    /// unless BOT_MODE=off) and the location from the full client address, before IP_MODE reduces it.
    /// </summary>
    public static RequestInfo Create(DateTimeOffset now, string? userAgent, IPAddress? clientIp, PrivacyPolicy policy, string? host = null, bool anonymize = false)
    {
        ArgumentNullException.ThrowIfNull(policy);
        if (clientIp is not null)
        {
            clientIp = ClientIpResolver.Normalize(clientIp);
        }

        var device = DeviceCache.Parse(userAgent, detectBots: policy.BotMode != BotMode.Off);
        var geo = clientIp is not null && policy.Geo is { } lookup ? lookup.Find(clientIp) : default;
        return new RequestInfo(now, userAgent, clientIp)
        {
            Policy = policy,
            Device = device,
            Geo = geo,
            Anonymize = anonymize,
            Host = host,
        };
    }

    /// <summary>The request's facts: the client address from the peer and, behind trusted proxies, the forwarding headers.</summary>
    public static RequestInfo From(HttpContext context, DateTimeOffset now, PrivacyPolicy policy, bool anonymize)
    {
        var request = context.Request;
        var headers = request.Headers;
        var ua = headers.UserAgent;
        var client = ClientIpResolver.Resolve(context.Connection.RemoteIpAddress, headers["X-Forwarded-For"], headers["Forwarded"], policy.Options);
        return Create(now, ua.Count > 0 ? ua[0] : null, client, policy, request.Host.Host, anonymize);
    }
}
