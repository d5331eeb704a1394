using GoTrack.Core.Events;

namespace GoTrack.Ingest.Parsing;

/// <summary>
/// Reads the pixel's query string into event fields, without building a dictionary or a string per
/// parameter: each name and value is percent-decoded into the scratch buffer once. Known parameters
/// (<c>e uid sid url ref utm_* gclid fbclid msclkid event_id</c>) fill fields; every other parameter becomes a string prop.
/// The first occurrence of a parameter wins.
/// </summary>
internal static class PixelQueryParser
{
    /// <summary>Scratch bytes a query of this length can need: decoded, plus repaired copies of invalid UTF-8.</summary>
    public static int ScratchSize(int queryLength) => (2 * Scratch.Worst(queryLength)) + 64;

    /// <summary>Fills <paramref name="fields"/> and <paramref name="props"/>; returns the reason to reject the event, or null.</summary>
    public static string? Parse(ReadOnlySpan<char> query, ref Scratch scratch, ref EventFields fields, ref EventProps props, out bool hasEventId)
    {
        hasEventId = false;
        if (!query.IsEmpty && query[0] == '?')
        {
            query = query[1..];
        }

        while (!query.IsEmpty)
        {
            var amp = query.IndexOf('&');
            var pair = amp < 0 ? query : query[..amp];
            query = amp < 0 ? [] : query[(amp + 1)..];
            if (pair.IsEmpty)
            {
                continue;
            }

            var eq = pair.IndexOf('=');
            var rawName = eq < 0 ? pair : pair[..eq];
            var rawValue = eq < 0 ? [] : pair[(eq + 1)..];

            var nameRange = scratch.CommitRange(PercentDecoder.Decode(rawName, scratch.Free));
            var name = Utf8Text.Clean(scratch.Written[nameRange]);
            if (name.IsEmpty)
            {
                continue;
            }

            var valueRange = scratch.CommitRange(PercentDecoder.Decode(rawValue, scratch.Free));
            var value = Utf8Text.Clean(scratch.Written[valueRange]);

            switch (Known(name))
            {
                case Field.E: SetOnce(ref fields.Type, value); break;
                case Field.Uid: SetOnce(ref fields.Uid, value); break;
                case Field.Sid: SetOnce(ref fields.Sid, value); break;
                case Field.Url: SetOnce(ref fields.Url, value); break;
                case Field.Ref: SetOnce(ref fields.Ref, value); break;
                case Field.UtmSource: SetOnce(ref fields.UtmSource, value); break;
                case Field.UtmMedium: SetOnce(ref fields.UtmMedium, value); break;
                case Field.UtmCampaign: SetOnce(ref fields.UtmCampaign, value); break;
                case Field.UtmTerm: SetOnce(ref fields.UtmTerm, value); break;
                case Field.UtmContent: SetOnce(ref fields.UtmContent, value); break;
                case Field.Gclid: SetOnce(ref fields.Gclid, value); break;
                case Field.Fbclid: SetOnce(ref fields.Fbclid, value); break;
                case Field.Msclkid: SetOnce(ref fields.Msclkid, value); break;
                case Field.EventId:
                    if (!hasEventId && !value.IsEmpty)
                    {
                        if (!FieldRules.TryParseEventId(value, out fields.EventId))
                        {
                            return "event_id must be a UUID";
                        }

                        hasEventId = true;
                    }

                    break;
                default:
                    // Repaired text (invalid UTF-8) lives outside the scratch buffer: copy it in.
                    if (!Overlaps(name, scratch.Written[nameRange]))
                    {
                        nameRange = CopyIn(ref scratch, name);
                    }

                    if (name.Length > FieldLimits.PropName)
                    {
                        return $"prop name is longer than {FieldLimits.PropName} bytes";
                    }

                    if (value.Length > FieldLimits.PropValue)
                    {
                        return $"prop value is longer than {FieldLimits.PropValue} bytes";
                    }

                    if (!Overlaps(value, scratch.Written[valueRange]))
                    {
                        valueRange = CopyIn(ref scratch, value);
                    }

                    if (!props.TryAdd(scratch.Written, nameRange, valueRange))
                    {
                        return $"more than {FieldLimits.Props} props";
                    }

                    break;
            }
        }

        return null;
    }

    private static bool Overlaps(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) => a.Overlaps(b) || a.IsEmpty;

    private static Range CopyIn(ref Scratch scratch, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(scratch.Free);
        return scratch.CommitRange(bytes.Length);
    }

    private static void SetOnce(ref ReadOnlySpan<byte> field, ReadOnlySpan<byte> value)
    {
        if (field.IsEmpty)
        {
            field = value;
        }
    }

    private enum Field
    {
        Prop,
        E,
        Uid,
        Sid,
        Url,
        Ref,
        UtmSource,
        UtmMedium,
        UtmCampaign,
        UtmTerm,
        UtmContent,
        Gclid,
        Fbclid,
        Msclkid,
        EventId,
    }

    private static Field Known(ReadOnlySpan<byte> name) => name.Length switch
    {
        1 when name[0] == (byte)'e' => Field.E,
        3 when name.SequenceEqual("uid"u8) => Field.Uid,
        3 when name.SequenceEqual("sid"u8) => Field.Sid,
        3 when name.SequenceEqual("url"u8) => Field.Url,
        3 when name.SequenceEqual("ref"u8) => Field.Ref,
        5 when name.SequenceEqual("gclid"u8) => Field.Gclid,
        6 when name.SequenceEqual("fbclid"u8) => Field.Fbclid,
        7 when name.SequenceEqual("msclkid"u8) => Field.Msclkid,
        8 when name.SequenceEqual("event_id"u8) => Field.EventId,
        8 when name.SequenceEqual("utm_term"u8) => Field.UtmTerm,
        10 when name.SequenceEqual("utm_source"u8) => Field.UtmSource,
        10 when name.SequenceEqual("utm_medium"u8) => Field.UtmMedium,
        11 when name.SequenceEqual("utm_content"u8) => Field.UtmContent,
        12 when name.SequenceEqual("utm_campaign"u8) => Field.UtmCampaign,
        _ => Field.Prop,
    };
}
