using GoTrack.Core.Events;

namespace GoTrack.Ingest.Parsing;

/// <summary>
/// Campaign parameters from the page URL: when the event itself does not carry <c>utm_*</c>, <c>gclid</c>,
/// <c>fbclid</c> or <c>msclkid</c>, but its <c>url</c> has them in its query (a landing page tagged by an ad
/// platform), they are taken from there. A value the event carries itself always wins.
/// </summary>
internal static class UrlCampaign
{
    /// <summary>Scratch bytes this can need: the decoded query is never longer than the URL.</summary>
    public static int ScratchSize(int urlBytes) => urlBytes + 16;

    public static void Fill(ref Scratch scratch, ref EventFields f)
    {
        if (!IsMissingAny(f))
        {
            return;
        }

        var url = f.Url;
        var q = url.IndexOf((byte)'?');
        if (q < 0)
        {
            return;
        }

        var query = url[(q + 1)..];
        var hash = query.IndexOf((byte)'#');
        if (hash >= 0)
        {
            query = query[..hash];
        }

        while (!query.IsEmpty)
        {
            var amp = query.IndexOf((byte)'&');
            var pair = amp < 0 ? query : query[..amp];
            query = amp < 0 ? [] : query[(amp + 1)..];
            var eq = pair.IndexOf((byte)'=');
            if (eq <= 0)
            {
                continue;
            }

            var name = pair[..eq];
            if (!name.StartsWith("utm_"u8) && !name.EndsWith("clid"u8) && !name.SequenceEqual("msclkid"u8))
            {
                continue;
            }

            switch (name)
            {
                case var n when n.SequenceEqual("utm_source"u8): Set(ref scratch, ref f.UtmSource, pair[(eq + 1)..]); break;
                case var n when n.SequenceEqual("utm_medium"u8): Set(ref scratch, ref f.UtmMedium, pair[(eq + 1)..]); break;
                case var n when n.SequenceEqual("utm_campaign"u8): Set(ref scratch, ref f.UtmCampaign, pair[(eq + 1)..]); break;
                case var n when n.SequenceEqual("utm_term"u8): Set(ref scratch, ref f.UtmTerm, pair[(eq + 1)..]); break;
                case var n when n.SequenceEqual("utm_content"u8): Set(ref scratch, ref f.UtmContent, pair[(eq + 1)..]); break;
                case var n when n.SequenceEqual("gclid"u8): Set(ref scratch, ref f.Gclid, pair[(eq + 1)..]); break;
                case var n when n.SequenceEqual("fbclid"u8): Set(ref scratch, ref f.Fbclid, pair[(eq + 1)..]); break;
                case var n when n.SequenceEqual("msclkid"u8): Set(ref scratch, ref f.Msclkid, pair[(eq + 1)..]); break;
                default: break;
            }
        }
    }

    private static bool IsMissingAny(scoped in EventFields f) =>
        f.UtmSource.IsEmpty || f.UtmMedium.IsEmpty || f.UtmCampaign.IsEmpty || f.UtmTerm.IsEmpty || f.UtmContent.IsEmpty
        || f.Gclid.IsEmpty || f.Fbclid.IsEmpty || f.Msclkid.IsEmpty;

    /// <summary>Decodes the value into scratch when the field is still empty; over-long values are left out, never an error.</summary>
    private static void Set(ref Scratch scratch, ref ReadOnlySpan<byte> field, ReadOnlySpan<byte> encoded)
    {
        if (!field.IsEmpty || encoded.IsEmpty)
        {
            return;
        }

        var n = PercentDecoder.Decode(encoded, scratch.Free);
        var value = Utf8Text.Clean(scratch.Commit(n));
        if (value.Length <= FieldLimits.Utm)
        {
            field = value;
        }
    }
}
