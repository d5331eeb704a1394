using System.Text;

namespace GoTrack.Ingest.Parsing;

/// <summary>
/// Decodes one application/x-www-form-urlencoded component ('+' is a space, %XX a byte) straight into
/// UTF-8 bytes. Written by hand because the framework's decoders return strings; this one writes into the
/// request's scratch buffer. A '%' that does not start a valid escape is kept as it is, as browsers do.
/// Characters above ASCII (Kestrel passes them through in the query) are written as UTF-8.
/// </summary>
internal static class PercentDecoder
{
    /// <summary>Writes the decoded bytes to <paramref name="destination"/> (at least 3x the input long); returns the count.</summary>
    public static int Decode(ReadOnlySpan<char> encoded, Span<byte> destination)
    {
        var n = 0;
        for (var i = 0; i < encoded.Length; i++)
        {
            var c = encoded[i];
            if (c == '+')
            {
                destination[n++] = (byte)' ';
            }
            else if (c == '%' && i + 2 < encoded.Length && TryHex(encoded[i + 1], encoded[i + 2], out var b))
            {
                destination[n++] = b;
                i += 2;
            }
            else if (c < 0x80)
            {
                destination[n++] = (byte)c;
            }
            else
            {
                var end = i + 1;
                while (end < encoded.Length && encoded[end] >= 0x80)
                {
                    end++;
                }

                n += Encoding.UTF8.GetBytes(encoded[i..end], destination[n..]);
                i = end - 1;
            }
        }

        return n;
    }

    /// <summary>The same decoding for text that is already UTF-8 (a URL's query in an event field); returns the count.</summary>
    public static int Decode(ReadOnlySpan<byte> encoded, Span<byte> destination)
    {
        var n = 0;
        for (var i = 0; i < encoded.Length; i++)
        {
            var c = encoded[i];
            if (c == (byte)'+')
            {
                destination[n++] = (byte)' ';
            }
            else if (c == (byte)'%' && i + 2 < encoded.Length && TryHex((char)encoded[i + 1], (char)encoded[i + 2], out var b))
            {
                destination[n++] = b;
                i += 2;
            }
            else
            {
                destination[n++] = c;
            }
        }

        return n;
    }

    private static bool TryHex(char hi, char lo, out byte value)
    {
        var h = HexValue(hi);
        var l = HexValue(lo);
        value = (byte)((h << 4) | l);
        return (h | l) >= 0;
    }

    private static int HexValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };
}
