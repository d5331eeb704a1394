using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using GoTrack.Core.Events;
using GoTrack.Ingest.Configuration;
using Microsoft.Extensions.Primitives;

namespace GoTrack.Ingest.Session;

/// <summary>
/// The session cookie: 128 random bits as 22 base64url characters, HttpOnly, SameSite=Lax, Path=/,
/// Secure over TLS. A value we could not have issued (wrong length or characters) is treated as absent:
/// it is replaced, and never stored.
/// </summary>
public sealed class SessionCookie
{
    public const int ValueLength = 22;
    private static readonly SearchValues<char> Base64UrlChars =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

    private readonly string _prefix;
    private readonly string _suffix;
    private readonly string _secureSuffix;

    public SessionCookie(CookieSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
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
    public string NewSetCookieHeader(bool secure)
    {
        var suffix = secure ? _secureSuffix : _suffix;
        return string.Create(_prefix.Length + ValueLength + suffix.Length, (_prefix, suffix), static (span, state) =>
        {
            state._prefix.CopyTo(span);
            NewValue(span.Slice(state._prefix.Length, ValueLength));
            state.suffix.CopyTo(span[(state._prefix.Length + ValueLength)..]);
        });
    }

    /// <summary>The session value inside a header from <see cref="NewSetCookieHeader"/>.</summary>
    public ReadOnlySpan<char> ValueOf(string setCookieHeader) =>
        setCookieHeader.AsSpan(_prefix.Length, ValueLength);
}
