using System.Net;
using System.Text.Json;
using GoTrack.Tests.Support;

namespace GoTrack.Tests.Http;

public sealed class PixelEndpointTests : IClassFixture<PixelEndpointTests.Server>
{
    public sealed class Server : IDisposable
    {
        public IngestFactory Factory { get; } = new();

        public void Dispose() => Factory.Dispose();
    }

    private readonly IngestFactory _factory;

    public PixelEndpointTests(Server server) => _factory = server.Factory;

    private static readonly byte[] Gif = Convert.FromBase64String("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==");

    private async Task<JsonElement> LastEventAsync(string eventId)
    {
        await _factory.WaitDeliveredAsync();
        var line = _factory.Lines().Single(l => l.Contains(eventId, StringComparison.Ordinal));
        return JsonDocument.Parse(line).RootElement;
    }

    [Fact]
    public async Task Get_answers_the_43_byte_gif_never_cached_and_records_the_event()
    {
        using var client = _factory.CreateClient();
        var id = Guid.NewGuid().ToString();
        using var response = await client.GetAsync($"/px.gif?e=view&event_id={id}&color=red");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("image/gif", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal(Gif, await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(43, Gif.Length);
        Assert.Equal("no-store, no-cache, must-revalidate, private", response.Headers.NonValidated["Cache-Control"].ToString());
        Assert.Equal("no-cache", response.Headers.Pragma.ToString());
        Assert.Equal("0", response.Content.Headers.GetValues("Expires").Single());

        var e = await LastEventAsync(id);
        Assert.Equal("view", e.GetProperty("e").GetString());
        Assert.Equal("red", e.GetProperty("props").GetProperty("color").GetString());
    }

    [Fact]
    public async Task Head_records_the_event_too_and_sends_no_body()
    {
        using var client = _factory.CreateClient();
        var id = Guid.NewGuid().ToString();
        using var request = new HttpRequestMessage(HttpMethod.Head, $"/px.gif?event_id={id}");
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(43, response.Content.Headers.ContentLength);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
        Assert.Equal("pageview", (await LastEventAsync(id)).GetProperty("e").GetString());
    }

    [Fact]
    public async Task A_new_visitor_gets_a_session_cookie_whose_value_is_the_sid()
    {
        using var client = _factory.CreateClient(new() { HandleCookies = false });
        var id = Guid.NewGuid().ToString();
        using var response = await client.GetAsync($"/px.gif?event_id={id}");
        var setCookie = response.Headers.GetValues("Set-Cookie").Single();
        Assert.Matches("^gt_sid=[A-Za-z0-9_-]{22}; Path=/; HttpOnly; SameSite=Lax$", setCookie);
        var value = setCookie[7..29];
        Assert.Equal(value, (await LastEventAsync(id)).GetProperty("sid").GetString());
    }

    [Fact]
    public async Task A_returning_visitor_keeps_its_session_and_gets_no_new_cookie()
    {
        using var client = _factory.CreateClient(new() { HandleCookies = false });
        var id = Guid.NewGuid().ToString();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/px.gif?event_id={id}");
        request.Headers.Add("Cookie", "other=1; gt_sid=abcdefghijklmnopqrstuv");
        using var response = await client.SendAsync(request);
        Assert.False(response.Headers.Contains("Set-Cookie"));
        Assert.Equal("abcdefghijklmnopqrstuv", (await LastEventAsync(id)).GetProperty("sid").GetString());
    }

    [Theory]
    [InlineData("gt_sid=<script>alert(1)</script>")]
    [InlineData("gt_sid=tooshort")]
    [InlineData("gt_sid=abcdefghijklmnopqrstuvw")]
    public async Task A_cookie_value_we_could_not_have_issued_is_replaced_and_never_stored(string cookie)
    {
        using var client = _factory.CreateClient(new() { HandleCookies = false });
        var id = Guid.NewGuid().ToString();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/px.gif?event_id={id}");
        request.Headers.Add("Cookie", cookie);
        using var response = await client.SendAsync(request);
        var fresh = response.Headers.GetValues("Set-Cookie").Single()[7..29];
        var e = await LastEventAsync(id);
        Assert.Equal(fresh, e.GetProperty("sid").GetString());
        Assert.DoesNotContain(cookie[7..], _factory.Lines().Single(l => l.Contains(id, StringComparison.Ordinal)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_ref_param_the_referer_header_is_the_ref_unless_it_is_the_page()
    {
        using var client = _factory.CreateClient();
        var id = Guid.NewGuid().ToString();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/px.gif?event_id={id}&url=https%3A%2F%2Fshop.example%2Fcheckout");
        request.Headers.Referrer = new Uri("https://shop.example/cart");
        request.Headers.UserAgent.ParseAdd("TestAgent/1.0");
        using var _ = await client.SendAsync(request);
        var e = await LastEventAsync(id);
        Assert.Equal("https://shop.example/cart", e.GetProperty("ref").GetString());

        var own = Guid.NewGuid().ToString();
        using var second = new HttpRequestMessage(HttpMethod.Get, $"/px.gif?event_id={own}&url=https%3A%2F%2Fshop.example%2Fcart");
        second.Headers.Referrer = new Uri("https://shop.example/");
        using var __ = await client.SendAsync(second);
        Assert.False((await LastEventAsync(own)).TryGetProperty("ref", out var ownRef), ownRef.ToString());
        Assert.Equal("TestAgent/1.0", e.GetProperty("ua").GetString());
    }

    [Fact]
    public async Task An_invalid_event_answers_400_with_the_gif_and_the_reason()
    {
        using var client = _factory.CreateClient();
        using var response = await client.GetAsync("/px.gif?event_id=42");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("image/gif", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal(Gif, await response.Content.ReadAsByteArrayAsync());
        Assert.Equal("event_id must be a UUID", response.Headers.GetValues("X-GoTrack-Error").Single());
    }

    [Fact]
    public async Task Other_methods_answer_405_with_a_json_error()
    {
        using var client = _factory.CreateClient();
        using var response = await client.PostAsync("/px.gif", null);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal("GET, HEAD", response.Content.Headers.Allow.Count == 0 ? string.Join(", ", response.Headers.GetValues("Allow")) : string.Join(", ", response.Content.Headers.Allow));
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Contains("method not allowed", body.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dnt_is_respected_the_gif_comes_back_and_nothing_is_recorded()
    {
        using var client = _factory.CreateClient(new() { HandleCookies = false });
        var id = Guid.NewGuid().ToString();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/px.gif?event_id={id}");
        request.Headers.Add("DNT", "1");
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(response.Headers.Contains("Set-Cookie"));
        await _factory.WaitDeliveredAsync();
        Assert.DoesNotContain(_factory.Lines(), l => l.Contains(id, StringComparison.Ordinal));
    }
}
