using System.Text;
using GoTrack.Tests.Support;

namespace GoTrack.Tests.Golden;

/// <summary>
/// Requests through the real HTTP pipeline, with a fixed clock and client-chosen ids, must produce the
/// golden NDJSON byte for byte. Set GOTRACK_UPDATE_GOLDEN=1 to rewrite the files after a deliberate change.
/// </summary>
public sealed class GoldenNdjsonTests
{
    private static readonly FixedClock Clock = new(new DateTimeOffset(2026, 11, 27, 8, 30, 0, 123, TimeSpan.Zero));

    private static async Task<string> RunAsync(Func<HttpClient, Task> send, Dictionary<string, string?>? settings = null)
    {
        using var factory = new IngestFactory(settings, clock: Clock);
        using var client = factory.CreateClient(new() { HandleCookies = false });
        client.DefaultRequestHeaders.UserAgent.ParseAdd("GoldenAgent/1.0");
        client.DefaultRequestHeaders.Add("Cookie", "gt_sid=GoldenSessionValue0000");
        await send(client);
        await factory.WaitDeliveredAsync();
        return await File.ReadAllTextAsync(factory.LogPath);
    }

    private static void AssertGolden(string name, string actual)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Golden", name);
        if (Environment.GetEnvironmentVariable("GOTRACK_UPDATE_GOLDEN") == "1")
        {
            var source = Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "Golden", name);
            File.WriteAllText(source, actual);
            Assert.Fail($"Golden/{name} rewritten; run again without GOTRACK_UPDATE_GOLDEN to compare");
        }

        Assert.Equal(File.ReadAllText(path), actual);
    }

    [Fact]
    public async Task Pixel_requests_produce_the_golden_lines()
    {
        var actual = await RunAsync(async client =>
        {
            foreach (var query in new[]
            {
                "?event_id=01937a3c-0000-7000-8000-000000000001&e=pageview&url=https%3A%2F%2Fshop.example.com%2Fproducts%2F42%3Fcolor%3Dred&ref=https%3A%2F%2Fwww.google.com%2F&uid=u_1234567&utm_source=newsletter&utm_medium=email&utm_campaign=fall_sale&plan=pro",
                "?event_id=01937a3c-0000-7000-8000-000000000002&e=click&target=buy%20now&price=9.99&emoji=%F0%9F%98%80&quote=%22hi%22",
                "?event_id=01937a3c-0000-7000-8000-000000000003",
            })
            {
                using var r = await client.GetAsync("/px.gif" + query);
                Assert.True(r.IsSuccessStatusCode);
            }
        });
        AssertGolden("pixel.ndjson", actual);
    }

    /// <summary>One message of each Segment type, as the SDKs send them (UUID messageIds keep the lines stable).</summary>
    [Fact]
    public async Task Segment_messages_produce_the_golden_lines()
    {
        const string context = """
            "context":{"ip":"81.2.69.160","userAgent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
              "page":{"path":"/pricing","referrer":"https://www.google.com/","search":"?utm_source=ads","title":"Pricing","url":"https://shop.example.com/pricing?utm_source=ads"},
              "campaign":{"source":"ads","name":"winter"},"library":{"name":"analytics.js","version":"next-1.84.3"},"locale":"en-GB","timezone":"Europe/London"}
            """;
        var messages = new[]
        {
            ("/v1/t", """{"type":"track","event":"Order Completed","userId":"u_1","anonymousId":"anon-1","messageId":"01937a3c-0000-7000-8000-0000000000a1","properties":{"orderId":"o-9","revenue":42.5,"currency":"EUR"},"timestamp":"2026-11-27T08:29:58.000Z","sentAt":"2026-11-27T08:30:00.000Z",""" + context + "}"),
            ("/v1/p", """{"type":"page","anonymousId":"anon-1","messageId":"01937a3c-0000-7000-8000-0000000000a2","properties":{"path":"/pricing","title":"Pricing"},"timestamp":"2026-11-27T08:29:59.500Z","sentAt":"2026-11-27T08:30:00.000Z",""" + context + "}"),
            ("/v1/screen", """{"type":"screen","name":"Settings","userId":"u_1","messageId":"01937a3c-0000-7000-8000-0000000000a3","properties":{"tab":"billing"},"context":{"library":{"name":"analytics-ios","version":"4.1.0"},"ip":"89.160.20.128"}}"""),
            ("/v1/identify", """{"type":"identify","userId":"u_1","anonymousId":"anon-1","messageId":"01937a3c-0000-7000-8000-0000000000a4","traits":{"plan":"team","createdAt":"2026-01-02T00:00:00Z"}}"""),
            ("/v1/group", """{"type":"group","userId":"u_1","groupId":"acme","messageId":"01937a3c-0000-7000-8000-0000000000a5","traits":{"employees":120}}"""),
            ("/v1/alias", """{"type":"alias","userId":"u_1","previousId":"anon-1","messageId":"01937a3c-0000-7000-8000-0000000000a6"}"""),
        };
        var actual = await RunAsync(async client =>
        {
            foreach (var (path, json) in messages)
            {
                using var r = await client.PostAsync(path, new StringContent(json, Encoding.UTF8, "text/plain"));
                Assert.True(r.IsSuccessStatusCode, path);
            }
        });
        AssertGolden("segment.ndjson", actual);
    }

    [Fact]
    public async Task Collect_requests_produce_the_golden_lines()
    {
        var actual = await RunAsync(async client =>
        {
            const string batch = """
                [
                  {"event_id":"01937a3c-0000-7000-8000-000000000011","e":"signup","uid":"u-9","url":"https://app.example/join","utm":{"source":"ads","campaign":"q4"},"props":{"plan":"team","seats":5,"trial":true,"tags":["a","b"]}},
                  {"event_id":"01937a3c-0000-7000-8000-000000000012","e":"purchase","props":{"amount":129.5,"currency":"EUR","items":[{"sku":"X-1","qty":2}]},"coupon":"FALL"},
                  {"event_id":"01937a3c-0000-7000-8000-000000000013","sid":"explicit-session","ref":"https://ref.example/","ip":"1.2.3.4"}
                ]
                """;
            using var r = await client.PostAsync("/collect", new StringContent(batch, Encoding.UTF8, "text/plain"));
            Assert.True(r.IsSuccessStatusCode);
        });
        AssertGolden("collect.ndjson", actual);
    }

    /// <summary>
    /// Enrichment and privacy together, all deterministic: a fixed IP_HASH_SECRET, the test GeoIP database,
    /// real user agents, client addresses behind a trusted proxy, cookieless sessions and campaign ids
    /// from the page URL.
    /// </summary>
    [Fact]
    public async Task Enriched_privacy_mode_requests_produce_the_golden_lines()
    {
        using var dir = new TempDir();
        var geo = dir.File("GeoLite2-City.mmdb");
        await File.WriteAllBytesAsync(geo, MmdbWriter.CityFixture());
        var settings = new Dictionary<string, string?>
        {
            ["IP_MODE"] = "hash", ["IP_HASH_SECRET"] = "golden-secret-0123456789", ["COOKIE_MODE"] = "off",
            ["TRUST_PROXY"] = "true", ["GEOIP_DB"] = geo,
        };
        var actual = await RunAsync(async client =>
        {
            foreach (var (query, ip, ua) in new[]
            {
                ("?event_id=01937a3c-0000-7000-8000-000000000021&url=https%3A%2F%2Fshop.example.com%2Fland%3Futm_source%3Dgoogle%26utm_medium%3Dcpc%26gclid%3DCj0KCQ", "81.2.69.160",
                    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"),
                ("?event_id=01937a3c-0000-7000-8000-000000000022&url=https%3A%2F%2Fshop.example.com%2Fcart&e=add_to_cart", "2001:db8:cafe:1::17",
                    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.70"),
                ("?event_id=01937a3c-0000-7000-8000-000000000023&url=https%3A%2F%2Fshop.example.com%2F", "89.160.20.128",
                    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"),
            })
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, "/px.gif" + query);
                request.Headers.Add(IngestFactory.PeerHeader, "10.0.0.5");
                request.Headers.Add("X-Forwarded-For", "6.6.6.6, " + ip);
                request.Headers.Remove("User-Agent");
                request.Headers.TryAddWithoutValidation("User-Agent", ua);
                using var r = await client.SendAsync(request);
                Assert.True(r.IsSuccessStatusCode);
            }
        }, settings);
        AssertGolden("privacy.ndjson", actual);
    }
}
