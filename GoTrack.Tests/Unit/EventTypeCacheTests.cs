using System.Text;
using GoTrack.Core.Events;

namespace GoTrack.Tests.Unit;

public sealed class EventTypeCacheTests
{
    /// <summary>
    /// "xé" is 3 UTF-8 bytes (78 C3 A9); "xÃ©" is 3 chars whose code points are those byte values. An entry
    /// matched by comparing its chars to the bytes answered for the other name when both met in one slot,
    /// and the Kafka event_type header then named the wrong event. (With 256 slots and FNV-1a the low bits
    /// kept such pairs apart in a brute-force search, so the test puts them in one slot itself.)
    /// </summary>
    [Fact]
    public void Two_names_whose_chars_equal_the_others_bytes_are_never_confused_in_one_slot()
    {
        const int Slot = 201;
        Assert.Equal("x\u00C3\u00A9", EventTypeCache.Lookup(Encoding.UTF8.GetBytes("x\u00C3\u00A9"), Slot));
        Assert.Equal("x\u00E9", EventTypeCache.Lookup(Encoding.UTF8.GetBytes("x\u00E9"), Slot));
        Assert.Equal("x\u00C3\u00A9", EventTypeCache.Lookup(Encoding.UTF8.GetBytes("x\u00C3\u00A9"), Slot));
    }

    [Fact]
    public void Ascii_names_come_back_as_the_same_cached_string()
    {
        var first = EventTypeCache.Get("pageview"u8);
        Assert.Equal("pageview", first);
        Assert.Same(first, EventTypeCache.Get("pageview"u8));
    }
}
