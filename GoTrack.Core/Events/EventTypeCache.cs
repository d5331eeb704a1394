using System.Text;

namespace GoTrack.Core.Events;

/// <summary>
/// Turns the UTF-8 event type into the <see cref="Record.Type"/> string without allocating for the
/// few types a site actually sends. A small direct-mapped cache: hostile input can only churn it,
/// never grow it.
/// </summary>
internal static class EventTypeCache
{
    private const int Slots = 256;
    private static readonly string?[] Cache = new string?[Slots];

    public static string Get(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length > 64)
        {
            return Encoding.UTF8.GetString(utf8);
        }

        var slot = (int)(Fnv1a(utf8) % Slots);
        var cached = Volatile.Read(ref Cache[slot]);
        if (cached is not null && Matches(cached, utf8))
        {
            return cached;
        }

        var created = Encoding.UTF8.GetString(utf8);
        Volatile.Write(ref Cache[slot], created);
        return created;
    }

    private static uint Fnv1a(ReadOnlySpan<byte> data)
    {
        var h = 2166136261u;
        foreach (var b in data)
        {
            h = (h ^ b) * 16777619u;
        }

        return h;
    }

    private static bool Matches(string s, ReadOnlySpan<byte> utf8)
    {
        if (s.Length != utf8.Length)
        {
            // Non-ASCII types have more bytes than chars; compare the slow way.
            return Encoding.UTF8.GetByteCount(s) == utf8.Length && Encoding.UTF8.GetBytes(s).AsSpan().SequenceEqual(utf8);
        }

        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] != utf8[i])
            {
                return false;
            }
        }

        return true;
    }
}
