using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Primitives;

namespace GoTrack.Ingest.Privacy;

/// <summary>
/// The client's address behind trusted proxies. Each proxy appends the address it received the request
/// from to the end of the chain, so the chain is read from the right: the peer, then each hop, skipping
/// addresses in TRUSTED_PROXIES. The first address that is not a trusted proxy is the client. Whatever a
/// client writes itself sits to the left of that and is never reached, so it cannot spoof its address.
/// </summary>
/// <remarks>
/// Written by hand rather than with ASP.NET Core's ForwardedHeadersMiddleware: that middleware reads only
/// X-Forwarded-For (not RFC 7239 Forwarded), and rewrites Connection.RemoteIpAddress for the whole app,
/// while GoTrack needs the peer kept apart from the client address and both header forms honoured.
/// </remarks>
public static class ClientIpResolver
{
    /// <summary>Maps IPv4-mapped IPv6 (::ffff:a.b.c.d, from dual-stack sockets) to plain IPv4.</summary>
    public static IPAddress Normalize(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return address.AddressFamily == AddressFamily.InterNetworkV6 && address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
    }

    public static bool IsTrusted(IPAddress address, IReadOnlyList<IPNetwork> trusted)
    {
        ArgumentNullException.ThrowIfNull(trusted);
        for (var i = 0; i < trusted.Count; i++)
        {
            if (trusted[i].Contains(address))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The client address. Without TRUST_PROXY, or when the peer is not a trusted proxy, it is the peer.
    /// When an entry of the chain is not an address (<c>unknown</c>, an obfuscated <c>_name</c>, garbage),
    /// the walk stops there and the last trusted hop is the answer: the client is not known better than that.
    /// </summary>
    public static IPAddress? Resolve(IPAddress? peer, StringValues forwardedFor, StringValues forwarded, PrivacyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (peer is null)
        {
            return null;
        }

        peer = Normalize(peer);
        if (!options.TrustProxy || !IsTrusted(peer, options.TrustedProxies))
        {
            return peer;
        }

        var useForwarded = options.ForwardedHeader == ForwardedHeader.Forwarded;
        var headers = useForwarded ? forwarded : forwardedFor;
        var current = peer;
        for (var h = headers.Count - 1; h >= 0; h--)
        {
            var rest = (headers[h] ?? string.Empty).AsSpan();
            while (true)
            {
                var element = NextFromRight(ref rest, out var more);
                if (!element.IsEmpty || more)
                {
                    var text = useForwarded ? ForwardedParser.ForValue(element) : ForwardedParser.Address(element);
                    if (text.IsEmpty || !IPAddress.TryParse(text, out var hop))
                    {
                        return current;
                    }

                    hop = Normalize(hop);
                    if (!IsTrusted(hop, options.TrustedProxies))
                    {
                        return hop;
                    }

                    current = hop;
                }

                if (!more)
                {
                    break;
                }
            }
        }

        // Every hop was a trusted proxy: the leftmost is as close to the client as the chain goes.
        return current;
    }

    /// <summary>Cuts the last comma-separated element off <paramref name="rest"/>; commas inside quotes do not count.</summary>
    private static ReadOnlySpan<char> NextFromRight(ref ReadOnlySpan<char> rest, out bool more)
    {
        var inQuotes = false;
        for (var i = rest.Length - 1; i >= 0; i--)
        {
            var c = rest[i];
            if (c == '"')
            {
                inQuotes = !inQuotes;
            }
            else if (c == ',' && !inQuotes)
            {
                var element = rest[(i + 1)..].Trim();
                rest = rest[..i];
                more = true;
                return element;
            }
        }

        var last = rest.Trim();
        rest = [];
        more = false;
        return last;
    }
}
