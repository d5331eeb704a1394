using System.Net;
using System.Text;
using System.Text.Json;
using GoTrack.Tests.Support;
using GoTrack.Ingest;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace GoTrack.Tests.Http;

/// <summary>PIXEL_PATHS and COLLECT_PATHS: the endpoints under more paths, the default paths kept, bad paths refused at start.</summary>
public sealed class PathAliasTests
{
    private static Dictionary<string, string?> Aliases(Dictionary<string, string?>? more = null)
    {
        var settings = new Dictionary<string, string?> { ["PIXEL_PATHS"] = "/img/logo.gif, /p", ["COLLECT_PATHS"] = "/api/e,/s/evt" };
        foreach (var (k, v) in more ?? [])
        {
            settings[k] = v;
        }

        return settings;
    }

    private static async Task<string[]> NamesAsync(IngestFactory factory)
    {
        await factory.WaitDeliveredAsync();
        return [.. factory.Lines().Select(l => JsonDocument.Parse(l).RootElement.GetProperty("e").GetString()!)];
    }

    [Fact]
    public async Task The_pixel_answers_at_its_own_path_and_at_every_alias()
    {
        using var factory = new IngestFactory(Aliases());
        using var client = factory.CreateClient();
        string[] paths = ["/px.gif", "/img/logo.gif", "/p", "/IMG/Logo.GIF"];
        for (var i = 0; i < paths.Length; i++)
        {
            using var r = await client.GetAsync($"{paths[i]}?e=get{i}");
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            Assert.Equal("image/gif", r.Content.Headers.ContentType!.MediaType);
            Assert.Equal(43, (await r.Content.ReadAsByteArrayAsync()).Length);
            Assert.Contains("no-store", r.Headers.CacheControl!.ToString(), StringComparison.Ordinal);
        }

        using var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/p?e=head"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        using var post = await client.PostAsync("/p", new StringContent("{}"));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);

        Assert.Equal(["get0", "get1", "get2", "get3", "head"], await NamesAsync(factory));
    }

    [Fact]
    public async Task Collect_answers_at_its_own_path_and_at_every_alias_with_its_CORS()
    {
        using var factory = new IngestFactory(Aliases(new() { ["CORS_ALLOWED_ORIGINS"] = "https://shop.example.com" }));
        using var client = factory.CreateClient();
        string[] paths = ["/collect", "/api/e", "/s/evt"];
        for (var i = 0; i < paths.Length; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, paths[i])
            {
                Content = new StringContent($"{{\"e\":\"post{i}\"}}", Encoding.UTF8, "text/plain"),
            };
            request.Headers.Add("Origin", "https://shop.example.com");
            using var r = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.Accepted, r.StatusCode);
            Assert.Equal("https://shop.example.com", r.Headers.GetValues("Access-Control-Allow-Origin").Single());
        }

        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/api/e");
        preflight.Headers.Add("Origin", "https://shop.example.com");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        using var answer = await client.SendAsync(preflight);
        Assert.Equal(HttpStatusCode.NoContent, answer.StatusCode);

        using var refused = new HttpRequestMessage(HttpMethod.Post, "/s/evt") { Content = new StringContent("{\"e\":\"x\"}", Encoding.UTF8, "text/plain") };
        refused.Headers.Add("Origin", "https://evil.example.net");
        using var forbidden = await client.SendAsync(refused);
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);

        Assert.Equal(["post0", "post1", "post2"], await NamesAsync(factory));
    }

    [Fact]
    public async Task Without_the_settings_those_paths_are_not_served()
    {
        using var factory = new IngestFactory();
        using var client = factory.CreateClient();
        using var pixel = await client.GetAsync("/img/logo.gif?e=x");
        Assert.Equal(HttpStatusCode.NotFound, pixel.StatusCode);
        using var collect = await client.PostAsync("/api/e", new StringContent("{\"e\":\"x\"}", Encoding.UTF8, "text/plain"));
        Assert.Equal(HttpStatusCode.NotFound, collect.StatusCode);
        Assert.Empty(await NamesAsync(factory));
    }

    /// <summary>What Program.cs does at start before it reports the failures and exits 2 (PublishedBinaryTests runs the binary).</summary>
    [Fact]
    public void A_bad_alias_fails_the_start_naming_the_variable()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["PIXEL_PATHS"] = "/healthz", ["COLLECT_PATHS"] = "/ok,/px.gif" });
        var thrown = Assert.Throws<OptionsValidationException>(() => builder.AddGoTrackIngest());
        var failures = thrown.Failures.ToArray();
        Assert.Equal(2, failures.Length);
        Assert.StartsWith("PIXEL_PATHS: '/healthz'", failures[0], StringComparison.Ordinal);
        Assert.StartsWith("COLLECT_PATHS: '/px.gif'", failures[1], StringComparison.Ordinal);
    }
}
