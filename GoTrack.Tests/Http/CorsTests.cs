using System.Net;
using System.Text;
using System.Text.Json;
using GoTrack.Tests.Support;

namespace GoTrack.Tests.Http;

/// <summary>CORS_ALLOWED_ORIGINS on /collect: preflights, echoing only allowed origins, refusals counted.</summary>
public sealed class CorsTests
{
    private static async Task<HttpResponseMessage> SendAsync(IngestFactory factory, HttpMethod method, string? origin, string body = "{\"e\":\"x\"}")
    {
        using var client = factory.CreateClient(new() { HandleCookies = false });
        using var request = new HttpRequestMessage(method, "/collect");
        if (origin is not null)
        {
            request.Headers.Add("Origin", origin);
        }

        if (method == HttpMethod.Options)
        {
            request.Headers.Add("Access-Control-Request-Method", "POST");
            request.Headers.Add("Access-Control-Request-Headers", "content-type");
        }
        else if (method == HttpMethod.Post)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        return await client.SendAsync(request);
    }

    private static string? Header(HttpResponseMessage r, string name) =>
        r.Headers.TryGetValues(name, out var v) ? string.Join(", ", v) : r.Content.Headers.TryGetValues(name, out var c) ? string.Join(", ", c) : null;

    [Theory]
    [InlineData("https://shop.example.com")]
    [InlineData("https://SHOP.example.com")]
    [InlineData("https://a.example.org")]
    [InlineData("https://a.b.example.org")]
    [InlineData("http://localhost:3000")]
    public async Task A_preflight_from_an_allowed_origin_is_answered_and_echoes_only_that_origin(string origin)
    {
        using var factory = new IngestFactory(new() { ["CORS_ALLOWED_ORIGINS"] = "https://shop.example.com, https://*.example.org, http://localhost:3000" });
        using var r = await SendAsync(factory, HttpMethod.Options, origin);
        Assert.Equal(HttpStatusCode.NoContent, r.StatusCode);
        Assert.Equal(origin, Header(r, "Access-Control-Allow-Origin"));
        Assert.Equal("true", Header(r, "Access-Control-Allow-Credentials"));
        Assert.Equal("Origin", Header(r, "Vary"));
        Assert.Contains("POST", Header(r, "Access-Control-Allow-Methods"), StringComparison.Ordinal);
        Assert.Equal("Content-Type", Header(r, "Access-Control-Allow-Headers"));
        Assert.Equal("7200", Header(r, "Access-Control-Max-Age"));

        using var post = await SendAsync(factory, HttpMethod.Post, origin);
        Assert.Equal(HttpStatusCode.Accepted, post.StatusCode);
        Assert.Equal(origin, Header(post, "Access-Control-Allow-Origin"));
        Assert.Equal("true", Header(post, "Access-Control-Allow-Credentials"));
    }

    [Theory]
    [InlineData("https://evil.example")]
    [InlineData("https://example.org")]
    [InlineData("https://shop.example.com.evil.example")]
    [InlineData("http://shop.example.com")]
    [InlineData("https://shop.example.com:8443")]
    [InlineData("https://evilexample.org")]
    [InlineData("null")]
    public async Task A_disallowed_origin_is_refused_with_403_in_json_counted_and_nothing_is_recorded(string origin)
    {
        using var factory = new IngestFactory(new() { ["CORS_ALLOWED_ORIGINS"] = "https://shop.example.com,https://*.example.org" });
        using var preflight = await SendAsync(factory, HttpMethod.Options, origin);
        Assert.Equal(HttpStatusCode.Forbidden, preflight.StatusCode);
        Assert.Null(Header(preflight, "Access-Control-Allow-Origin"));

        var id = Guid.NewGuid().ToString();
        using var post = await SendAsync(factory, HttpMethod.Post, origin, $"{{\"event_id\":\"{id}\"}}");
        Assert.Equal(HttpStatusCode.Forbidden, post.StatusCode);
        Assert.Null(Header(post, "Access-Control-Allow-Origin"));
        var error = JsonDocument.Parse(await post.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString();
        Assert.Contains("origin not allowed", error, StringComparison.Ordinal);
        await factory.WaitDeliveredAsync();
        Assert.DoesNotContain(factory.Lines(), l => l.Contains(id, StringComparison.Ordinal));

        Assert.Equal(2, await PrivacyHttpTests.OutcomeAsync(factory, "rejected_origin"));
        Assert.Contains("code=\"403\"", await PrivacyHttpTests.MetricsAsync(factory), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_request_without_origin_is_not_a_cross_origin_browser_request_and_passes()
    {
        using var factory = new IngestFactory(new() { ["CORS_ALLOWED_ORIGINS"] = "https://shop.example.com" });
        using var r = await SendAsync(factory, HttpMethod.Post, null);
        Assert.Equal(HttpStatusCode.Accepted, r.StatusCode);
        Assert.Null(Header(r, "Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task A_star_allows_every_origin_but_never_with_credentials()
    {
        using var factory = new IngestFactory(new() { ["CORS_ALLOWED_ORIGINS"] = "*" });
        using var preflight = await SendAsync(factory, HttpMethod.Options, "https://anyone.example");
        Assert.Equal(HttpStatusCode.NoContent, preflight.StatusCode);
        Assert.Equal("*", Header(preflight, "Access-Control-Allow-Origin"));
        Assert.Null(Header(preflight, "Access-Control-Allow-Credentials"));
        using var post = await SendAsync(factory, HttpMethod.Post, "https://anyone.example");
        Assert.Equal(HttpStatusCode.Accepted, post.StatusCode);
        Assert.Equal("*", Header(post, "Access-Control-Allow-Origin"));
        Assert.Null(Header(post, "Access-Control-Allow-Credentials"));
    }

    [Fact]
    public async Task Without_an_allowlist_there_is_no_origin_check_and_no_cors_header()
    {
        using var factory = new IngestFactory();
        using var post = await SendAsync(factory, HttpMethod.Post, "https://anyone.example");
        Assert.Equal(HttpStatusCode.Accepted, post.StatusCode);
        Assert.Null(Header(post, "Access-Control-Allow-Origin"));
        using var preflight = await SendAsync(factory, HttpMethod.Options, "https://anyone.example");
        Assert.Equal(HttpStatusCode.NoContent, preflight.StatusCode);
        Assert.Null(Header(preflight, "Access-Control-Allow-Origin"));
        Assert.Equal("POST, OPTIONS", Header(preflight, "Allow"));
    }

    [Fact]
    public async Task Other_methods_still_answer_405_naming_post_and_options()
    {
        using var factory = new IngestFactory(new() { ["CORS_ALLOWED_ORIGINS"] = "https://shop.example.com" });
        using var r = await SendAsync(factory, HttpMethod.Put, "https://shop.example.com");
        Assert.Equal(HttpStatusCode.MethodNotAllowed, r.StatusCode);
        Assert.Equal("POST, OPTIONS", Header(r, "Allow"));
        Assert.Equal("https://shop.example.com", Header(r, "Access-Control-Allow-Origin"));
    }
}
