using System.Net;
using System.Security.Cryptography;
using System.Text;
using GoTrack.Tests.EndToEnd;
using GoTrack.Tests.Support;

namespace GoTrack.Tests.Http;

/// <summary>
/// The tracker script as Ingest serves it: under 2 KB, at TRACKER_PATH for an hour with a strong ETag of its
/// bytes (304 on a match), at its hashed URL for a year, immutable; with this server's paths written in.
/// </summary>
public sealed class TrackerScriptTests : IClassFixture<TrackerScriptTests.Server>
{
    public sealed class Server : IDisposable
    {
        public IngestFactory Factory { get; } = new();

        public void Dispose() => Factory.Dispose();
    }

    private readonly IngestFactory _factory;

    public TrackerScriptTests(Server server) => _factory = server.Factory;

    private static string Header(HttpResponseMessage r, string name) =>
        r.Headers.TryGetValues(name, out var v) ? string.Join(", ", v)
        : r.Content.Headers.TryGetValues(name, out var c) ? string.Join(", ", c) : "";

    /// <summary>An answer, read whole: its status, body and headers (both kinds, "" when absent).</summary>
    private sealed class Answer(HttpStatusCode status, byte[] body, Dictionary<string, string> headers)
    {
        public HttpStatusCode StatusCode { get; } = status;

        public byte[] Body { get; } = body;

        public string this[string name] => headers.GetValueOrDefault(name, "");
    }

    private static string HashOf(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes))[..16];

    private static async Task<Answer> GetAsync(IngestFactory factory, string path, string? ifNoneMatch = null)
    {
        using var client = factory.CreateClient(new() { AllowAutoRedirect = false, HandleCookies = false });
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (ifNoneMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-None-Match", ifNoneMatch);
        }

        using var response = await client.SendAsync(request);
        var headers = response.Headers.Concat(response.Content.Headers)
            .ToDictionary(h => h.Key, h => string.Join(", ", h.Value), StringComparer.OrdinalIgnoreCase);
        return new Answer(response.StatusCode, await response.Content.ReadAsByteArrayAsync(), headers);
    }

    [Fact]
    public async Task The_script_is_under_2_KB_javascript_cached_an_hour_with_its_content_hash_as_ETag()
    {
        var r = await GetAsync(_factory, "/t.js");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.InRange(r.Body.Length, 500, 2047);
        Assert.Equal("text/javascript; charset=utf-8", r["Content-Type"]);
        Assert.Equal(r.Body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), r["Content-Length"]);
        Assert.Equal("public, max-age=3600", r["Cache-Control"]);
        Assert.Equal("\"" + HashOf(r.Body) + "\"", r["ETag"]);
        Assert.Equal("nosniff", r["X-Content-Type-Options"]);
        Assert.Equal("*", r["Access-Control-Allow-Origin"]);
        Assert.Equal("", r["Set-Cookie"]);

        // The server's values are written in: no placeholder is left, and the defaults are there.
        var text = Encoding.UTF8.GetString(r.Body);
        Assert.DoesNotContain("%%", text, StringComparison.Ordinal);
        Assert.Contains("\"/collect\"", text, StringComparison.Ordinal);
        Assert.Contains("\"/px.gif?\"", text, StringComparison.Ordinal);
        Assert.EndsWith("\"dg\");", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"{0}\"")]
    [InlineData("W/\"{0}\"")]
    [InlineData("\"0000000000000000\", \"{0}\"")]
    [InlineData("*")]
    public async Task If_None_Match_with_the_current_ETag_answers_304_without_a_body(string format)
    {
        var hash = HashOf((await GetAsync(_factory, "/t.js")).Body);
        var r = await GetAsync(_factory, "/t.js", string.Format(System.Globalization.CultureInfo.InvariantCulture, format, hash));
        Assert.Equal(HttpStatusCode.NotModified, r.StatusCode);
        Assert.Empty(r.Body);
        Assert.Equal("\"" + hash + "\"", r["ETag"]);
        Assert.Equal("public, max-age=3600", r["Cache-Control"]);
    }

    [Fact]
    public async Task Another_ETag_gets_the_script()
    {
        var r = await GetAsync(_factory, "/t.js", "\"0123456789abcdef\", W/\"fedcba9876543210\"");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.NotEmpty(r.Body);
    }

    [Fact]
    public async Task The_hashed_URL_serves_the_same_bytes_for_a_year_immutable()
    {
        var body = (await GetAsync(_factory, "/t.js")).Body;
        var hash = HashOf(body);
        var r = await GetAsync(_factory, $"/t.{hash}.js");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal(body, r.Body);
        Assert.Equal("public, max-age=31536000, immutable", r["Cache-Control"]);
        Assert.Equal("\"" + hash + "\"", r["ETag"]);
        Assert.Equal("text/javascript; charset=utf-8", r["Content-Type"]);

        var notModified = await GetAsync(_factory, $"/t.{hash}.js", "\"" + hash + "\"");
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        Assert.Empty(notModified.Body);
    }

    [Fact]
    public async Task Another_version_s_hashed_URL_redirects_to_the_current_one_uncached_and_a_non_hash_is_not_found()
    {
        var hash = HashOf((await GetAsync(_factory, "/t.js")).Body);
        var old = hash == "0123456789abcdef" ? "fedcba9876543210" : "0123456789abcdef";
        var r = await GetAsync(_factory, $"/t.{old}.js");
        Assert.Equal(HttpStatusCode.Found, r.StatusCode);
        Assert.Equal($"/t.{hash}.js", r["Location"]);
        Assert.Equal("no-store", r["Cache-Control"]);

        foreach (var path in new[] { "/t.0123.js", "/t.0123456789ABCDEF.js", "/t.0123456789abcdeg.js", "/t.min.js", "/tracker.js" })
        {
            var missing = await GetAsync(_factory, path);
            Assert.True(missing.StatusCode == HttpStatusCode.NotFound, path + ": " + missing.StatusCode);
        }
    }

    [Fact]
    public async Task Head_answers_the_headers_and_other_methods_405()
    {
        using var client = _factory.CreateClient();
        using var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/t.js"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
        var body = (await GetAsync(_factory, "/t.js")).Body;
        Assert.Equal(body.Length, head.Content.Headers.ContentLength);
        Assert.Equal("\"" + HashOf(body) + "\"", Header(head, "ETag"));

        using var post = await client.PostAsync("/t.js", new StringContent("x"));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);
        Assert.Equal("GET, HEAD", Header(post, "Allow"));
        Assert.Contains("\"error\"", await post.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TRACKER_PATH_moves_the_script_and_its_hashed_URL()
    {
        using var factory = new IngestFactory(new() { ["TRACKER_PATH"] = "/assets/gt" });
        var r = await GetAsync(factory, "/assets/gt");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var hashed = await GetAsync(factory, $"/assets/gt.{HashOf(r.Body)}");
        Assert.Equal(HttpStatusCode.OK, hashed.StatusCode);
        Assert.Equal(r.Body, hashed.Body);
        Assert.Equal(HttpStatusCode.NotFound, (await GetAsync(factory, "/t.js")).StatusCode);
    }

    [Fact]
    public async Task The_script_sends_to_the_first_aliases_and_skips_only_the_opt_outs_the_server_drops()
    {
        using var aliased = new IngestFactory(new() { ["COLLECT_PATHS"] = "/api/e,/api/f", ["PIXEL_PATHS"] = "/img/i.gif" });
        var text = Encoding.UTF8.GetString((await GetAsync(aliased, "/t.js")).Body);
        Assert.Contains("\"/api/e\"", text, StringComparison.Ordinal);
        Assert.Contains("\"/img/i.gif?\"", text, StringComparison.Ordinal);
        Assert.DoesNotContain("/collect", text, StringComparison.Ordinal);
        Assert.DoesNotContain("/px.gif", text, StringComparison.Ordinal);

        // The longest aliases the settings accept still leave it under 2 KB.
        var longest = "/" + new string('a', GoTrack.Ingest.Configuration.IntakePaths.MaxLength - 1);
        using var longAliases = new IngestFactory(new() { ["COLLECT_PATHS"] = longest, ["PIXEL_PATHS"] = longest[..^1] + "b" });
        var longScript = (await GetAsync(longAliases, "/t.js")).Body;
        Assert.Contains(longest, Encoding.UTF8.GetString(longScript), StringComparison.Ordinal);
        Assert.InRange(longScript.Length, 500, 2047);

        foreach (var (settings, flags) in new (Dictionary<string, string?>, string)[]
        {
            (new() { ["DNT_RESPECT"] = "false" }, "g"),
            (new() { ["GPC_RESPECT"] = "false" }, "d"),
            (new() { ["PRIVACY_MODE"] = "anonymize" }, ""),
        })
        {
            using var factory = new IngestFactory(settings);
            Assert.EndsWith($"\"{flags}\");", Encoding.UTF8.GetString((await GetAsync(factory, "/t.js")).Body), StringComparison.Ordinal);
        }
    }

    /// <summary>tracker.min.js is what is served; minify.sh builds it from tracker.js and records tracker.js's hash.</summary>
    [Fact]
    public void The_minified_script_was_built_from_the_current_tracker_js()
    {
        var dir = Path.Combine(PublishedIngest.RepoRoot(), "GoTrack.Ingest", "Tracker");
        var source = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(dir, "tracker.js"))));
        Assert.True(source == File.ReadAllText(Path.Combine(dir, "tracker.js.sha256")).Trim(),
            "tracker.js changed since tracker.min.js was built: run GoTrack.Ingest/Tracker/minify.sh");
    }
}
