using System.Text;
using System.Text.Unicode;

namespace GoTrack.Ingest.Parsing;

/// <summary>
/// Makes request text safe to store: valid UTF-8 without NUL (Postgres refuses \u0000 in jsonb). The
/// common case is a check and nothing else; invalid input is repaired with U+FFFD on a rare slow path.
/// </summary>
internal static class Utf8Text
{
    private static readonly UTF8Encoding Lenient = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    public static ReadOnlySpan<byte> Clean(ReadOnlySpan<byte> text)
    {
        if (text.IndexOf((byte)0) < 0 && Utf8.IsValid(text))
        {
            return text;
        }

        var repaired = Lenient.GetString(text).Replace('\0', '\uFFFD');
        return Lenient.GetBytes(repaired);
    }

    /// <summary>Cuts <paramref name="text"/> to at most <paramref name="max"/> bytes without splitting a character.</summary>
    public static ReadOnlySpan<byte> Truncate(ReadOnlySpan<byte> text, int max)
    {
        if (text.Length <= max)
        {
            return text;
        }

        var end = max;
        while (end > 0 && (text[end] & 0xC0) == 0x80)
        {
            end--;
        }

        return text[..end];
    }
}
