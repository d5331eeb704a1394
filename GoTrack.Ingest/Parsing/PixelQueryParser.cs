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

            var field = ClientFields.Lookup(name);
            switch (field)
            {
                case ClientField.EventId:
                    if (!hasEventId && !value.IsEmpty)
                    {
                        if (!FieldRules.TryParseEventId(value, out fields.EventId))
                        {
                            return "event_id must be a UUID";
                        }

                        hasEventId = true;
                    }

                    break;
                case not ClientField.None:
                    SetOnce(ref ClientFields.Slot(ref fields, field), value);
                    fields.RefSent |= field == ClientField.Ref;
                    break;
                default:
                    if (name.SequenceEqual("write_key"u8))
                    {
                        // The request's credential (WRITE_KEYS), read by the endpoint; never stored.
                        break;
                    }

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
}
