using System.Buffers;
using System.Collections.Frozen;
using System.Text;
using Microsoft.Extensions.Primitives;

namespace GoTrack.Ingest.Intake;

/// <summary>
/// WRITE_KEYS: the accepted write keys, each with the name of its source. Unset, intake is open (as the seed
/// has it) and events carry no source. A write key identifies a source; it is not a secret (browser SDKs put
/// it in every page), so it is never logged as one would a password, and it is never stored in an event.
/// </summary>
public sealed class WriteKeys
{
    public static readonly WriteKeys None = new(FrozenDictionary<string, string>.Empty);

    private static readonly SearchValues<char> SourceChars = SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-");
    private readonly FrozenDictionary<string, string> _sources;
    private readonly FrozenDictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    private WriteKeys(FrozenDictionary<string, string> sources)
    {
        _sources = sources;
        _lookup = sources.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>True when WRITE_KEYS is set: requests without a known key are refused.</summary>
    public bool Required => _sources.Count > 0;

    public int Count => _sources.Count;

    public IEnumerable<string> Keys => _sources.Keys;

    /// <summary>The source of <paramref name="key"/>; false when it is not one of ours.</summary>
    public bool TryGetSource(ReadOnlySpan<char> key, out string source)
    {
        if (_lookup.TryGetValue(key, out var found))
        {
            source = found;
            return true;
        }

        source = string.Empty;
        return false;
    }

    /// <summary>
    /// <c>key:source</c> pairs separated by commas, or <c>@path</c> to a file with one pair per line (blank
    /// lines and lines starting with # are skipped). A key is 8 to 256 printable ASCII characters without
    /// ':', ',' or spaces; a source name 1 to 64 letters, digits, '_', '.' or '-'.
    /// </summary>
    public static WriteKeys Parse(string? spec, out string? error)
    {
        error = null;
        if (string.IsNullOrWhiteSpace(spec))
        {
            return None;
        }

        IEnumerable<string> entries;
        if (spec.StartsWith('@'))
        {
            var path = spec[1..];
            if (!File.Exists(path))
            {
                error = $"file '{path}' does not exist";
                return None;
            }

            entries = File.ReadAllLines(path).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#'));
        }
        else
        {
            entries = spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        }

        var sources = new Dictionary<string, string>(StringComparer.Ordinal);
        var line = 0;
        foreach (var entry in entries)
        {
            line++;
            var colon = entry.IndexOf(':', StringComparison.Ordinal);
            var key = colon < 0 ? entry : entry[..colon].Trim();
            var source = colon < 0 ? string.Empty : entry[(colon + 1)..].Trim();
            if (key.Length is < 8 or > 256 || key.Any(c => c is <= ' ' or > '~' or ',' or ':'))
            {
                error = $"entry {line}: a key is 8 to 256 printable ASCII characters without spaces, ',' or ':'";
                return None;
            }

            if (source.Length is < 1 or > 64 || source.AsSpan().ContainsAnyExcept(SourceChars))
            {
                error = $"entry {line}: write 'key:source'; a source name is 1 to 64 letters, digits, '_', '.' or '-'";
                return None;
            }

            if (!sources.TryAdd(key, source))
            {
                error = $"entry {line}: the key is listed twice";
                return None;
            }
        }

        return new WriteKeys(sources.ToFrozenDictionary(StringComparer.Ordinal));
    }

    /// <summary>
    /// The key a request presents outside its body: HTTP Basic auth with the key as the user name (as
    /// Segment's SDKs send it), else the <c>write_key</c> query parameter (the pixel, a beacon). Null when none.
    /// </summary>
    public static string? FromRequest(StringValues authorization, IQueryCollection query)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (FromBasicAuth(authorization) is { } key)
        {
            return key;
        }

        var fromQuery = query["write_key"];
        return fromQuery.Count > 0 && !string.IsNullOrEmpty(fromQuery[0]) ? fromQuery[0] : null;
    }

    /// <summary>The user name of a Basic credential (the password, empty for Segment, is ignored).</summary>
    internal static string? FromBasicAuth(StringValues authorization)
    {
        if (authorization.Count == 0 || authorization[0] is not { } header
            || !header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase) || header.Length > 2048)
        {
            return null;
        }

        Span<byte> decoded = stackalloc byte[1536];
        if (!Convert.TryFromBase64String(header.AsSpan(6).Trim().ToString(), decoded, out var n))
        {
            return null;
        }

        var text = decoded[..n];
        var colon = text.IndexOf((byte)':');
        var user = colon < 0 ? text : text[..colon];
        return user.IsEmpty ? null : Encoding.UTF8.GetString(user);
    }
}
