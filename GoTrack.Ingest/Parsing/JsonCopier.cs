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
        var written = reader.CopyString(buffer);
        return Utf8Text.Clean(buffer.AsSpan(0, written));
    }

    /// <summary>Unescapes into <paramref name="scratch"/> when needed instead of allocating.</summary>
    public static ReadOnlySpan<byte> Unescaped(scoped ref Utf8JsonReader reader, scoped ref Scratch scratch)
    {
        if (!reader.ValueIsEscaped)
        {
            return Utf8Text.Clean(reader.ValueSpan);
        }

        var written = reader.CopyString(scratch.Free);
        return Utf8Text.Clean(scratch.Commit(written));
    }
}
