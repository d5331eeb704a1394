using System.Net;
using GoTrack.Tests.Support;
using Microsoft.Playwright;

namespace GoTrack.Tests.Browser;

/// <summary>DEBUG_UI: the live event debugger, in Chromium: fire a pixel, see it appear; refusals with their reason.</summary>
[Collection(BrowserTests.Name)]
public sealed class DebuggerTests(BrowserFixture browser)
{
    [Fact]
    public async Task Fired_events_appear_live_as_stored_and_refusals_show_their_reason_only()
    {
        using var factory = new IngestFactory(new() { ["DEBUG_UI"] = "true", ["IP_MODE"] = "truncate" });
        var address = factory.StartOnKestrel();
        await using var context = await browser.Browser.NewContextAsync();
        var page = await OpenLiveAsync(context, address);

        using var client = new HttpClient { BaseAddress = new Uri(address) };
        var id = Guid.NewGuid().ToString();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/px.gif?event_id={id}&e=signup&plan=pro")).StatusCode);
        var stored = await page.WaitForSelectorAsync($"li.stored[data-event-id='{id}']");
        var text = await stored!.InnerTextAsync();
        Assert.Contains("\"e\":\"signup\"", text, StringComparison.Ordinal);
        Assert.Contains("\"ip\":\"127.0.0.0\"", text, StringComparison.Ordinal); // as stored: IP_MODE=truncate applied

        Assert.Equal(HttpStatusCode.BadRequest, (await client.GetAsync("/px.gif?event_id=42&secret=do-not-show")).StatusCode);
        var rejected = await page.WaitForSelectorAsync("li.refused:has-text('event_id must be a UUID')");
        Assert.DoesNotContain("do-not-show", await rejected!.InnerTextAsync(), StringComparison.Ordinal);

        using var dnt = new HttpRequestMessage(HttpMethod.Get, "/px.gif?e=optout&secret=do-not-show");
        dnt.Headers.Add("DNT", "1");
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(dnt)).StatusCode);
        var dropped = await page.WaitForSelectorAsync("li.refused:has-text('dropped_dnt')");
        Assert.DoesNotContain("do-not-show", await dropped!.InnerTextAsync(), StringComparison.Ordinal);
        Assert.Equal(3, await page.Locator("#log li").CountAsync());

        // A new viewer (here: the same page reloaded) first gets the backlog, so the earlier events are still there.
        await page.ReloadAsync();
        await page.WaitForSelectorAsync("#state:text('live')");
        await page.WaitForSelectorAsync($"li.stored[data-event-id='{id}']");
        Assert.Equal(3, await page.Locator("#log li").CountAsync());
        Assert.Equal(1, await page.Locator("li.refused:has-text('event_id must be a UUID')").CountAsync());
    }

    /// <summary>
    /// What is refused before any event is read (a wrong content type, a body that is not JSON, a Segment body of
    /// the wrong shape, a GET to /collect) and every 503 show up too, with the status and the reason the client got.
    /// </summary>
    [Fact]
    public async Task Whole_request_refusals_and_503s_appear_with_their_status_and_reason()
    {
        using var dir = new TempDir();
        using var factory = new IngestFactory(new()
        {
            ["DEBUG_UI"] = "true",
            ["LOG_PATH"] = Path.Combine(dir.Blocker(), "events.ndjson"), // the sink cannot write: the log fills
            ["QUEUE_MAX_EVENTS"] = "1",
            ["MAX_BATCH_EVENTS"] = "1",
            ["SINK_RETRY_BASE_MS"] = "10",
            ["SINK_RETRY_MAX_MS"] = "50",
        });
        var address = factory.StartOnKestrel();
        await using var context = await browser.Browser.NewContextAsync();
        var page = await OpenLiveAsync(context, address);
        using var client = new HttpClient { BaseAddress = new Uri(address) };

        using (var html = new StringContent("<p>hello</p>", System.Text.Encoding.UTF8, "text/html"))
        {
            Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await client.PostAsync("/collect", html)).StatusCode);
        }

        var unsupported = await page.WaitForSelectorAsync("li.refused:has-text('415')");
        var text = await unsupported!.InnerTextAsync();
        Assert.Contains("/collect", text, StringComparison.Ordinal);
        Assert.Contains("content type must be application/json or text/plain", text, StringComparison.Ordinal);
        Assert.DoesNotContain("hello", text, StringComparison.Ordinal);

        using (var broken = new StringContent("{\"e\":\"secret-do-not-show", System.Text.Encoding.UTF8, "application/json"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, (await client.PostAsync("/collect", broken)).StatusCode);
        }

        var malformed = await page.WaitForSelectorAsync("li.refused:has-text('malformed JSON')");
        Assert.Contains("400", await malformed!.InnerTextAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain("secret-do-not-show", await malformed.InnerTextAsync(), StringComparison.Ordinal);

        using (var batch = new StringContent("{\"batch\":1}", System.Text.Encoding.UTF8, "application/json"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, (await client.PostAsync("/v1/batch", batch)).StatusCode);
        }

        await page.WaitForSelectorAsync("li.refused:has-text('/v1/batch'):has-text('a batch body is')");
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await client.GetAsync("/collect")).StatusCode);
        await page.WaitForSelectorAsync("li.refused:has-text('405'):has-text('use POST')");

        // The log holds one event; the sink cannot take it, so the next pixel and the next /collect get 503.
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/px.gif?e=first")).StatusCode);
        await page.WaitForSelectorAsync("li.stored");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync("/px.gif?e=second")).StatusCode);
        using (var one = new StringContent("{\"e\":\"third\"}", System.Text.Encoding.UTF8, "application/json"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.PostAsync("/collect", one)).StatusCode);
        }

        await page.WaitForSelectorAsync("li.refused:has-text('collect rejected_overload'):has-text('event log is full')");
        Assert.Equal(1, await page.Locator("li.refused:has-text('pixel rejected_overload'):has-text('event log is full')").CountAsync());
        Assert.Equal(1, await page.Locator("li.refused:has-text('collect rejected_overload')").CountAsync());
        Assert.Equal(7, await page.Locator("#log li").CountAsync());
    }

    /// <summary>
    /// Without OPS_ADDR there is no management port, and the public port is the only one: the debugger then
    /// answers only a client on this machine that is not a reverse proxy passing someone else's request on.
    /// </summary>
    [Theory]
    [InlineData("127.0.0.1", null, HttpStatusCode.OK)]
    [InlineData("::1", null, HttpStatusCode.OK)]
    [InlineData("::ffff:127.0.0.1", null, HttpStatusCode.OK)]
    [InlineData("192.0.2.7", null, HttpStatusCode.Forbidden)]
    [InlineData("127.0.0.1", "X-Forwarded-For", HttpStatusCode.Forbidden)]
    [InlineData("127.0.0.1", "Forwarded", HttpStatusCode.Forbidden)]
    public async Task Without_OPS_ADDR_the_debugger_answers_only_loopback_clients_that_are_not_proxied(string peer, string? forwardingHeader, HttpStatusCode expected)
    {
        using var factory = new IngestFactory(new() { ["DEBUG_UI"] = "true" });
        using var client = factory.CreateClient();
        foreach (var path in new[] { "/debug", "/debug/events" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Add(IngestFactory.PeerHeader, peer);
            if (forwardingHeader is not null)
            {
                request.Headers.TryAddWithoutValidation(forwardingHeader, forwardingHeader == "Forwarded" ? "for=203.0.113.9" : "203.0.113.9");
            }

            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(expected, response.StatusCode);
            if (expected == HttpStatusCode.Forbidden)
            {
                var body = await response.Content.ReadAsStringAsync();
                Assert.Contains("OPS_ADDR", body, StringComparison.Ordinal);
                Assert.Contains("DEBUG_UI", body, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public async Task The_debugger_is_off_by_default()
    {
        using var factory = new IngestFactory();
        using var client = factory.CreateClient();
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/debug")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/debug/events")).StatusCode);
    }

    /// <summary>Opens /debug in a new page and waits for its live feed to connect.</summary>
    private static async Task<IPage> OpenLiveAsync(IBrowserContext context, string address)
    {
        var page = await context.NewPageAsync();
        await page.GotoAsync(address + "/debug");
        await page.WaitForSelectorAsync("#state:text('live')");
        return page;
    }
}
