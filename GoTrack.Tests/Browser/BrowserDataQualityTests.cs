using System.Text.Json;
using GoTrack.Core.Telemetry;
using GoTrack.Tests.Support;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace GoTrack.Tests.Browser;

/// <summary>
/// The seed's snippets in a real browser (issue 14): what lands in the NDJSON file for a direct visit, a
/// click, a first visit with both snippets on the page, cookies blocked, Do Not Track and Global Privacy Control.
/// </summary>
[Collection(BrowserTests.Name)]
public sealed class BrowserDataQualityTests(BrowserFixture browser, ITestOutputHelper output)
{
    private static readonly DateTimeOffset Noon = new(2026, 11, 30, 12, 0, 0, 250, TimeSpan.Zero);

    private sealed class Rig : IAsyncDisposable
    {
        public required IngestFactory Collector { get; init; }

        public required TestSite Site { get; init; }

        public async ValueTask DisposeAsync()
        {
            await Site.DisposeAsync();
            Collector.Dispose();
        }

        /// <summary>The events in the NDJSON file once exactly <paramref name="count"/> were accepted and written.</summary>
        public async Task<JsonElement[]> EventsAsync(int count)
        {
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (Collector.Outcome(EventOutcomes.Accepted) < count && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }

            await Collector.WaitDeliveredAsync();
            Assert.Equal(count, Collector.Outcome(EventOutcomes.Accepted));
            var lines = Collector.Lines();
            Assert.Equal(count, lines.Length);
            return [.. lines.Select(l => JsonDocument.Parse(l).RootElement.Clone())];
        }
    }

    private static async Task<Rig> StartAsync(
        Dictionary<string, string?>? settings = null, TimeProvider? clock = null, Func<string, Dictionary<string, string>>? pages = null)
    {
        var collector = new IngestFactory(settings, clock);
        var address = collector.StartOnKestrel();
        var site = await TestSite.StartAsync(address, pages?.Invoke(address));
        return new Rig { Collector = collector, Site = site };
    }

    private static string? Str(JsonElement e, string name) => e.TryGetProperty(name, out var v) ? v.GetString() : null;

    /// <summary>The context's pixel requests, in the order they left; their headers are read once sent.</summary>
    private static List<IRequest> Pixels(IBrowserContext context)
    {
        var pixels = new List<IRequest>();
        context.Request += (_, r) =>
        {
            if (r.Url.Contains("/px.gif", StringComparison.Ordinal))
            {
                lock (pixels)
                {
                    pixels.Add(r);
                }
            }
        };
        return pixels;
    }

    /// <summary>The headers a request left the browser with, the Cookie header included.</summary>
    private static async Task<IReadOnlyDictionary<string, string>> SentHeadersAsync(IRequest request) =>
        await request.AllHeadersAsync();

    /// <summary>An opted-out browser's events under PRIVACY_MODE=anonymize: the page, no identifiers.</summary>
    private static void AssertAnonymized(JsonElement[] events) => Assert.All(events, e =>
    {
        Assert.NotNull(Str(e, "url"));
        foreach (var name in new[] { "uid", "sid", "ip", "ua", "click" })
        {
            Assert.False(e.TryGetProperty(name, out _), name);
        }
    });

    private static async Task WaitOutcomeAsync(Rig rig, string outcome, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (rig.Collector.Outcome(outcome) < count && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task A_direct_visit_with_the_seed_loader_has_no_ref()
    {
        await using var rig = await StartAsync();
        await using var context = await browser.Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync(rig.Site.Url("/a"));

        var e = Assert.Single(await rig.EventsAsync(1));
        Assert.Equal(rig.Site.Url("/a"), Str(e, "url"));
        Assert.Null(Str(e, "ref"));
        Assert.Equal("pageview", Str(e, "e"));
    }

    [Fact]
    public async Task A_click_from_page_A_to_page_B_gives_B_the_ref_of_A()
    {
        await using var rig = await StartAsync();
        await using var context = await browser.Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync(rig.Site.Url("/a"));
        await rig.EventsAsync(1);
        await page.ClickToAsync("#next", rig.Site.Url("/b"));

        var events = await rig.EventsAsync(2);
        var b = Assert.Single(events, e => Str(e, "url") == rig.Site.Url("/b"));
        Assert.Equal(rig.Site.Url("/a"), Str(b, "ref"));
        Assert.Equal(Str(events[0], "sid"), Str(b, "sid"));
    }

    /// <summary>
    /// The page's two pixel requests are held until both have left the browser, so neither can carry a cookie
    /// that the other's answer set: each arrives without one, as on a slow network. With the join they share
    /// one session; with <c>SESSION_JOIN_WINDOW=0</c> (GoTrack before the join) they split, every time. The
    /// next page comes 30 s later, in another bucket: its same <c>sid</c> can only come from the cookie.
    /// </summary>
    /// <summary>
    /// Referrer rule 2: a loader that sends no <c>ref</c> at all leaves the Referer header to stand in, and that
    /// header is the page itself (cut to its origin across origins), never where the visitor came from. A
    /// direct visit and a click from another page both give no <c>ref</c>.
    /// </summary>
    [Fact]
    public async Task A_loader_that_sends_no_ref_records_none_on_a_direct_visit_and_after_a_click()
    {
        await using var rig = await StartAsync(pages: collector => new()
        {
            ["/noref"] = TestSite.Document("No ref", $$"""
                <script>
                (function(){
                  var img = new Image(1,1);
                  img.src = '{{collector}}/px.gif?' + new URLSearchParams({ e: 'pageview', url: location.href }).toString();
                })();
                </script>
                """, "/a"),
            ["/from"] = TestSite.Document("From", "", "/noref"),
        });
        await using var context = await browser.Browser.NewContextAsync();
        var pixels = Pixels(context);
        var page = await context.NewPageAsync();
        await page.GotoAsync(rig.Site.Url("/noref"));
        var direct = Assert.Single(await rig.EventsAsync(1));
        Assert.Equal(rig.Site.Url("/noref"), Str(direct, "url"));
        Assert.Null(Str(direct, "ref"));

        await page.GotoAsync(rig.Site.Url("/from"));
        await page.ClickToAsync("#next", rig.Site.Url("/noref"));
        Assert.Equal(rig.Site.Url("/from"), await page.EvaluateAsync<string>("document.referrer"));
        var clicked = (await rig.EventsAsync(2))[1];
        Assert.Equal(rig.Site.Url("/noref"), Str(clicked, "url"));
        Assert.Null(Str(clicked, "ref"));
        Assert.All(pixels, r => Assert.Equal(rig.Site.Origin + "/", r.Headers["referer"]));
        Assert.Equal(2, pixels.Count);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("0")]
    public async Task Both_seed_snippets_on_a_first_visit_open_one_session_that_the_next_page_keeps_by_its_cookie(string? window)
    {
        var clock = new FixedClock(Noon);
        await using var rig = await StartAsync(window is null ? null : new() { ["SESSION_JOIN_WINDOW"] = window }, clock);
        await using var context = await browser.Browser.NewContextAsync();
        var pixels = Pixels(context);
        // The page's two pixels are held at the server until both have arrived, so neither can leave the browser
        // after the other's answer set the cookie. Holding them in the browser (Playwright routes) was not
        // enough: a clean-clone CI run, twice, saw their sids equal with window 0, because Chromium adds the
        // Cookie header after a route lets a request go, and a route's headers do not show it.
        var atServer = 0;
        var bothAtServer = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var firstTwoHadCookie = new System.Collections.Concurrent.ConcurrentQueue<bool>();
        rig.Collector.BeforeApp = async http =>
        {
            if (!http.Request.Path.StartsWithSegments("/px.gif", StringComparison.Ordinal))
            {
                return;
            }

            var n = Interlocked.Increment(ref atServer);
            if (n > 2)
            {
                return;
            }

            firstTwoHadCookie.Enqueue(http.Request.Headers.Cookie.Count > 0);
            if (n == 2)
            {
                bothAtServer.TrySetResult();
            }

            // The second never came: let the assertions below say so.
            await bothAtServer.Task.WaitAsync(TimeSpan.FromSeconds(20)).ContinueWith(_ => { }, TaskScheduler.Default);
        };
        var page = await context.NewPageAsync();
        await page.GotoAsync(rig.Site.Url("/both"));

        var first = await rig.EventsAsync(2);
        Assert.Equal(2, pixels.Count);
        Assert.Equal([false, false], firstTwoHadCookie);

        // The <img> tag as the seed writes it is not a script: its src ends at "url=", so the browser asks for
        // px.gif?e=pageview&url= and its Referer (the page, cut to its origin across origins) becomes the url.
        var img = Assert.Single(first, e => Str(e, "url") == rig.Site.Origin + "/");
        var loader = Assert.Single(first, e => Str(e, "url") == rig.Site.Url("/both"));
        Assert.Null(Str(img, "ref"));
        Assert.Null(Str(loader, "ref"));
        var cookie = Assert.Single(await context.CookiesAsync(), c => c.Name == "gt_sid").Value;
        if (window is null)
        {
            Assert.Equal(Str(img, "sid"), Str(loader, "sid"));
            Assert.Equal(Str(img, "sid"), cookie);
        }
        else
        {
            Assert.NotEqual(Str(img, "sid"), Str(loader, "sid"));
            Assert.Contains(cookie, new[] { Str(img, "sid"), Str(loader, "sid") });
        }

        clock.Now = Noon.AddSeconds(30);
        await page.ClickToAsync("#next", rig.Site.Url("/b"));
        var b = (await rig.EventsAsync(3)).Single(e => Str(e, "url") == rig.Site.Url("/b"));
        Assert.Equal(cookie, Str(b, "sid"));
        Assert.Contains("gt_sid=" + cookie, (await SentHeadersAsync(pixels[2]))["cookie"], StringComparison.Ordinal);
        Assert.Equal(rig.Site.Url("/both"), Str(b, "ref"));
    }

    [Fact]
    public async Task With_cookies_blocked_events_still_arrive_and_a_page_s_requests_share_a_session()
    {
        var clock = new FixedClock(Noon);
        await using var rig = await StartAsync(clock: clock);
        using var profile = new TempDir();
        await using var context = await browser.WithPreferencesAsync(profile.Path,
            new { profile = new { default_content_setting_values = new { cookies = 2 } } });
        var page = context.Pages.Count > 0 ? context.Pages[0] : await context.NewPageAsync();
        await page.GotoAsync(rig.Site.Url("/both"));
        var first = await rig.EventsAsync(2);
        Assert.Single(first.Select(e => Str(e, "sid")).Distinct());
        Assert.Empty(await context.CookiesAsync());

        // The next page, later: without a cookie it is another session (README, "Sessions").
        clock.Now = Noon.AddSeconds(30);
        await page.ClickToAsync("#next", rig.Site.Url("/b"));
        var b = (await rig.EventsAsync(3)).Single(e => Str(e, "url") == rig.Site.Url("/b"));
        Assert.NotEqual(Str(first[0], "sid"), Str(b, "sid"));
        Assert.Equal(rig.Site.Url("/both"), Str(b, "ref"));
    }

    /// <summary>
    /// Cookies blocked in the browser and COOKIE_MODE=off: one <c>sid</c> for the visit, three hours apart, and
    /// it is the documented cookieless hash (README, "Cookieless sessions"): HMAC-SHA256(day key, "sid:" ‖ site
    /// ‖ 0 ‖ address bytes ‖ 0 ‖ user agent), 128 bits, base64url.
    /// </summary>
    [Fact]
    public async Task With_cookies_blocked_and_COOKIE_MODE_off_the_visit_keeps_the_documented_cookieless_session()
    {
        const string secret = "0123456789abcdef-secret";
        var clock = new FixedClock(Noon);
        await using var rig = await StartAsync(new() { ["COOKIE_MODE"] = "off", ["IP_HASH_SECRET"] = secret }, clock);
        using var profile = new TempDir();
        await using var context = await browser.WithPreferencesAsync(profile.Path,
            new { profile = new { default_content_setting_values = new { cookies = 2 } } });
        var page = context.Pages.Count > 0 ? context.Pages[0] : await context.NewPageAsync();
        await page.GotoAsync(rig.Site.Url("/both"));
        await rig.EventsAsync(2);
        Assert.Equal("", await page.EvaluateAsync<string>("document.cookie = 'probe=1', document.cookie"));
        clock.Now = Noon.AddHours(3);
        await page.ClickToAsync("#next", rig.Site.Url("/b"));

        var events = await rig.EventsAsync(3);
        var sid = Assert.Single(events.Select(e => Str(e, "sid")).Distinct());
        var input = new List<byte>("sid:"u8.ToArray());
        input.AddRange(System.Text.Encoding.UTF8.GetBytes(new Uri(rig.Site.Origin).Authority));
        input.Add(0);
        input.AddRange(System.Net.IPAddress.Loopback.GetAddressBytes());
        input.Add(0);
        input.AddRange(System.Text.Encoding.UTF8.GetBytes(await page.EvaluateAsync<string>("navigator.userAgent")));
        var dayKey = new Ingest.Privacy.DailyKey(System.Text.Encoding.UTF8.GetBytes(secret)).KeyFor(Noon).ToArray();
        var expected = System.Buffers.Text.Base64Url.EncodeToString(System.Security.Cryptography.HMACSHA256.HashData(dayKey, input.ToArray()).AsSpan(0, 16));
        Assert.Equal(expected, sid);
        Assert.Empty(await context.CookiesAsync());
    }

    [Fact]
    public async Task With_COOKIE_MODE_off_the_visit_keeps_one_cookieless_session_all_day()
    {
        var clock = new FixedClock(Noon);
        await using var rig = await StartAsync(new() { ["COOKIE_MODE"] = "off", ["IP_HASH_SECRET"] = "0123456789abcdef-secret" }, clock);
        await using var context = await browser.Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync(rig.Site.Url("/a"));
        await rig.EventsAsync(1);
        clock.Now = Noon.AddHours(3);
        await page.ClickToAsync("#next", rig.Site.Url("/b"));

        var events = await rig.EventsAsync(2);
        Assert.Single(events.Select(e => Str(e, "sid")).Distinct());
        Assert.Empty(await context.CookiesAsync());
    }

    [Theory]
    [InlineData("drop")]
    [InlineData("anonymize")]
    public async Task Do_Not_Track_set_in_the_browser_s_settings_gets_the_configured_policy(string mode)
    {
        await using var rig = await StartAsync(new() { ["PRIVACY_MODE"] = mode });
        using var profile = new TempDir();
        await using var context = await browser.WithPreferencesAsync(profile.Path, new { enable_do_not_track = true });
        var page = context.Pages.Count > 0 ? context.Pages[0] : await context.NewPageAsync();
        await page.GotoAsync(rig.Site.Url("/both"));
        Assert.Equal("1", await page.EvaluateAsync<string>("navigator.doNotTrack"));

        await AssertOptOutPolicyAsync(rig, mode, EventOutcomes.DoNotTrack, EventOutcomes.AnonymizedDoNotTrack);

        Assert.Empty(await context.CookiesAsync());
    }

    /// <summary>
    /// The page's two pixels under PRIVACY_MODE <paramref name="mode"/>: under drop, both counted as
    /// <paramref name="dropped"/> and nothing stored; under anonymize, both stored without identifiers and
    /// counted as <paramref name="anonymized"/>.
    /// </summary>
    private static async Task AssertOptOutPolicyAsync(Rig rig, string mode, string dropped, string anonymized)
    {
        if (mode == "drop")
        {
            await WaitOutcomeAsync(rig, dropped, 2);
            Assert.Equal(2, rig.Collector.Outcome(dropped));
            Assert.Equal(0, rig.Collector.Outcome(EventOutcomes.Accepted));
            Assert.Empty(rig.Collector.Lines());
        }
        else
        {
            var events = await rig.EventsAsync(2);
            AssertAnonymized(events);
            Assert.Equal(2, rig.Collector.Outcome(anonymized));
        }
    }

    /// <summary>
    /// Global Privacy Control turned on in the browser itself: Chromium's GlobalPrivacyControlForce feature
    /// (the switch behind its setting) makes it send Sec-GPC: 1 on every request and report
    /// navigator.globalPrivacyControl as true, as Brave, Firefox and DuckDuckGo do when their setting is on.
    /// </summary>
    [Theory]
    [InlineData("drop")]
    [InlineData("anonymize")]
    public async Task Global_Privacy_Control_turned_on_in_the_browser_gets_the_configured_policy(string mode)
    {
        await using var rig = await StartAsync(new() { ["PRIVACY_MODE"] = mode });
        await using var gpc = await browser.LaunchWithAsync("--enable-features=GlobalPrivacyControlForce");
        await using var context = await gpc.NewContextAsync();
        var pixels = Pixels(context);
        var page = await context.NewPageAsync();
        var navigation = await page.GotoAsync(rig.Site.Url("/both"));
        Assert.True(await page.EvaluateAsync<bool>("navigator.globalPrivacyControl === true"));
        Assert.Equal("1", (await navigation!.Request.AllHeadersAsync())["sec-gpc"]);

        await AssertOptOutPolicyAsync(rig, mode, EventOutcomes.GlobalPrivacyControl, EventOutcomes.AnonymizedGlobalPrivacyControl);

        Assert.Equal(2, pixels.Count);
        foreach (var request in pixels)
        {
            Assert.Equal("1", (await SentHeadersAsync(request))["sec-gpc"]);
        }

        Assert.Empty(await context.CookiesAsync());
    }

    /// <summary>
    /// On the real clock, nothing held: how far apart a page's two first requests arrive, how often both leave
    /// without a cookie (only those can split), and how often the session splits. With the join a split needs
    /// a bucket boundary between the two; with SESSION_JOIN_WINDOW=0 (GoTrack before the join) every pair
    /// that left without a cookie splits. Printed; README, "Sessions", quotes it.
    /// </summary>
    [Theory]
    [InlineData(null)]
    [InlineData("0")]
    public async Task First_visits_on_the_real_clock_split_only_across_a_bucket_boundary(string? window)
    {
        await using var rig = await StartAsync(window is null ? null : new() { ["SESSION_JOIN_WINDOW"] = window });
        const int visits = 20;
        var cookieless = new bool[visits];
        for (var i = 0; i < visits; i++)
        {
            await using var context = await browser.Browser.NewContextAsync();
            var pixels = Pixels(context);
            var page = await context.NewPageAsync();
            await page.GotoAsync(rig.Site.Url("/both"));
            await rig.EventsAsync(2 * (i + 1));
            Assert.Equal(2, pixels.Count);
            cookieless[i] = true;
            foreach (var request in pixels)
            {
                cookieless[i] &= !(await SentHeadersAsync(request)).ContainsKey("cookie");
            }
        }

        var events = await rig.EventsAsync(2 * visits);
        var gaps = new List<double>();
        var split = 0;
        var straddled = 0;
        var i2 = 0;
        foreach (var pair in events.Chunk(2))
        {
            var t = pair.Select(e => DateTimeOffset.Parse(Str(e, "ts")!, System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeMilliseconds()).ToArray();
            gaps.Add(Math.Abs(t[1] - t[0]));
            var straddles = t[0] / 2000 != t[1] / 2000;
            var splits = Str(pair[0], "sid") != Str(pair[1], "sid");
            straddled += straddles ? 1 : 0;
            split += splits ? 1 : 0;

            // Two requests without a cookie split exactly when they are not joined; one with the other's cookie never.
            var joined = window is null && !straddles;
            Assert.True(splits == (cookieless[i2] && !joined), $"visit {i2}: split {splits}, both without a cookie {cookieless[i2]}, {t[0]} and {t[1]}");
            i2++;
        }

        gaps.Sort();
        output.WriteLine($"SESSION_JOIN_WINDOW={window ?? "2s"}: {visits} first visits: gap between the two requests median {gaps[visits / 2]} ms, " +
            $"max {gaps[^1]} ms; both left without a cookie: {cookieless.Count(c => c)}; straddled a 2 s bucket: {straddled}; split sessions: {split}");
    }
}

[CollectionDefinition(Name)]
public sealed class BrowserTests : ICollectionFixture<BrowserFixture>
{
    public const string Name = "browser";
}
