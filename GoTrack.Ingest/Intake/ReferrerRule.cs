using GoTrack.Core.Events;
using GoTrack.Ingest.Parsing;

namespace GoTrack.Ingest.Intake;

/// <summary>
/// Where an event's <c>ref</c> comes from, the same for the pixel and /collect:
/// 1. a <c>ref</c> the client sent is the referrer, and one sent empty (or null) means "no referrer":
///    the seed's loader sends <c>document.referrer</c>, which is empty on a direct visit;
/// 2. only when the client sent no <c>ref</c> does the request's <c>Referer</c> header stand in, and not when
///    it is the page itself: a pixel or a beacon is a subresource of the page, so its <c>Referer</c> is that
///    page's URL (or, under the browser's default referrer policy across origins, its origin), never the
///    page the visitor came from. A header equal to the event's <c>url</c> (without its fragment) or to its
///    origin is therefore not a referrer;
/// 3. an event without a <c>url</c> takes the header as its <c>url</c>: for the same reason it is the page,
///    and recording it as <c>ref</c> would make every such view a self-referral.
/// </summary>
internal static class ReferrerRule
{
    /// <summary>Scratch bytes <see cref="Apply"/> may need for a header of this length.</summary>
    public static int ScratchSize(string? referer) =>
        referer is null || referer.Length > FieldLimits.Url ? 0 : Scratch.Worst(referer.Length);

    public static void Apply(ref EventFields f, bool refSent, string? referer, ref Scratch scratch)
    {
        if (refSent || string.IsNullOrEmpty(referer) || referer.Length > FieldLimits.Url)
        {
            return;
        }

        var header = Utf8Text.Clean(scratch.Utf8(referer));
        if (f.Url.IsEmpty)
        {
            f.Url = header;
        }
        else if (!IsPage(header, f.Url))
        {
            f.Ref = header;
        }
    }

    /// <summary>True when <paramref name="header"/> is <paramref name="url"/> without its fragment, or its origin.</summary>
    internal static bool IsPage(ReadOnlySpan<byte> header, ReadOnlySpan<byte> url)
    {
        var hash = url.IndexOf((byte)'#');
        var page = hash >= 0 ? url[..hash] : url;
        if (header.SequenceEqual(page))
        {
            return true;
        }

        var scheme = page.IndexOf("://"u8);
        if (scheme <= 0)
        {
            return false;
        }

        var authorityEnd = page[(scheme + 3)..].IndexOfAny("/?#"u8);
        var origin = authorityEnd < 0 ? page : page[..(scheme + 3 + authorityEnd)];
        if (header.Length > 0 && header[^1] == (byte)'/')
        {
            header = header[..^1];
        }

        return header.Length == origin.Length && System.Text.Ascii.EqualsIgnoreCase(header, origin);
    }
}
