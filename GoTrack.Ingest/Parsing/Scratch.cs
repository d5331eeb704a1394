using System.Text;

namespace GoTrack.Ingest.Parsing;

/// <summary>
/// A bump allocator over one rented buffer: every decoded field of a request is written here and the
/// event fields point into it, so decoding allocates nothing. Sized up front so it never moves.
/// </summary>
internal ref struct Scratch(Span<byte> buffer)
{
    private readonly Span<byte> _buffer = buffer;
    private int _used;

    public readonly Span<byte> Free => _buffer[_used..];

    /// <summary>Keeps the first <paramref name="length"/> bytes of <see cref="Free"/> and returns them.</summary>
    public ReadOnlySpan<byte> Commit(int length)
    {
        var kept = _buffer.Slice(_used, length);
        _used += length;
        return kept;
    }

    /// <summary>Like <see cref="Commit"/>, as a range of <see cref="Written"/>.</summary>
    public Range CommitRange(int length)
    {
        var start = _used;
        _used += length;
        return new Range(start, _used);
    }

    /// <summary>Everything committed so far; ranges from <see cref="CommitRange"/> index into it.</summary>
    public readonly ReadOnlySpan<byte> Written => _buffer[.._used];

    /// <summary>Encodes text (a header, say) as UTF-8.</summary>
    public ReadOnlySpan<byte> Utf8(ReadOnlySpan<char> text) => Commit(Encoding.UTF8.GetBytes(text, Free));

    /// <summary>Bytes needed for <paramref name="chars"/> chars of text in the worst case.</summary>
    public static int Worst(int chars) => chars * 3;
}
