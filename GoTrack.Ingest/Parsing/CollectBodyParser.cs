using System.Text.Json;
using System.Text.Unicode;
using GoTrack.Core.Events;

namespace GoTrack.Ingest.Parsing;

/// <summary>
/// Reads a /collect body: one event object, or an array of them. The whole body is checked first (valid
/// UTF-8, well-formed JSON, at most MAX_BATCH_EVENTS elements), so a malformed request stores nothing.
/// Then each element is read on its own, and a bad element rejects only that event.
/// </summary>
internal static class CollectBodyParser
{
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = FieldLimits.JsonDepth };

    public enum SplitResult
    {
        Ok,
        Malformed,
        TooManyEvents,
    }

    /// <summary>Finds the events of the body. On failure, <paramref name="error"/> says why.</summary>
    public static SplitResult Split(ReadOnlySpan<byte> body, int maxEvents, List<Range> events, out string? error)
    {
        error = null;
        if (!Utf8.IsValid(body))
        {
            error = "body is not valid UTF-8";
            return SplitResult.Malformed;
        }

        if (body.Trim(" \t\r\n"u8).IsEmpty)
        {
            error = "body is empty";
            return SplitResult.Malformed;
        }

        var reader = new Utf8JsonReader(body, isFinalBlock: true, new JsonReaderState(ReaderOptions));
        try
        {
            reader.Read();

            if (reader.TokenType == JsonTokenType.StartObject)
            {
                var start = (int)reader.TokenStartIndex;
                reader.Skip();
                events.Add(new Range(start, (int)reader.BytesConsumed));
            }
            else if (reader.TokenType == JsonTokenType.StartArray)
            {
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (events.Count == maxEvents)
                    {
                        error = $"more than {maxEvents} events in one request (MAX_BATCH_EVENTS)";
                        return SplitResult.TooManyEvents;
                    }

                    var start = (int)reader.TokenStartIndex;
                    reader.Skip();
                    events.Add(new Range(start, (int)reader.BytesConsumed));
                }
            }
            else
            {
                error = "body must be a JSON object or an array of objects";
                return SplitResult.Malformed;
            }

            // Data after the top-level value makes this throw, like any other malformed input.
            reader.Read();
        }
        catch (JsonException ex)
        {
            error = "malformed JSON: " + ex.Message;
            return SplitResult.Malformed;
        }

        return SplitResult.Ok;
    }

    /// <summary>Scratch bytes one element can need.</summary>
    public static int ScratchSize(int elementLength) => (2 * elementLength) + 64;

    /// <summary>Reads one event object; returns the reason to reject it, or null.</summary>
    public static string? ParseEvent(ReadOnlySpan<byte> element, ref Scratch scratch, ref EventFields f, ref EventProps props, out bool hasEventId)
    {
        hasEventId = false;
        if (element.IsEmpty || element[0] != (byte)'{')
        {
            return "event must be a JSON object";
        }

        var reader = new Utf8JsonReader(element, isFinalBlock: true, new JsonReaderState(ReaderOptions));
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var nameRange = KeepName(ref reader, ref scratch);
            var name = scratch.Written[nameRange];
            reader.Read();
            string? error;
            var field = name.Length > 12 ? ClientField.None : ClientFields.Lookup(name);
            switch (field == ClientField.None ? OwnKey(name) : Key.Field)
            {
                case Key.Field when field == ClientField.EventId:
                    ReadOnlySpan<byte> id = default;
                    error = ReadString(ref reader, ref scratch, "event_id", ref id);
                    if (error is null && !id.IsEmpty && !hasEventId)
                    {
                        if (!FieldRules.TryParseEventId(id, out f.EventId))
                        {
                            return "event_id must be a UUID";
                        }

                        hasEventId = true;
                    }

                    break;
                case Key.Field:
                    error = ReadString(ref reader, ref scratch, ClientFields.Name(field), ref ClientFields.Slot(ref f, field));
                    f.RefSent |= field == ClientField.Ref;
                    break;
                case Key.Click: error = ReadClick(ref reader, ref scratch, ref f); break;
                case Key.Utm: error = ReadUtm(ref reader, ref scratch, ref f); break;
                case Key.Props: error = ReadProps(ref reader, ref scratch, ref props); break;
                case Key.ServerOwned:
                    // ts, ua, ip, geo, device, bot, source and client_ts are the server's to set; a client's values
                    // are ignored. write_key is the request's credential, never stored.
                    reader.Skip();
                    error = null;
                    break;
                default:
                    error = AddProp(ref reader, nameRange, scratch.Written, ref props);
                    break;
            }

            if (error is not null)
            {
                return error;
            }
        }

        return null;
    }

    private static Range KeepName(ref Utf8JsonReader reader, ref Scratch scratch)
    {
        var name = JsonCopier.Unescaped(ref reader, ref scratch);
        name.CopyTo(scratch.Free);
        return scratch.CommitRange(name.Length);
    }

    private static string? ReadString(ref Utf8JsonReader reader, ref Scratch scratch, string field, ref ReadOnlySpan<byte> target)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                return null;
            case JsonTokenType.String:
                var value = JsonCopier.Unescaped(ref reader, ref scratch);
                if (target.IsEmpty)
                {
                    target = value;
                }

                return null;
            default:
                return $"{field} must be a string";
        }
    }

    private delegate string? MemberReader(ReadOnlySpan<byte> key, ref Utf8JsonReader reader, ref Scratch scratch, ref EventFields f);

    private static string? ReadUtm(ref Utf8JsonReader reader, ref Scratch scratch, ref EventFields f) =>
        ReadObject(ref reader, ref scratch, ref f, "utm must be an object", static (key, ref r, ref s, ref e) => key switch
        {
            _ when key.SequenceEqual("source"u8) => ReadString(ref r, ref s, "utm.source", ref e.UtmSource),
            _ when key.SequenceEqual("medium"u8) => ReadString(ref r, ref s, "utm.medium", ref e.UtmMedium),
            _ when key.SequenceEqual("campaign"u8) => ReadString(ref r, ref s, "utm.campaign", ref e.UtmCampaign),
            _ when key.SequenceEqual("term"u8) => ReadString(ref r, ref s, "utm.term", ref e.UtmTerm),
            _ when key.SequenceEqual("content"u8) => ReadString(ref r, ref s, "utm.content", ref e.UtmContent),
            _ => Skip(ref r),
        });

    private static string? ReadClick(ref Utf8JsonReader reader, ref Scratch scratch, ref EventFields f) =>
        ReadObject(ref reader, ref scratch, ref f, "click must be an object", static (key, ref r, ref s, ref e) => key switch
        {
            _ when key.SequenceEqual("gclid"u8) => ReadString(ref r, ref s, "click.gclid", ref e.Gclid),
            _ when key.SequenceEqual("fbclid"u8) => ReadString(ref r, ref s, "click.fbclid", ref e.Fbclid),
            _ when key.SequenceEqual("msclkid"u8) => ReadString(ref r, ref s, "click.msclkid", ref e.Msclkid),
            _ => Skip(ref r),
        });

    /// <summary>A nested object of string members (utm, click): null is nothing, anything else but an object is an error.</summary>
    private static string? ReadObject(ref Utf8JsonReader reader, ref Scratch scratch, ref EventFields f, string notAnObject, MemberReader member)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            return notAnObject;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var key = JsonCopier.Unescaped(ref reader, ref scratch);
            reader.Read();
            if (member(key, ref reader, ref scratch, ref f) is { } error)
            {
                return error;
            }
        }

        return null;
    }

    private static string? Skip(ref Utf8JsonReader reader)
    {
        reader.Skip();
        return null;
    }

    private static string? ReadProps(ref Utf8JsonReader reader, ref Scratch scratch, ref EventProps props)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            return "props must be an object";
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var nameRange = KeepName(ref reader, ref scratch);
            reader.Read();
            var error = AddProp(ref reader, nameRange, scratch.Written, ref props);
            if (error is not null)
            {
                return error;
            }
        }

        return null;
    }

    private static string? AddProp(ref Utf8JsonReader reader, Range nameRange, ReadOnlySpan<byte> scratch, ref EventProps props)
    {
        var start = (int)reader.TokenStartIndex;
        reader.Skip();
        var value = new Range(start, (int)reader.BytesConsumed);
        if (scratch[nameRange].Length > FieldLimits.PropName)
        {
            return $"prop name is longer than {FieldLimits.PropName} bytes";
        }

        if (value.End.Value - start > FieldLimits.PropValue)
        {
            return $"prop value is longer than {FieldLimits.PropValue} bytes";
        }

        return props.TryAdd(scratch, nameRange, value) ? null : $"more than {FieldLimits.Props} props";
    }

    // The three lists below are what the OpenAPI document describes. They must name exactly what ReadUtm,
    // ReadClick and OwnKey compare against (as UTF-8 literals, for speed): when one of those changes, change
    // its list. ApiDriftTests posts every listed key and checks where it lands.

    /// <summary>The members of <c>utm</c> that <see cref="ReadUtm"/> reads.</summary>
    internal static readonly string[] UtmMembers = ["source", "medium", "campaign", "term", "content"];

    /// <summary>The members of <c>click</c> that <see cref="ReadClick"/> reads.</summary>
    internal static readonly string[] ClickMembers = ["gclid", "fbclid", "msclkid"];

    /// <summary>The keys <see cref="OwnKey"/> treats as the server's and ignores (write_key is the request's credential).</summary>
    internal static readonly string[] ServerOwnedKeys = ["ts", "ua", "ip", "geo", "device", "bot", "source", "client_ts", "write_key"];

    /// <summary>What a key that is not a <see cref="ClientField"/> means in /collect.</summary>
    private enum Key
    {
        Prop,
        Field,
        Utm,
        Click,
        Props,
        ServerOwned,
    }

    private static Key OwnKey(ReadOnlySpan<byte> name) => name switch
    {
        _ when name.SequenceEqual("utm"u8) => Key.Utm,
        _ when name.SequenceEqual("click"u8) => Key.Click,
        _ when name.SequenceEqual("props"u8) => Key.Props,
        _ when name.SequenceEqual("ts"u8) || name.SequenceEqual("ua"u8) || name.SequenceEqual("ip"u8) || name.SequenceEqual("geo"u8)
            || name.SequenceEqual("device"u8) || name.SequenceEqual("bot"u8) || name.SequenceEqual("source"u8)
            || name.SequenceEqual("client_ts"u8) || name.SequenceEqual("write_key"u8) => Key.ServerOwned,
        _ => Key.Prop,
    };
}
