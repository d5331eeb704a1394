using System.Text;
using GoTrack.Core.Events;
using GoTrack.Ingest.Parsing;
using GoTrack.Ingest.Privacy;

namespace GoTrack.Ingest.Intake;

/// <summary>
/// What the server knows of an event, whatever the client says: time, id, user agent, device, location,
/// and the client address as IP_MODE keeps it. Privacy policy is applied here, before the event is encoded:
/// what it removes never reaches the JSON, so it never reaches a sink.
/// </summary>
internal static class RequestFacts
{
    /// <summary>Scratch bytes the server-side facts of a request can need.</summary>
    public static int ScratchSize(in RequestInfo info, ReadOnlySpan<char> sessionId) =>
        Scratch.Worst(Math.Min(info.UserAgent?.Length ?? 0, FieldLimits.UserAgent) + sessionId.Length + (info.Source?.Length ?? 0))
        + info.Geo.Utf8Size + IpText.MaxLength + SessionInputSize(info) + 128;

    /// <summary>Fills the fields the server owns. Call after the client's fields are parsed and validated.</summary>
    public static void Fill(in RequestInfo info, ref Scratch scratch, ref EventFields f, bool hasEventId, ReadOnlySpan<char> sessionId)
    {
        var now = info.Now;
        var policy = info.Policy;
        f.Timestamp = now;
        if (!hasEventId)
        {
            f.EventId = Uuid7.Create(now);
        }

        if (f.Type.IsEmpty)
        {
            f.Type = FieldRules.DefaultType;
        }

        UrlCampaign.Fill(ref scratch, ref f);
        if (info.Source is { Length: > 0 } source)
        {
            f.Source = scratch.Utf8(source);
        }

        f.ClientTs = info.ClientTs;

        if (!string.IsNullOrEmpty(info.UserAgent) && !info.Anonymize)
        {
            var text = info.UserAgent.AsSpan();
            f.Ua = Utf8Text.Clean(Utf8Text.Truncate(scratch.Utf8(text[..Math.Min(text.Length, FieldLimits.UserAgent)]), FieldLimits.UserAgent));
        }

        var device = info.Device;
        if (device.IsKnown)
        {
            f.DeviceBrowser = device.BrowserName;
            f.DeviceOs = device.OsName;
            f.DeviceType = device.TypeName;
            f.Bot = device.IsBot && policy.BotMode == BotMode.Flag;
        }

        var geo = info.Geo;
        if (!geo.IsEmpty)
        {
            f.GeoCountry = geo.Country is null ? default : scratch.Utf8(geo.Country);
            f.GeoRegion = geo.Region is null ? default : scratch.Utf8(geo.Region);
            f.GeoCity = geo.City is null ? default : Utf8Text.Clean(scratch.Utf8(geo.City));
        }

        if (info.Anonymize)
        {
            // An opted-out browser (PRIVACY_MODE=anonymize): nothing that identifies or follows a person.
            f.Uid = f.Sid = f.Gclid = f.Fbclid = f.Msclkid = default;
            return;
        }

        if (f.Sid.IsEmpty)
        {
            if (!sessionId.IsEmpty)
            {
                f.Sid = scratch.Utf8(sessionId);
            }
            else if (policy.Cookieless)
            {
                f.Sid = scratch.Commit(CookielessSession(info, scratch.Free, f.Url));
            }
        }

        var ip = info.RemoteIp;
        if (ip is not null)
        {
            var n = IpText.Write(ip, policy.IpMode, policy.Key, now, scratch.Free);
            f.Ip = n == 0 ? default : scratch.Commit(n);
        }
    }

    private static int SessionInputSize(in RequestInfo info) =>
        info.Policy.Cookieless ? 64 + Math.Min(info.UserAgent?.Length ?? 0, FieldLimits.UserAgent) * 3 + FieldLimits.Url + (info.Host?.Length ?? 0) * 3 : 0;

    /// <summary>
    /// COOKIE_MODE=off: the session is the day's keyed hash of site, client address and user agent, as
    /// Plausible and GoatCounter do. The same visitor on the same site on the same UTC day gets the same sid;
    /// the next day, or on another site, it is unrelated. The site is the host of the event's url, or the
    /// request's Host when there is no url. Returns the length of the sid written at the start of <paramref name="input"/>.
    /// </summary>
    private static int CookielessSession(scoped in RequestInfo info, Span<byte> input, ReadOnlySpan<byte> url)
    {
        var n = 0;
        "sid:"u8.CopyTo(input);
        n += 4;
        var site = HostOf(url);
        if (site.IsEmpty)
        {
            n += Encoding.UTF8.GetBytes(info.Host.AsSpan(), input[n..]);
        }
        else
        {
            site.CopyTo(input[n..]);
            n += site.Length;
        }

        Ascii.ToLowerInPlace(input[4..n], out _);
        input[n++] = 0;
        if (info.RemoteIp is { } ip)
        {
            ip.TryWriteBytes(input[n..], out var w);
            n += w;
        }

        input[n++] = 0;
        var ua = info.UserAgent.AsSpan();
        n += Encoding.UTF8.GetBytes(ua[..Math.Min(ua.Length, FieldLimits.UserAgent)], input[n..]);

        // The hash text goes right after the input, then moves to the start: the input is no longer needed.
        var output = input[n..];
        info.Policy.Key!.Hash(info.Now, input[..n], output);
        output[..DailyKey.TextLength].CopyTo(input);
        return DailyKey.TextLength;
    }

    /// <summary>The host[:port] of an absolute URL, without userinfo; empty when the url has none.</summary>
    internal static ReadOnlySpan<byte> HostOf(ReadOnlySpan<byte> url)
    {
        var scheme = url.IndexOf("://"u8);
        if (scheme < 0)
        {
            return [];
        }

        var authority = url[(scheme + 3)..];
        var end = authority.IndexOfAny("/?#"u8);
        if (end >= 0)
        {
            authority = authority[..end];
        }

        var at = authority.LastIndexOf((byte)'@');
        return at >= 0 ? authority[(at + 1)..] : authority;
    }
}
