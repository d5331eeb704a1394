using System.Text.Json;
using GoTrack.Tests.Support;

namespace GoTrack.Tests.Http;

/// <summary>
/// The Referer header through real HTTP (README, "The referrer"): it stands in for <c>ref</c> only when the
/// client sent none and it is not the page itself, on /collect as on the pixel; repeated, the first counts.
/// <see cref="Unit.ReferrerRuleTests"/> covers the rule's cases; these prove the endpoints hand it the header.
/// </summary>
public sealed class RefererHeaderHttpTests : IDisposable
{
    private const string Page = "https://shop.example/checkout";
    private readonly IngestFactory _factory = new();

    public void Dispose() => _factory.Dispose();

    private static string? Ref(string? line)
    {
        Assert.NotNull(line);
        return JsonDocument.Parse(line).RootElement.TryGetProperty("ref", out var r) ? r.GetString() : null;
    }

    // body, Referer header, expected ref
    public static TheoryData<string, string, string?> CollectCases => new()
    {
        { $$"""{"e":"pageview","url":"{{Page}}"}""", "https://news.example/story", "https://news.example/story" },
        { $$"""{"e":"pageview","url":"{{Page}}","ref":""}""", "https://news.example/story", null },
        { $$"""{"e":"pageview","url":"{{Page}}","ref":null}""", "https://news.example/story", null },
        { $$"""{"e":"pageview","url":"{{Page}}","ref":"https://google.com/"}""", "https://news.example/story", "https://google.com/" },
        { $$"""{"e":"pageview","url":"{{Page}}"}""", Page, null },
        { $$"""{"e":"pageview","url":"{{Page}}"}""", "https://shop.example/", null },
        { $$"""{"e":"pageview","url":"{{Page}}"}""", "https://shop.example/cart", "https://shop.example/cart" },
    };

    [Theory]
    [MemberData(nameof(CollectCases))]
    public async Task Collect_takes_the_referer_header_only_without_a_ref_and_when_it_is_not_the_page(string body, string referer, string? expected)
    {
        var (response, _, line) = await PrivacyHttpTests.CollectAsync(_factory, body, headers: ("Referer", referer));
        Assert.True(response.IsSuccessStatusCode, response.StatusCode.ToString());
        Assert.Equal(expected, Ref(line));
    }

    /// <summary>
    /// Two Referer headers (a proxy that adds one): the first, as the browser sent it, not both joined with a
    /// comma. Before, the pixel stored "https://news.example/a,https://other.example/b".
    /// </summary>
    [Fact]
    public async Task Repeated_referer_headers_count_with_the_first_on_the_pixel_and_on_collect()
    {
        (string, string)[] headers = [("Referer", "https://news.example/a"), ("Referer", "https://other.example/b")];
        var (_, pixel) = await PrivacyHttpTests.PixelAsync(_factory, "e=pageview&url=" + Uri.EscapeDataString(Page), headers: headers);
        Assert.Equal("https://news.example/a", Ref(pixel));

        var (_, _, collect) = await PrivacyHttpTests.CollectAsync(_factory, $$"""{"e":"pageview","url":"{{Page}}"}""", headers: headers);
        Assert.Equal("https://news.example/a", Ref(collect));
    }
}
