using System.Text;
using GoTrack.Core.Events;

namespace GoTrack.Tests.Unit;

public sealed class EventTypeCacheTests
{
    /// <summary>
    /// "xNé" is 5 UTF-8 bytes (… C3 A9); "xNÃ©" is 5 chars whose code points are those same byte values.
    /// A cache that compares chars to bytes takes one for the other when both land in one slot, and the
    /// Kafka event_type header then names the wrong event.
    /// </summary>
    [Fact]
    public void Two_names_whose_chars_equal_the_others_bytes_are_never_confused()
    {
        var (lookalike, real) = Enumerable.Range(0, 100_000)
            .Select(n => ("x" + n + "\u00C3\u00A9", "x" + n + "\u00E9"))
            .First(p => Slot(Encoding.UTF8.GetBytes(p.Item1)) == Slot(Encoding.UTF8.GetBytes(p.Item2)));

        Assert.Equal(lookalike, EventTypeCache.Get(Encoding.UTF8.GetBytes(lookalike)));
        Assert.Equal(real, EventTypeCache.Get(Encoding.UTF8.GetBytes(real)));
        Assert.Equal(lookalike, EventTypeCache.Get(Encoding.UTF8.GetBytes(lookalike)));
    }

    [Fact]
    public void Ascii_names_come_back_as_the_same_cached_string()
    {
        var first = EventTypeCache.Get("pageview"u8);
        Assert.Equal("pageview", first);
        Assert.Same(first, EventTypeCache.Get("pageview"u8));
    }

    private static uint Slot(byte[] data)
    {
        var h = 2166136261u;
        foreach (var b in data)
        {
            h = (h ^ b) * 16777619u;
        }

        return h % 256;
    }
}
