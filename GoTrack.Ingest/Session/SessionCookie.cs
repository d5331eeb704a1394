using System.Buffers;
using System.Buffers.Binary;
using System.Buffers.Text;
using System.Globalization;
using System.Net;
using System.Text;
using GoTrack.Core.Events;
using GoTrack.Ingest.Configuration;
using GoTrack.Ingest.Intake;
using GoTrack.Ingest.Parsing;
using GoTrack.Ingest.Privacy;
using Microsoft.Extensions.Primitives;

namespace GoTrack.Ingest.Session;

/// <summary>
/// The session cookie: 128 bits as 22 base64url characters, HttpOnly, SameSite=Lax, Path=/, Secure over
/// TLS. A value we could not have issued (wrong length or characters) is treated as absent: it is
/// replaced, and never stored.
/// </summary>
/// <remarks>
/// A page's first requests leave the browser together, before any cookie exists (the seed's two snippets
/// on one page). So that they open one session, not two, a new value is not drawn at random but derived:
/// the day's keyed hash (<see cref="DailyKey"/>) of the client address, the user agent and the
/// SESSION_JOIN_WINDOW time bucket the request arrived in. Requests of one browser in one bucket agree,
/// also on other instances that share IP_HASH_SECRET; without the key the value is as unguessable as a
/// random one, and nothing is stored. The address enters only as far as IP_MODE keeps it (raw and hash:
/// the address; truncate: its /24 or /48; drop: not at all), so a value never tells the key's holder more of
/// the address than the events do. Under drop, then, two visitors anywhere with one user agent whose first
/// requests fall into one bucket share a session (README, "Sessions", measures it). A window of 0, or a
/// request without a client address, draws 128 random bits.
/// </remarks>
public sealed class SessionCookie
{
    public const int ValueLength = 22;
    private static readonly SearchValues<char> Base64UrlChars =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

    private readonly string _prefix;
    private readonly string _suffix;
    private readonly string _secureSuffix;

    private readonly DailyKey? _key;
    private readonly long _windowMs;

    /// <param name="key">The day's key for values derived in SESSION_JOIN_WINDOW; null draws every value at random.</param>
    public SessionCookie(CookieSettings settings, DailyKey? key = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _windowMs = (long)settings.JoinWindow.TotalMilliseconds;
        _key = _windowMs > 0 ? key : null;
        Name = settings.Name;
        _prefix = settings.Name + "=";
        var suffix = "; Path=/";
        if (settings.MaxAgeSeconds > 0)
        {
            suffix += "; Max-Age=" + settings.MaxAgeSeconds.ToString(CultureInfo.InvariantCulture);
        }

        if (!string.IsNullOrEmpty(settings.Domain))
        {
            suffix += "; Domain=" + settings.Domain;
        }

        _suffix = suffix + "; HttpOnly; SameSite=Lax";
        _secureSuffix = _suffix + "; Secure";
    }

    public string Name { get; }

    /// <summary>Finds our cookie in the Cookie headers; empty when absent or not a value we issue.</summary>
    public ReadOnlySpan<char> Read(StringValues cookieHeaders)
    {
        foreach (var header in cookieHeaders)
        {
            var rest = header.AsSpan();
            while (!rest.IsEmpty)
            {
                var semi = rest.IndexOf(';');
                var pair = (semi < 0 ? rest : rest[..semi]).Trim();
                rest = semi < 0 ? [] : rest[(semi + 1)..];
                if (pair.Length > Name.Length && pair[Name.Length] == '=' && pair.StartsWith(Name, StringComparison.Ordinal))
                {
                    var value = pair[(Name.Length + 1)..];
                    if (value.Length >= 2 && value[0] == '"' && value[^1] == '"')
                    {
                        value = value[1..^1];
                    }

                    return IsValid(value) ? value : [];
                }
            }
        }

        return [];
    }

    public static bool IsValid(ReadOnlySpan<char> value) =>
        value.Length == ValueLength && !value.ContainsAnyExcept(Base64UrlChars);

    /// <summary>Writes a new random value (22 chars: 128 bits from the CSPRNG) into <paramref name="destination"/>.</summary>
    public static void NewValue(Span<char> destination)
    {
        Span<byte> random = stackalloc byte[16];
        BatchedRandom.Fill(random);
        Base64Url.EncodeToChars(random, destination);
    }

    /// <summary>A Set-Cookie header value for a new random session; <see cref="ValueOf"/> reads the value back.</summary>
    public string NewSetCookieHeader(bool secure) => Header(secure, null);

    /// <summary>A Set-Cookie header value for a new session of this request: derived as the remarks say, or random.</summary>
    /// <remarks>
    /// A derived header is kept in a small table (<see cref="RecentSlots"/> slots, the newest per slot) and
    /// handed out again while its inputs are the same: the requests it exists for (a page's first, and
    /// cookieless clients that send many) then cost a comparison instead of two SHA-256 calls into OpenSSL
    /// and a string. Profiled under wrk without cookies, those calls were 4.6% of Ingest's CPU samples.
    /// </remarks>
    internal string NewSetCookieHeader(bool secure, in RequestInfo info)
    {
        if (_key is null || info.RemoteIp is null)
        {
            return Header(secure, null);
        }

        Span<byte> address = stackalloc byte[16];
        var width = KeptAddress(info.RemoteIp, info.Policy.IpMode, address);
        var bits = BinaryPrimitives.ReadUInt128BigEndian(address);
        var day = info.Now.UtcTicks / TimeSpan.TicksPerDay;
        var bucket = info.Now.ToUnixTimeMilliseconds() / _windowMs;
        var userAgent = info.UserAgent ?? string.Empty;
        var slot = (int)((uint)HashCode.Combine(bits, bucket, string.GetHashCode(userAgent.AsSpan())) % RecentSlots);
        if (Volatile.Read(ref _recent[slot]) is { } seen && seen.Bucket == bucket && seen.Day == day && seen.Address == bits
            && seen.Width == width && seen.Secure == secure && string.Equals(seen.UserAgent, userAgent, StringComparison.Ordinal))
        {
            return seen.Header;
        }

        Span<byte> value = stackalloc byte[16];
        Derive(_key, _windowMs, info.Now, info.RemoteIp, info.Policy.IpMode, info.UserAgent, value);
        var header = Header(secure, BinaryPrimitives.ReadUInt128BigEndian(value));
        Volatile.Write(ref _recent[slot], new Derived(day, bucket, bits, width, userAgent, secure, header));
        return header;
    }

    private const int RecentSlots = 256;
    private readonly Derived?[] _recent = new Derived?[RecentSlots];

    private sealed record Derived(long Day, long Bucket, UInt128 Address, int Width, string UserAgent, bool Secure, string Header);

    /// <summary>
    /// The client address as far as IP_MODE keeps it (raw and hash: all of it; truncate: IPv4 /24, IPv6 /48;
    /// drop: nothing), written at the start of <paramref name="destination"/>; returns its width (4, 16 or 0).
    /// </summary>
    private static int KeptAddress(IPAddress ip, IpMode ipMode, Span<byte> destination)
    {
        destination.Clear();
        if (ipMode == IpMode.Drop)
        {
            return 0;
        }

        ClientIpResolver.Normalize(ip).TryWriteBytes(destination, out var width);
        if (ipMode == IpMode.Truncate)
        {
            destination.Slice(width == 4 ? 3 : 6, width == 4 ? 1 : 10).Clear();
        }

        return width;
    }

    /// <summary>The 128 bits of a derived session value: HMAC(day key, "new-sid:" address 0 user-agent 0 bucket), cut.</summary>
    internal static void Derive(DailyKey key, long windowMs, DateTimeOffset now, IPAddress ip, IpMode ipMode, string? userAgent, Span<byte> destination)
    {
        var ua = userAgent.AsSpan();
        ua = ua[..Math.Min(ua.Length, FieldLimits.UserAgent)];
        var length = 8 + 16 + 1 + Encoding.UTF8.GetMaxByteCount(ua.Length) + 1 + 8;
        byte[]? rented = null;
        var input = length <= 1024 ? stackalloc byte[length] : (rented = ArrayPool<byte>.Shared.Rent(length)).AsSpan(0, length);
        try
        {
            "new-sid:"u8.CopyTo(input);
            var n = 8;
            n += KeptAddress(ip, ipMode, input.Slice(n, 16));
            input[n++] = 0;
            n += Encoding.UTF8.GetBytes(ua, input[n..]);
            input[n++] = 0;
            BinaryPrimitives.WriteInt64BigEndian(input[n..], now.ToUnixTimeMilliseconds() / windowMs);
            n += 8;
            Span<byte> mac = stackalloc byte[32];
            key.Mac(now, input[..n], mac);
            mac[..16].CopyTo(destination);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private string Header(bool secure, UInt128? derived)
    {
        var suffix = secure ? _secureSuffix : _suffix;
        return string.Create(_prefix.Length + ValueLength + suffix.Length, (_prefix, suffix, derived), static (span, state) =>
        {
            state._prefix.CopyTo(span);
            var value = span.Slice(state._prefix.Length, ValueLength);
            if (state.derived is { } bits)
            {
                Span<byte> bytes = stackalloc byte[16];
                BinaryPrimitives.WriteUInt128BigEndian(bytes, bits);
                Base64Url.EncodeToChars(bytes, value);
            }
            else
            {
                NewValue(value);
            }

            state.suffix.CopyTo(span[(state._prefix.Length + ValueLength)..]);
        });
    }

    /// <summary>The session value inside a header from <see cref="NewSetCookieHeader"/>.</summary>
    public ReadOnlySpan<char> ValueOf(string setCookieHeader) =>
        setCookieHeader.AsSpan(_prefix.Length, ValueLength);
}
