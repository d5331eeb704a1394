using System.Net;
using GoTrack.Tests.Support;

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
        var page = await context.NewPageAsync();
        await page.GotoAsync(address + "/debug");
        await page.WaitForSelectorAsync("#state:text('live')");

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
    }

    [Fact]
    public async Task The_debugger_is_off_by_default()
    {
        using var factory = new IngestFactory();
        using var client = factory.CreateClient();
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/debug")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/debug/events")).StatusCode);
    }
}
