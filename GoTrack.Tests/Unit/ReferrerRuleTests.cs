using System.Text.Json;
using GoTrack.Tests.Support;

namespace GoTrack.Tests.Unit;

/// <summary>
/// Where <c>ref</c> comes from (README, "The referrer"): a sent <c>ref</c> wins and an empty one means none;
/// the Referer header stands in only when none was sent and it is not the page itself.
/// </summary>
public sealed class ReferrerRuleTests
{
    private const string Page = "https://shop.example/a?x=1";

    // query, Referer header, expected url, expected ref
    public static TheoryData<string, string?, string?, string?> PixelCases => new()
    {
        // The seed's loader on a direct visit: ref= is sent empty. Before, the header (the page's origin) was taken.
        { "url=" + Uri.EscapeDataString(Page) + "&ref=", "https://shop.example/", Page, null },
        { "url=" + Uri.EscapeDataString(Page) + "&ref=", "https://google.com/", Page, null },
        // The loader after a click from google: the parameter wins over the header.
        { "url=" + Uri.EscapeDataString(Page) + "&ref=https%3A%2F%2Fgoogle.com%2F", "https://shop.example/", Page, "https://google.com/" },
        // No ref parameter: the header is the page (its full URL, its origin with or without the slash, any case) ...
        { "url=" + Uri.EscapeDataString(Page), Page, Page, null },
        { "url=" + Uri.EscapeDataString(Page + "#top"), Page, Page + "#top", null },
        { "url=" + Uri.EscapeDataString(Page), "https://shop.example/", Page, null },
        { "url=" + Uri.EscapeDataString(Page), "https://SHOP.example", Page, null },
        // ... or another page, which then is the referrer.
        { "url=" + Uri.EscapeDataString(Page), "https://shop.example/b", Page, "https://shop.example/b" },
        { "url=" + Uri.EscapeDataString(Page), "https://shop.example:8443/", Page, "https://shop.example:8443/" },
        { "url=" + Uri.EscapeDataString(Page), "https://news.example/story", Page, "https://news.example/story" },
        // No url: the header is the page that loaded the pixel (the seed's <img> tag, whose url= ends up empty).
        { "e=pageview&url=", "https://shop.example/", "https://shop.example/", null },
        { "e=pageview", Page, Page, null },
        // Nothing at all.
        { "e=pageview", null, null, null },
        { "url=" + Uri.EscapeDataString(Page), "", Page, null },
    };

    [Theory]
    [MemberData(nameof(PixelCases))]
    public void Pixel(string query, string? referer, string? url, string? @ref)
    {
        var (json, error) = Build.Pixel("?" + query, referer);
        Assert.Null(error);
        AssertUrlAndRef(json!, url, @ref);
    }

    public static TheoryData<string, string?, string?, string?> CollectCases => new()
    {
        { "{\"url\":\"" + Page + "\",\"ref\":\"\"}", "https://shop.example/", Page, null },
        { "{\"url\":\"" + Page + "\",\"ref\":null}", "https://news.example/", Page, null },
        { "{\"url\":\"" + Page + "\",\"ref\":\"https://google.com/\"}", Page, Page, "https://google.com/" },
        { "{\"url\":\"" + Page + "\"}", Page, Page, null },
        { "{\"url\":\"" + Page + "\"}", "https://shop.example/", Page, null },
        { "{\"url\":\"" + Page + "\"}", "https://news.example/", Page, "https://news.example/" },
        { "{\"e\":\"signup\"}", Page, Page, null },
    };

    [Theory]
    [MemberData(nameof(CollectCases))]
    public void Collect(string element, string? referer, string? url, string? @ref)
    {
        var (json, error) = Build.Json(element, referer: referer);
        Assert.Null(error);
        AssertUrlAndRef(json!, url, @ref);
    }

    [Fact]
    public void A_header_longer_than_a_url_may_be_is_ignored()
    {
        var (json, _) = Build.Pixel("?e=x", "https://shop.example/" + new string('a', 9000));
        AssertUrlAndRef(json!, null, null);
    }

    private static void AssertUrlAndRef(string json, string? url, string? @ref)
    {
        var e = JsonDocument.Parse(json).RootElement;
        Assert.Equal(url, e.TryGetProperty("url", out var u) ? u.GetString() : null);
        Assert.Equal(@ref, e.TryGetProperty("ref", out var r) ? r.GetString() : null);
    }
}
