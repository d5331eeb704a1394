using System.Text;

namespace GoTrack.Core.Events;

/// <summary>
/// Turns the UTF-8 event type into the <see cref="Record.Type"/> string without allocating for the
/// few types a site actually sends. A small direct-mapped cache: hostile input can only churn it,
/// never grow it. Each entry keeps the UTF-8 bytes it was made from and is matched on those bytes:
/// comparing chars to bytes confused names such as "xé" (bytes 78 C3 A9) and "xÃ©" (chars 78 C3 A9).
/// </summary>
internal static class EventTypeCache
{
    private const int Slots = 256;
    private static readonly Entry?[] Cache = new Entry?[Slots];

    private sealed class Entry(byte[] utf8, string text)
    {
        public byte[] Utf8 { get; } = utf8;

        public string Text { get; } = text;
    }

    public static string Get(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length > 64)
        {
            return Encoding.UTF8.GetString(utf8);
        }

        return Lookup(utf8, (int)(Fnv1a(utf8) % Slots));
    }

    /// <summary>The cache at a given slot; tests use it to put two names in one slot.</summary>
    internal static string Lookup(ReadOnlySpan<byte> utf8, int slot)
    {
        var cached = Volatile.Read(ref Cache[slot]);
        if (cached is not null && cached.Utf8.AsSpan().SequenceEqual(utf8))
        {
            return cached.Text;
        }

        var created = new Entry(utf8.ToArray(), Encoding.UTF8.GetString(utf8));
        Volatile.Write(ref Cache[slot], created);
        return created.Text;
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
}
