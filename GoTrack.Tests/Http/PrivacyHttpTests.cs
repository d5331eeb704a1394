using System.Net;
using System.Text;
using System.Text.Json;
using GoTrack.Tests.Support;

namespace GoTrack.Tests.Http;

/// <summary>Each privacy policy through real HTTP: opt-outs, cookie modes, bots, client IP behind proxies, campaigns.</summary>
public sealed class PrivacyHttpTests
{
    private const string Chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
    private const string Googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

    internal static async Task<(HttpResponseMessage Response, string? Line)> PixelAsync(
        IngestFactory factory, string query, string peer = "81.2.69.160", string ua = Chrome, params (string Name, string Value)[] headers)
    {
        using var client = factory.CreateClient(new() { HandleCookies = false });
        var id = Guid.NewGuid().ToString();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/px.gif?event_id={id}&{query}");
        request.Headers.Add(IngestFactory.PeerHeader, peer);
        request.Headers.TryAddWithoutValidation("User-Agent", ua);
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        var response = await client.SendAsync(request);
        await factory.WaitDeliveredAsync();
        return (response, factory.Lines().SingleOrDefault(l => l.Contains(id, StringComparison.Ordinal)));
    }

    internal static async Task<(HttpResponseMessage Response, JsonElement Body, string? Line)> CollectAsync(
        IngestFactory factory, string json = "{\"e\":\"signup\"}", string peer = "81.2.69.160", string ua = Chrome, params (string Name, string Value)[] headers)
    {
        using var client = factory.CreateClient(new() { HandleCookies = false });
        var id = Guid.NewGuid().ToString();
        json = json.Insert(1, $"\"event_id\":\"{id}\"{(json.Length > 2 ? "," : "")}");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/collect") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.Add(IngestFactory.PeerHeader, peer);
        request.Headers.TryAddWithoutValidation("User-Agent", ua);
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        await factory.WaitDeliveredAsync();
        var body = text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
        return (response, body, factory.Lines().SingleOrDefault(l => l.Contains(id, StringComparison.Ordinal)));
    }

    internal static async Task<string> MetricsAsync(IngestFactory factory)
    {
        using var client = factory.CreateClient();
        return await client.GetStringAsync("/metrics");
    }

    /// <summary>
    /// gotrack_events_total{outcome} of this host alone (see <see cref="IngestFactory.Outcome"/>): exact,
    /// whereas /metrics adds up every in-process host's "GoTrack" meter.
    /// </summary>
    internal static Task<long> OutcomeAsync(IngestFactory factory, string outcome) => Task.FromResult(factory.Outcome(outcome));

    private static JsonElement Json(string line) => JsonDocument.Parse(line).RootElement;

    [Theory]
    [InlineData("DNT", "dropped_dnt")]
    [InlineData("Sec-GPC", "dropped_gpc")]
    public async Task An_opt_out_in_drop_mode_records_nothing_sets_no_cookie_and_is_counted(string header, string outcome)
    {
        using var factory = new IngestFactory();
        var (pixel, line) = await PixelAsync(factory, "uid=u1", headers: (header, "1"));
        Assert.Equal(HttpStatusCode.OK, pixel.StatusCode);
        Assert.Equal("image/gif", pixel.Content.Headers.ContentType!.MediaType);
        Assert.False(pixel.Headers.Contains("Set-Cookie"));
        Assert.Null(line);

        var (collect, body, line2) = await CollectAsync(factory, headers: (header, "1"));
        Assert.Equal(HttpStatusCode.Accepted, collect.StatusCode);
        Assert.Equal(0, body.GetProperty("accepted").GetInt32());
        Assert.Equal(1, body.GetProperty(outcome).GetInt32());
        Assert.False(collect.Headers.Contains("Set-Cookie"));
        Assert.Null(line2);
        Assert.Equal(2, await OutcomeAsync(factory, outcome));
    }

    [Theory]
    [InlineData("DNT", "anonymized_dnt")]
    [InlineData("Sec-GPC", "anonymized_gpc")]
    public async Task An_opt_out_in_anonymize_mode_keeps_the_event_without_identifiers(string header, string outcome)
    {
        using var factory = new IngestFactory(new() { ["PRIVACY_MODE"] = "anonymize", ["COOKIE_MODE"] = "on" });
        var (pixel, line) = await PixelAsync(factory, "uid=u1&sid=s1&gclid=G1&url=https%3A%2F%2Fshop.example%2F%3Ffbclid%3DF1&utm_source=news",
            headers: [(header, "1"), ("Cookie", "gt_sid=abcdefghijklmnopqrstuv")]);
        Assert.Equal(HttpStatusCode.OK, pixel.StatusCode);
        Assert.False(pixel.Headers.Contains("Set-Cookie"));
        var e = Json(line!);
        foreach (var key in new[] { "uid", "sid", "ip", "ua", "click" })
        {
            Assert.False(e.TryGetProperty(key, out _), key);
        }

        Assert.Equal("news", e.GetProperty("utm").GetProperty("source").GetString());
        Assert.Equal("Chrome", e.GetProperty("device").GetProperty("browser").GetString());
        Assert.Equal("https://shop.example/?fbclid=F1", e.GetProperty("url").GetString());

        var (collect, body, line2) = await CollectAsync(factory, "{\"uid\":\"u2\",\"sid\":\"s2\"}", headers: (header, "1"));
        Assert.Equal(HttpStatusCode.Accepted, collect.StatusCode);
        Assert.Equal(1, body.GetProperty("accepted").GetInt32());
        Assert.False(collect.Headers.Contains("Set-Cookie"));
        var e2 = Json(line2!);
        Assert.False(e2.TryGetProperty("uid", out _));
        Assert.False(e2.TryGetProperty("sid", out _));
        Assert.False(e2.TryGetProperty("ip", out _));
        Assert.Equal(2, await OutcomeAsync(factory, outcome));
    }

    [Fact]
    public async Task Opt_outs_that_are_not_respected_are_recorded_as_usual()
    {
        using var factory = new IngestFactory(new() { ["DNT_RESPECT"] = "false", ["GPC_RESPECT"] = "false" });
        var (_, dnt) = await PixelAsync(factory, "uid=u1", headers: ("DNT", "1"));
        var (_, gpc) = await PixelAsync(factory, "uid=u1", headers: ("Sec-GPC", "1"));
        Assert.Equal("u1", Json(dnt!).GetProperty("uid").GetString());
        Assert.Equal("81.2.69.160", Json(gpc!).GetProperty("ip").GetString());
    }

    [Fact]
    public async Task Dnt_0_and_gpc_0_are_not_opt_outs()
    {
        using var factory = new IngestFactory();
        var (_, line) = await PixelAsync(factory, "uid=u1", headers: [("DNT", "0"), ("Sec-GPC", "0")]);
        Assert.NotNull(line);
    }

    [Fact]
    public async Task Cookieless_mode_sets_no_cookie_and_derives_a_daily_sid_from_site_ip_and_user_agent()
    {
        var clock = new FixedClock(new DateTimeOffset(2026, 11, 27, 10, 0, 0, TimeSpan.Zero));
        using var factory = new IngestFactory(new() { ["COOKIE_MODE"] = "off", ["IP_HASH_SECRET"] = "0123456789abcdef-secret" }, clock);
        const string shop = "url=https%3A%2F%2Fshop.example%2Fa";
        var (first, a) = await PixelAsync(factory, shop);
        Assert.False(first.Headers.Contains("Set-Cookie"));
        var sid = Json(a!).GetProperty("sid").GetString()!;
        Assert.Matches("^[A-Za-z0-9_-]{22}$", sid);

        // The same visitor on another page of the same site, later that day, even with an old cookie.
        clock.Now = clock.Now.AddHours(13);
        var (_, b) = await PixelAsync(factory, "url=https%3A%2F%2FSHOP.example%2Fb%3Fx%3D1", headers: ("Cookie", "gt_sid=abcdefghijklmnopqrstuv"));
        Assert.Equal(sid, Json(b!).GetProperty("sid").GetString());

        var (_, otherIp) = await PixelAsync(factory, shop, peer: "81.2.69.161");
        var (_, otherUa) = await PixelAsync(factory, shop, ua: Chrome + " extra");
        var (_, otherSite) = await PixelAsync(factory, "url=https%3A%2F%2Fblog.example%2Fa");
        var collect = await CollectAsync(factory, "{\"url\":\"https://shop.example/c\"}");
        Assert.NotEqual(sid, Json(otherIp!).GetProperty("sid").GetString());
        Assert.NotEqual(sid, Json(otherUa!).GetProperty("sid").GetString());
        Assert.NotEqual(sid, Json(otherSite!).GetProperty("sid").GetString());
        Assert.Equal(sid, Json(collect.Line!).GetProperty("sid").GetString());

        clock.Now = clock.Now.AddHours(11);
        var (_, nextDay) = await PixelAsync(factory, shop);
        Assert.NotEqual(sid, Json(nextDay!).GetProperty("sid").GetString());

        // A client's own sid still wins.
        var (_, own) = await PixelAsync(factory, shop + "&sid=mine");
        Assert.Equal("mine", Json(own!).GetProperty("sid").GetString());
    }

    [Fact]
    public async Task Instances_sharing_the_secret_agree_on_cookieless_sids_and_ip_hashes()
    {
        var clock = new FixedClock(new DateTimeOffset(2026, 11, 27, 10, 0, 0, TimeSpan.Zero));
        var settings = new Dictionary<string, string?> { ["COOKIE_MODE"] = "off", ["IP_MODE"] = "hash", ["IP_HASH_SECRET"] = "0123456789abcdef-secret" };
        using var one = new IngestFactory(settings, clock);
        using var two = new IngestFactory(settings, clock);
        var a = Json((await PixelAsync(one, "url=https%3A%2F%2Fshop.example%2F")).Line!);
        var b = Json((await PixelAsync(two, "url=https%3A%2F%2Fshop.example%2F")).Line!);
        Assert.Equal(a.GetProperty("sid").GetString(), b.GetProperty("sid").GetString());
        Assert.Equal(a.GetProperty("ip").GetString(), b.GetProperty("ip").GetString());
        Assert.NotEqual(a.GetProperty("sid").GetString(), a.GetProperty("ip").GetString());
    }

    [Fact]
    public async Task Bots_are_flagged_by_default()
    {
        using var factory = new IngestFactory();
        var (response, line) = await PixelAsync(factory, "e=view", ua: Googlebot);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var e = Json(line!);
        Assert.True(e.GetProperty("bot").GetBoolean());
        Assert.Equal("Googlebot", e.GetProperty("device").GetProperty("browser").GetString());
        Assert.Equal("bot", e.GetProperty("device").GetProperty("type").GetString());

        var (_, human) = await PixelAsync(factory, "e=view");
        Assert.False(Json(human!).TryGetProperty("bot", out _));
    }

    [Theory]
    [InlineData("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36")]
    [InlineData("Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse")]
    [InlineData("curl/8.5.0")]
    [InlineData(Googlebot)]
    public async Task Bot_mode_drop_still_answers_the_gif_but_records_nothing(string ua)
    {
        using var factory = new IngestFactory(new() { ["BOT_MODE"] = "drop" });
        var (response, line) = await PixelAsync(factory, "e=view", ua: ua);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(43, (await response.Content.ReadAsByteArrayAsync()).Length);
        Assert.Null(line);
        var (collect, body, line2) = await CollectAsync(factory, ua: ua);
        Assert.Equal(HttpStatusCode.Accepted, collect.StatusCode);
        Assert.Equal(1, body.GetProperty("dropped_bot").GetInt32());
        Assert.Null(line2);
        Assert.Equal(2, await OutcomeAsync(factory, "dropped_bot"));
        var (_, human) = await PixelAsync(factory, "e=view");
        Assert.NotNull(human);
    }

    [Fact]
    public async Task Bot_mode_off_does_not_look()
    {
        using var factory = new IngestFactory(new() { ["BOT_MODE"] = "off" });
        var (_, line) = await PixelAsync(factory, "e=view", ua: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36");
        var e = Json(line!);
        Assert.False(e.TryGetProperty("bot", out _));
        Assert.Equal("desktop", e.GetProperty("device").GetProperty("type").GetString());
    }

    [Theory]
    // TRUST_PROXY, peer, X-Forwarded-For, expected ip
    [InlineData("true", "10.0.0.5", "1.1.1.1, 81.2.69.160, 10.0.0.9", "81.2.69.160")]
    [InlineData("true", "fd00::5", "2001:db8:cafe::17, fd00::9", "2001:db8:cafe::17")]
    [InlineData("true", "81.2.69.160", "1.1.1.1", "81.2.69.160")]
    [InlineData("false", "10.0.0.5", "81.2.69.160", "10.0.0.5")]
    public async Task The_client_ip_comes_from_trusted_proxies_only(string trust, string peer, string xff, string expected)
    {
        using var factory = new IngestFactory(new() { ["TRUST_PROXY"] = trust });
        var (_, line) = await PixelAsync(factory, "e=view", peer: peer, headers: ("X-Forwarded-For", xff));
        Assert.Equal(expected, Json(line!).GetProperty("ip").GetString());
    }

    [Fact]
    public async Task Rfc7239_forwarded_with_quoted_ipv6_and_port_through_http()
    {
        using var factory = new IngestFactory(new() { ["TRUST_PROXY"] = "true", ["FORWARDED_HEADER"] = "forwarded", ["IP_MODE"] = "truncate" });
        var (_, line) = await PixelAsync(factory, "e=view", peer: "127.0.0.1",
            headers: [("Forwarded", "for=192.0.2.1, for=\"[2001:db8:cafe:1::17]:4711\";proto=https"), ("X-Forwarded-For", "203.0.113.9")]);
        Assert.Equal("2001:db8:cafe::", Json(line!).GetProperty("ip").GetString());
    }

    [Fact]
    public async Task Campaign_parameters_and_click_ids_come_from_the_page_url_when_the_event_has_none()
    {
        using var factory = new IngestFactory();
        var url = Uri.EscapeDataString("https://shop.example/land?utm_source=google&utm_medium=cpc&utm_campaign=w%20inter&gclid=Cj0K&msclkid=m1#top");
        var (_, line) = await PixelAsync(factory, $"url={url}&utm_source=newsletter");
        var e = Json(line!);
        Assert.Equal("newsletter", e.GetProperty("utm").GetProperty("source").GetString());
        Assert.Equal("cpc", e.GetProperty("utm").GetProperty("medium").GetString());
        Assert.Equal("w inter", e.GetProperty("utm").GetProperty("campaign").GetString());
        Assert.Equal("Cj0K", e.GetProperty("click").GetProperty("gclid").GetString());
        Assert.Equal("m1", e.GetProperty("click").GetProperty("msclkid").GetString());
        Assert.False(e.GetProperty("click").TryGetProperty("fbclid", out _));

        var (_, query) = await PixelAsync(factory, "fbclid=F1&gclid=G1");
        Assert.Equal("F1", Json(query!).GetProperty("click").GetProperty("fbclid").GetString());

        var (_, _, json) = await CollectAsync(factory, "{\"url\":\"https://shop.example/?fbclid=IwAR\",\"click\":{\"gclid\":\"G2\"}}");
        var c = Json(json!).GetProperty("click");
        Assert.Equal("IwAR", c.GetProperty("fbclid").GetString());
        Assert.Equal("G2", c.GetProperty("gclid").GetString());
    }
}
