using System.Text;
using System.Text.Json;

namespace GoTrack.Ingest.Parsing;

/// <summary>
/// Copies a JSON value token by token, so every string in props is unescaped, cleaned (valid UTF-8, no
/// NUL) and escaped again by our writer. Copying the raw text would carry "\u0000" through to Postgres,
/// which refuses it in jsonb.
/// </summary>
internal static class JsonCopier
{
    /// <summary>Copies the value whose first token is under the reader; leaves the reader on its last token.</summary>
    public static void CopyValue(ref Utf8JsonReader reader, Utf8JsonWriter writer)
    {
        var depth = reader.CurrentDepth;
        while (true)
        {
            WriteToken(ref reader, writer);
            var opens = reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray or JsonTokenType.PropertyName;
            if ((reader.CurrentDepth == depth && !opens) || !reader.Read())
            {
                return;
            }
        }
    }

    private static void WriteToken(ref Utf8JsonReader reader, Utf8JsonWriter writer)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
                writer.WriteStartObject();
                break;
            case JsonTokenType.EndObject:
                writer.WriteEndObject();
                break;
            case JsonTokenType.StartArray:
                writer.WriteStartArray();
                break;
            case JsonTokenType.EndArray:
                writer.WriteEndArray();
                break;
            case JsonTokenType.PropertyName:
                writer.WritePropertyName(Unescaped(ref reader));
                break;
            case JsonTokenType.String:
                writer.WriteStringValue(Unescaped(ref reader));
                break;
            case JsonTokenType.Number:
                writer.WriteRawValue(reader.ValueSpan, skipInputValidation: true);
                break;
            case JsonTokenType.True:
                writer.WriteBooleanValue(true);
                break;
            case JsonTokenType.False:
                writer.WriteBooleanValue(false);
                break;
            case JsonTokenType.Null:
                writer.WriteNullValue();
                break;
            default:
                throw new JsonException($"Unexpected token {reader.TokenType}.");
        }
    }

    /// <summary>The string or property name under the reader, unescaped and cleaned.</summary>
    public static ReadOnlySpan<byte> Unescaped(ref Utf8JsonReader reader)
    {
        if (!reader.ValueIsEscaped)
        {
            return Utf8Text.Clean(reader.ValueSpan);
        }

        var buffer = new byte[reader.ValueSpan.Length];
        return Utf8Text.Clean(buffer.AsSpan(0, Unescape(reader.ValueSpan, buffer)));
    }

    /// <summary>Unescapes into <paramref name="scratch"/> when needed instead of allocating.</summary>
    public static ReadOnlySpan<byte> Unescaped(scoped ref Utf8JsonReader reader, scoped ref Scratch scratch)
    {
        if (!reader.ValueIsEscaped)
        {
            return Utf8Text.Clean(reader.ValueSpan);
        }

        var written = Unescape(reader.ValueSpan, scratch.Free);
        return Utf8Text.Clean(scratch.Commit(written));
    }

    /// <summary>
    /// JSON string unescaping that turns a lone surrogate (<c>"\ud800"</c>) into U+FFFD. The framework's
    /// CopyString throws on those, and a client's bad escape must cost it a character, not the request.
    /// The reader has already checked the escapes' syntax. The output is never longer than the input.
    /// </summary>
    internal static int Unescape(ReadOnlySpan<byte> escaped, Span<byte> destination)
    {
        var n = 0;
        for (var i = 0; i < escaped.Length; i++)
        {
            var b = escaped[i];
            if (b != (byte)'\\')
            {
                destination[n++] = b;
                continue;
            }

            var c = escaped[++i];
            switch (c)
            {
                case (byte)'b': destination[n++] = (byte)'\b'; break;
                case (byte)'f': destination[n++] = (byte)'\f'; break;
                case (byte)'n': destination[n++] = (byte)'\n'; break;
                case (byte)'r': destination[n++] = (byte)'\r'; break;
                case (byte)'t': destination[n++] = (byte)'\t'; break;
                case (byte)'u':
                    int code = Hex4(escaped.Slice(i + 1, 4));
                    i += 4;
                    if (char.IsHighSurrogate((char)code) && i + 6 < escaped.Length && escaped[i + 1] == (byte)'\\' && escaped[i + 2] == (byte)'u')
                    {
                        var low = Hex4(escaped.Slice(i + 3, 4));
                        if (char.IsLowSurrogate((char)low))
                        {
                            code = char.ConvertToUtf32((char)code, (char)low);
                            i += 6;
                        }
                    }

                    if (char.IsSurrogate((char)code) && code <= 0xFFFF)
                    {
                        code = 0xFFFD;
                    }

                    n += new Rune(code).EncodeToUtf8(destination[n..]);
                    break;
                default: destination[n++] = c; break; // \" \\ \/
            }
        }

        return n;
    }

    private static int Hex4(ReadOnlySpan<byte> hex) =>
        int.Parse(hex, System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture);
}
