namespace GoTrack.Core.Events;

/// <summary>
/// <c>yyyy-MM-ddTHH:mm:ss.fffZ</c>, the event model's <c>ts</c>. Written by hand because the
/// standard formats give either seconds or seven fractional digits, and a custom format string
/// would go through the culture-aware formatter on every event.
/// </summary>
public static class Rfc3339
{
    public const int Length = 24;

    public static void Format(DateTimeOffset value, Span<byte> destination)
    {
        var d = value.UtcDateTime;
        var dst = destination[..Length];
        Four(dst, 0, d.Year);
        dst[4] = (byte)'-';
        Two(dst, 5, d.Month);
        dst[7] = (byte)'-';
        Two(dst, 8, d.Day);
        dst[10] = (byte)'T';
        Two(dst, 11, d.Hour);
        dst[13] = (byte)':';
        Two(dst, 14, d.Minute);
        dst[16] = (byte)':';
        Two(dst, 17, d.Second);
        dst[19] = (byte)'.';
        var ms = d.Millisecond;
        dst[20] = (byte)('0' + (ms / 100));
        Two(dst, 21, ms % 100);
        dst[23] = (byte)'Z';
    }

    /// <summary>Truncates to whole milliseconds, the precision <c>ts</c> carries.</summary>
    public static DateTimeOffset TruncateToMilliseconds(DateTimeOffset value) =>
        new(value.UtcTicks - (value.UtcTicks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero);

    private static void Two(Span<byte> dst, int at, int v)
    {
        dst[at] = (byte)('0' + (v / 10));
        dst[at + 1] = (byte)('0' + (v % 10));
    }

    private static void Four(Span<byte> dst, int at, int v)
    {
        Two(dst, at, v / 100);
        Two(dst, at + 2, v % 100);
    }
}
