using System.Text.Json;
using GoTrack.Core.Telemetry;
using GoTrack.Tests.Support;
using Microsoft.Playwright;

namespace GoTrack.Tests.Browser;

/// <summary>
/// The tracker script (issue 12) on a real page in headless Chromium, the page on another port than the
/// collector: what lands in the NDJSON file for a page view, single-page-app navigations, outbound clicks and
/// an event queued before the script loaded; its fallbacks; its data attributes; and an opted-out browser,
/// from which nothing is sent at all.
/// </summary>
/// <remarks>
/// Every page gets <see cref="Recorder"/> as an init script: it notes each sendBeacon, fetch and image
/// request as the page makes it, so "nothing was sent" is read from the page itself, synchronously, and
/// not from a quiet wait on the server.
/// </remarks>
[Collection(BrowserTests.Name)]
public sealed class TrackerBrowserTests(BrowserFixture browser)
{
    private static readonly DateTimeOffset Noon = new(2026, 11, 30, 12, 0, 0, 250, TimeSpan.Zero);

    private const string Recorder = """
        window.__sent = [];
        (() => {
          const beacon = navigator.sendBeacon;
          if (beacon) navigator.sendBeacon = function (u, d) { window.__sent.push('beacon ' + u); return beacon.call(navigator, u, d); };
          const f = window.fetch;
          if (f) window.fetch = function (u, o) { window.__sent.push('fetch ' + u); return f.call(window, u, o); };
          const src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, 'src');
          Object.defineProperty(HTMLImageElement.prototype, 'src', {
            configurable: true,
            get() { return src.get.call(this); },
            set(v) { window.__sent.push('img ' + v); src.set.call(this, v); },
          });
        })();
        """;

    private const string GpcInBrowser = "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true, configurable: true });";
    private const string DntInBrowser = "Object.defineProperty(Navigator.prototype, 'doNotTrack', { get: () => '1', configurable: true });";

    /// <summary>The snippet of README, "The tracker": the queue stub, then the script, async.</summary>
    private static string Snippet(string collector, string attributes = "") => $$"""
        <script>window.gotrack=window.gotrack||function(){(gotrack.q=gotrack.q||[]).push(arguments)};</script>
        <script async src="{{collector}}/t.js"{{attributes}}></script>
        """;

    /// <summary>/start (no tracker, a link to /app), /app (the tracker; an event queued before it loads; links) and /manual.</summary>
    private static Dictionary<string, string> Pages(string collector, string? manualEndpoint = null) => new()
    {
        ["/start"] = Html("Start", """<a id="go" href="/app">app</a>"""),
        ["/app"] = Html("App", Snippet(collector) + $$"""

            <script>gotrack('event', 'signup', {plan: 'pro', seats: 3});</script>
            <a id="in" href="#section">a section of this page</a>
            <a id="out-tab" href="{{collector}}/healthz?tab" target="_blank">elsewhere, in a tab</a>
            <a id="out" href="{{collector}}/healthz"><span>elsewhere</span></a>
            """),
        ["/manual"] = Html("Manual", Snippet(collector, $" data-endpoint=\"{manualEndpoint}\" data-auto=\"false\"")),
        ["/keyed"] = Html("Keyed", Snippet(collector, $" data-key=\"{SiteKey}\"") + "<script>gotrack('event', 'signup', {plan: 'pro'});</script>"),
    };

    private const string SiteKey = "wk_site_0123456789";

    private static string Html(string title, string body) => $"""
        <!doctype html>
        <html><head><meta charset="utf-8"><title>{title}</title></head>
        <body>
        <h1 id="section">{title}</h1>
        {body}
        </body></html>
        """;

    private sealed class Rig : IAsyncDisposable
    {
        public required IngestFactory Collector { get; init; }

        public required string CollectorUrl { get; init; }

        public required TestSite Site { get; init; }

        public IngestFactory? Other { get; init; }

        public async ValueTask DisposeAsync()
        {
            await Site.DisposeAsync();
            Collector.Dispose();
            Other?.Dispose();
        }
    }

    private static async Task<Rig> StartAsync(Dictionary<string, string?>? settings = null, bool second = false)
    {
        var collector = new IngestFactory(settings, new FixedClock(Noon));
        var url = collector.StartOnKestrel();
        IngestFactory? other = second ? new IngestFactory() : null;
        var otherUrl = other?.StartOnKestrel();
        var site = await TestSite.StartAsync(url, Pages(url, otherUrl));
        return new Rig { Collector = collector, CollectorUrl = url, Site = site, Other = other };
    }

    /// <summary>The events in the collector's NDJSON file once exactly <paramref name="count"/> were accepted and written.</summary>
    private static async Task<JsonElement[]> EventsAsync(IngestFactory collector, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (collector.Outcome(EventOutcomes.Accepted) < count && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        await collector.WaitDeliveredAsync();
        Assert.Equal(count, collector.Outcome(EventOutcomes.Accepted));
        var lines = collector.Lines();
        Assert.Equal(count, lines.Length);
        return [.. lines.Select(l => JsonDocument.Parse(l).RootElement.Clone())];
    }

    private static string? Str(JsonElement e, string name) => e.TryGetProperty(name, out var v) ? v.GetString() : null;

    private static JsonElement One(JsonElement[] events, string name, string url) =>
        Assert.Single(events, e => Str(e, "e") == name && Str(e, "url") == url);

    private async Task<(IBrowserContext Context, IPage Page)> OpenAsync(string initScript = "", Dictionary<string, string>? headers = null)
    {
        var context = await browser.Browser.NewContextAsync(new() { ExtraHTTPHeaders = headers });
        await context.AddInitScriptAsync(initScript + "\n" + Recorder);
        return (context, await context.NewPageAsync());
    }

    private static async Task LoadedAsync(IPage page) => await page.WaitForFunctionAsync("window.gotrack && window.gotrack.v === 1");

    private static async Task<string[]> SentAsync(IPage page) => await page.EvaluateAsync<string[]>("window.__sent");

    [Fact]
    public async Task Page_views_SPA_navigations_outbound_clicks_and_a_queued_event_land_in_the_file()
    {
        await using var rig = await StartAsync();
        var (context, page) = await OpenAsync();
        await using var _ = context;
        var app = rig.Site.Url("/app");

        // A direct visit: the page view, and the event queued before the script had loaded, with its props.
        await page.GotoAsync(app);
        var events = await EventsAsync(rig.Collector, 2);
        var view = One(events, "pageview", app);
        Assert.Null(Str(view, "ref")); // ref "" was sent: no referrer
        var signup = One(events, "signup", app);
        Assert.Equal("pro", signup.GetProperty("props").GetProperty("plan").GetString());
        Assert.Equal(3, signup.GetProperty("props").GetProperty("seats").GetInt32());

        // pushState: a page view whose ref is the previous in-app URL. A fragment alone is no page view.
        await page.EvaluateAsync("history.pushState({}, '', '/app/pricing?plan=team')");
        var pricing = rig.Site.Url("/app/pricing?plan=team");
        Assert.Equal(app, Str(One(await EventsAsync(rig.Collector, 3), "pageview", pricing), "ref"));
        await page.EvaluateAsync("history.pushState({}, '', '/app/pricing?plan=team#faq')");
        await page.ClickAsync("#in");

        // Back, twice (popstate): to the first pushState's entry (a fragment away: no page view), then to /app.
        await page.GoBackAsync();
        await page.GoBackAsync();
        await page.WaitForURLAsync(pricing);
        await page.GoBackAsync();
        await page.WaitForURLAsync(app);
        events = await EventsAsync(rig.Collector, 4);
        var back = Assert.Single(events, e => Str(e, "e") == "pageview" && Str(e, "url") == app && Str(e, "ref") is not null);
        Assert.Equal(pricing, Str(back, "ref"));

        // Every event so far went with sendBeacon, to /collect on the collector.
        Assert.All(await SentAsync(page), s => Assert.Equal("beacon " + rig.CollectorUrl + "/collect", s));
        Assert.Equal(4, (await SentAsync(page)).Length);

        // Outbound: a middle click (auxclick, a new tab), then a click that leaves the page, its beacon still sent.
        await page.ClickAsync("#out-tab", new() { Button = MouseButton.Middle });
        var tab = One(await EventsAsync(rig.Collector, 5), "outbound", app);
        Assert.Equal(rig.CollectorUrl + "/healthz?tab", tab.GetProperty("props").GetProperty("href").GetString());
        await page.ClickToAsync("#out span", rig.CollectorUrl + "/healthz");
        events = await EventsAsync(rig.Collector, 6);
        var outbound = Assert.Single(events, e => Str(e, "e") == "outbound" && e.GetProperty("props").GetProperty("href").GetString() == rig.CollectorUrl + "/healthz");
        Assert.Equal(app, Str(outbound, "url"));

        // One session throughout: the cookie the first beacon's answer set, which the browser kept for the collector.
        var sid = Assert.Single(events.Select(e => Str(e, "sid")).Distinct());
        Assert.Equal(sid, Assert.Single(await context.CookiesAsync([rig.CollectorUrl]), c => c.Name == "gt_sid").Value);

        // At the collector, the six beacons as they came: POSTs of text/plain;charset=UTF-8 (sendBeacon with a string
        // body), a CORS "simple" request, so the browser sent no preflight (OPTIONS) before any of them.
        var beacons = rig.Collector.Requests.Where(r => r.Path == "/collect").ToArray();
        Assert.Equal(6, beacons.Length);
        Assert.All(beacons, r =>
        {
            Assert.Equal("POST", r.Method);
            var type = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(Assert.IsType<string>(r.ContentType));
            Assert.Equal("text/plain", type.MediaType);
            Assert.Equal("utf-8", type.CharSet, ignoreCase: true);
        });
        Assert.DoesNotContain(rig.Collector.Requests, r => r.Method == "OPTIONS");
    }

    /// <summary>
    /// Without sendBeacon the tracker sends with fetch; when fetch is missing, or its promise rejects (a blocker, a
    /// network error), with the pixel, and each event once: exact counts of what the page sent and what the
    /// collector was sent and accepted.
    /// </summary>
    [Theory]
    [InlineData("fetch", "navigator.sendBeacon = () => false;")]
    [InlineData("img", "Object.defineProperty(Navigator.prototype, 'sendBeacon', { value: undefined }); delete navigator.sendBeacon; window.fetch = undefined;")]
    [InlineData("rejected", "navigator.sendBeacon = () => false; window.fetch = () => Promise.reject(new TypeError('blocked'));")]
    public async Task Without_a_beacon_the_tracker_falls_back_to_fetch_then_the_pixel_at_the_first_aliases(string transport, string initScript)
    {
        await using var rig = await StartAsync(new() { ["COLLECT_PATHS"] = "/api/e,/api/f", ["PIXEL_PATHS"] = "/img/logo.gif" });
        var (context, page) = await OpenAsync(initScript);
        await using var _ = context;
        await page.GotoAsync(rig.Site.Url("/start"));
        await page.ClickAsync("#go");

        // No wait on the navigation itself: /app's page view reaching the collector is the proof it happened.
        // Waiting for /app's load event timed out once (30 s) on two loaded cores, and WaitForURL with Commit
        // timed out when the navigation had committed before the call (Playwright then waits for a load state
        // named "commit", which never fires).
        var events = await EventsAsync(rig.Collector, 2);
        var app = rig.Site.Url("/app");
        Assert.Equal(rig.Site.Url("/start"), Str(One(events, "pageview", app), "ref")); // document.referrer
        var props = One(events, "signup", app).GetProperty("props");
        Assert.Equal("pro", props.GetProperty("plan").GetString());
        // The pixel carries props as query parameters, so as strings.
        var pixel = transport != "fetch";
        Assert.Equal(pixel ? JsonValueKind.String : JsonValueKind.Number, props.GetProperty("seats").ValueKind);

        // What the page sent, each event's attempts in turn (the query strings left out): a beacon refused, then
        // fetch; or no beacon and no fetch at all, the pixel; or a beacon refused, a fetch rejected, the pixel.
        string beacon = $"beacon {rig.CollectorUrl}/api/e", fetch = $"fetch {rig.CollectorUrl}/api/e", img = $"img {rig.CollectorUrl}/img/logo.gif";
        string[] attempts = transport switch
        {
            "fetch" => [beacon, fetch],
            "img" => [img],
            _ => [beacon, fetch, img],
        };
        var sent = (await SentAsync(page)).Select(s => s.Split('?')[0]).Order(StringComparer.Ordinal);
        Assert.Equal(attempts.Concat(attempts).Order(StringComparer.Ordinal), sent);

        // What reached the collector: two requests to the one intake used, nothing to the defaults or the other aliases.
        var intake = rig.Collector.Requests.Where(r => r.Path != "/t.js").ToArray();
        Assert.Equal(2, intake.Length);
        Assert.All(intake, r => Assert.Equal(pixel ? "GET /img/logo.gif" : "POST /api/e", r.Method + " " + r.Path));
    }

    [Fact]
    public async Task Data_attributes_set_the_endpoint_and_turn_off_automatic_page_views()
    {
        await using var rig = await StartAsync(second: true);
        var other = rig.Other!;
        var (context, page) = await OpenAsync();
        await using var _ = context;
        await page.GotoAsync(rig.Site.Url("/manual"));
        await LoadedAsync(page);
        await page.EvaluateAsync("history.pushState({}, '', '/manual/2')");
        await page.EvaluateAsync("gotrack('pageview', {source: 'manual'})");

        var view = Assert.Single(await EventsAsync(other, 1));
        Assert.Equal(rig.Site.Url("/manual/2"), Str(view, "url"));
        Assert.Equal(rig.Site.Url("/manual"), Str(view, "ref"));
        Assert.Equal("manual", view.GetProperty("props").GetProperty("source").GetString());
        Assert.Single(await SentAsync(page)); // nothing on load, nothing on pushState, nothing to the script's own origin
        Assert.Empty(rig.Collector.Lines());
    }

    /// <summary>
    /// With WRITE_KEYS set, data-key puts the key on every request the tracker makes (beacon, or the pixel when it
    /// falls back to it): its events arrive with the key's source; a page without data-key is refused (401).
    /// </summary>
    [Theory]
    [InlineData("beacon", "")]
    [InlineData("img", "Object.defineProperty(Navigator.prototype, 'sendBeacon', { value: undefined }); delete navigator.sendBeacon; window.fetch = undefined;")]
    public async Task With_WRITE_KEYS_data_key_sends_the_key_and_the_events_record_its_source(string transport, string initScript)
    {
        await using var rig = await StartAsync(new() { ["WRITE_KEYS"] = SiteKey + ":site" });
        var (context, page) = await OpenAsync(initScript);
        await using var _ = context;
        await page.GotoAsync(rig.Site.Url("/keyed"));
        var events = await EventsAsync(rig.Collector, 2);
        Assert.Equal(["pageview", "signup"], events.Select(e => Str(e, "e")).Order(StringComparer.Ordinal));
        Assert.All(events, e => Assert.Equal("site", Str(e, "source")));
        Assert.All(rig.Collector.Lines(), l => Assert.DoesNotContain(SiteKey, l, StringComparison.Ordinal));
        var sent = await SentAsync(page);
        var keyed = transport == "img" ? $"img {rig.CollectorUrl}/px.gif?" : $"beacon {rig.CollectorUrl}/collect?write_key={SiteKey}";
        Assert.Equal(2, sent.Count(s => s.StartsWith(keyed, StringComparison.Ordinal) && s.Contains("write_key=" + SiteKey, StringComparison.Ordinal)));

        // The same page without data-key: both events refused for want of a key.
        await page.GotoAsync(rig.Site.Url("/app"));
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (rig.Collector.Outcome(EventOutcomes.UnknownWriteKey) < 2 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.Equal(2, rig.Collector.Outcome(EventOutcomes.UnknownWriteKey));
        Assert.Equal(2, rig.Collector.Outcome(EventOutcomes.Accepted));
    }

    /// <summary>
    /// GPC and DNT as the page sees them (navigator.globalPrivacyControl, navigator.doNotTrack): the tracker sends
    /// nothing at all, whatever the page does. Then the page sends one beacon of its own, which shows the way to the
    /// collector was open: it lands alone, or with the Sec-GPC header is dropped and counted alone.
    /// </summary>
    [Theory]
    [InlineData("gpc", false)]
    [InlineData("gpc", true)]
    [InlineData("dnt", false)]
    public async Task An_opted_out_browser_sends_nothing(string signal, bool gpcHeader)
    {
        await using var rig = await StartAsync();
        var headers = gpcHeader ? new Dictionary<string, string> { ["Sec-GPC"] = "1" } : null;
        var (context, page) = await OpenAsync(signal == "gpc" ? GpcInBrowser : DntInBrowser, headers);
        await using var _ = context;
        await page.GotoAsync(rig.Site.Url("/app"));
        await LoadedAsync(page);
        await page.EvaluateAsync("history.pushState({}, '', '/app/pricing')");
        await page.EvaluateAsync("gotrack('event', 'later')");
        await page.ClickAsync("#out-tab");
        Assert.Empty(await SentAsync(page));

        Assert.True(await page.EvaluateAsync<bool>($"navigator.sendBeacon('{rig.CollectorUrl}/collect', JSON.stringify({{e: 'control'}}))"));
        if (gpcHeader)
        {
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (rig.Collector.Outcome(EventOutcomes.GlobalPrivacyControl) < 1 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }

            Assert.Equal(1, rig.Collector.Outcome(EventOutcomes.GlobalPrivacyControl));
            Assert.Equal(0, rig.Collector.Outcome(EventOutcomes.Accepted));
            Assert.Empty(rig.Collector.Lines());
        }
        else
        {
            Assert.Equal("control", Str(Assert.Single(await EventsAsync(rig.Collector, 1)), "e"));
        }
    }

    /// <summary>Under PRIVACY_MODE=anonymize the operator wants opted-out visits counted: the script sends, the server strips.</summary>
    [Fact]
    public async Task Under_PRIVACY_MODE_anonymize_an_opted_out_browser_s_events_are_sent_and_stored_without_identifiers()
    {
        await using var rig = await StartAsync(new() { ["PRIVACY_MODE"] = "anonymize" });
        var (context, page) = await OpenAsync(GpcInBrowser, new() { ["Sec-GPC"] = "1" });
        await using var _ = context;
        await page.GotoAsync(rig.Site.Url("/app"));

        var events = await EventsAsync(rig.Collector, 2);
        Assert.All(events, e => Assert.Null(Str(e, "sid")));
        Assert.Equal(2, rig.Collector.Outcome(EventOutcomes.AnonymizedGlobalPrivacyControl));
        One(events, "pageview", rig.Site.Url("/app"));
        Assert.Empty(await context.CookiesAsync());
    }
}
