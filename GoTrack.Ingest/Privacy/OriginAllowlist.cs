namespace GoTrack.Ingest.Privacy;

/// <summary>
/// CORS_ALLOWED_ORIGINS: exact origins (<c>https://shop.example.com</c>, <c>http://localhost:3000</c>),
/// wildcard subdomains (<c>https://*.example.com</c> matches any name below example.com, not example.com
/// itself), or <c>*</c> (any origin, never with credentials). Empty means no CORS at all: no Origin check
/// and no CORS headers, which suits same-origin pages and server-side senders.
/// </summary>
public sealed class OriginAllowlist
{
    public static readonly OriginAllowlist Empty = new([], [], anyOrigin: false);

    private readonly HashSet<string> _exact;
    private readonly (string Prefix, string Suffix)[] _wildcards;

    private OriginAllowlist(HashSet<string> exact, (string, string)[] wildcards, bool anyOrigin)
    {
        _exact = exact;
        _wildcards = wildcards;
        AnyOrigin = anyOrigin;
    }

    /// <summary>No entries: /collect does no CORS.</summary>
    public bool IsEmpty => _exact.Count == 0 && _wildcards.Length == 0 && !AnyOrigin;

    /// <summary><c>*</c> was listed: every origin is allowed, and answered with <c>Access-Control-Allow-Origin: *</c>.</summary>
    public bool AnyOrigin { get; }

    /// <summary>Parses the comma-separated list; <paramref name="error"/> says what is wrong with the first bad entry.</summary>
    public static OriginAllowlist Parse(string? text, out string? error)
    {
        error = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            return Empty;
        }

        var exact = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var wildcards = new List<(string, string)>();
        var any = false;
        foreach (var entry in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (entry == "*")
            {
                any = true;
                continue;
            }

            if (!TryParseEntry(entry, out var scheme, out var host, out var port, out var wildcard, out error))
            {
                return Empty;
            }

            var tail = port is null ? string.Empty : ":" + port;
            if (wildcard)
            {
                wildcards.Add((scheme + "://", "." + host + tail));
            }
            else
            {
                exact.Add(scheme + "://" + host + tail);
            }
        }

        return new OriginAllowlist(exact, [.. wildcards], any);
    }

    private static bool TryParseEntry(string entry, out string scheme, out string host, out string? port, out bool wildcard, out string? error)
    {
        scheme = host = string.Empty;
        port = null;
        wildcard = false;
        error = null;
        var sep = entry.IndexOf("://", StringComparison.Ordinal);
        if (sep <= 0)
        {
            error = $"'{entry}' is not an origin like https://shop.example.com";
            return false;
        }

        scheme = entry[..sep].ToLowerInvariant();
        if (scheme is not ("http" or "https"))
        {
            error = $"'{entry}' must start with http:// or https://";
            return false;
        }

        var authority = entry[(sep + 3)..];
        if (authority.AsSpan().IndexOfAny("/?#@ ") >= 0)
        {
            error = $"'{entry}' must be scheme://host[:port] only, without a path, query or trailing slash";
            return false;
        }

        if (authority.StartsWith("*.", StringComparison.Ordinal))
        {
            wildcard = true;
            authority = authority[2..];
        }

        var colon = authority.StartsWith('[') ? authority.IndexOf("]:", StringComparison.Ordinal) + 1 : authority.LastIndexOf(':');
        if (colon > 0)
        {
            port = authority[(colon + 1)..];
            authority = authority[..colon];
            if (!int.TryParse(port, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var p) || p is < 1 or > 65535)
            {
                error = $"'{entry}' has a bad port";
                return false;
            }
        }

        host = authority.ToLowerInvariant();
        var kind = Uri.CheckHostName(host.Trim('[', ']'));
        if (host.Length == 0 || host.Contains('*', StringComparison.Ordinal) || kind == UriHostNameType.Unknown
            || (wildcard && kind != UriHostNameType.Dns))
        {
            error = $"'{entry}' has a bad host; a wildcard may only be the leftmost label, as in https://*.example.com";
            return false;
        }

        return true;
    }

    /// <summary>True when <paramref name="origin"/> (an Origin header value) is on the list.</summary>
    public bool IsAllowed(ReadOnlySpan<char> origin)
    {
        if (AnyOrigin)
        {
            return true;
        }

        if (origin.IsEmpty)
        {
            return false;
        }

        if (_exact.Count > 0 && _exact.GetAlternateLookup<ReadOnlySpan<char>>().Contains(origin))
        {
            return true;
        }

        foreach (var (prefix, suffix) in _wildcards)
        {
            if (origin.Length > prefix.Length + suffix.Length
                && origin.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)
                && origin.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                var label = origin[prefix.Length..^suffix.Length];
                if (IsHostLabels(label))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>One or more DNS labels: letters, digits, '-' and inner dots; nothing that could smuggle a port, path or userinfo.</summary>
    private static bool IsHostLabels(ReadOnlySpan<char> text)
    {
        if (text.IsEmpty || text[0] == '.' || text[^1] == '.' || text.Contains("..", StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var c in text)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '-' || c == '.'))
            {
                return false;
            }
        }

        return true;
    }
}
