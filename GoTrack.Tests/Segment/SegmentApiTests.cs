using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using GoTrack.Core.Telemetry;
using GoTrack.Tests.Support;

namespace GoTrack.Tests.Segment;

/// <summary>Segment's tracking API through HTTP: the mapping of each message type, idempotency, clock skew, answers.</summary>
public sealed class SegmentApiTests
{
    private const string Key = "wk_test_0123456789";
    private static readonly DateTimeOffset Received = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);

    internal static HttpRequestMessage Post(string path, string json, string? key = Key, string contentType = "application/json")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(key + ":")));
        }

        request.Headers.TryAddWithoutValidation("User-Agent", "analytics-node-next/latest");
        return request;
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body)> SendAsync(IngestFactory factory, HttpRequestMessage request)
    {
        using var client = factory.CreateClient();
        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    private static async Task<JsonElement[]> EventsAsync(IngestFactory factory)
    {
        await factory.WaitDeliveredAsync();
        return [.. factory.Lines().Select(l => JsonDocument.Parse(l).RootElement.Clone())];
    }

    private static string? Str(JsonElement e, string path)
    {
        foreach (var part in path.Split('.'))
        {
            if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty(part, out e))
            {
                return null;
            }
        }

        return e.ValueKind == JsonValueKind.String ? e.GetString() : e.GetRawText();
    }

    private const string Context = """
        "context":{"ip":"81.2.69.160","userAgent":"Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0.0.0 Safari/537.36",
          "page":{"url":"https://shop.example/p?x=1","referrer":"https://news.example/","title":"P"},
          "campaign":{"name":"fall","source":"newsletter","medium":"email","term":"shoes","content":"hero"},
          "library":{"name":"analytics.js","version":"next-1.84.3"},"locale":"en-US"}
        """;

    // path, message, expected (key path in the event -> value; null means absent)
    public static TheoryData<string, string, (string, string?)[]> Mapping => new()
    {
        { "/v1/track", """{"type":"track","event":"Signed Up","userId":"u1","anonymousId":"a1","properties":{"plan":"pro","seats":3},""" + Context + "}",
            [("e", "Signed Up"), ("uid", "u1"), ("url", "https://shop.example/p?x=1"), ("ref", "https://news.example/"),
             ("ua", "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0.0.0 Safari/537.36"), ("ip", "81.2.69.160"),
             ("utm.source", "newsletter"), ("utm.medium", "email"), ("utm.campaign", "fall"), ("utm.term", "shoes"), ("utm.content", "hero"),
             ("props.plan", "pro"), ("props.seats", "3"), ("props.segment.anonymousId", "a1"), ("props.segment.type", "track"),
             ("props.segment.context.library.name", "analytics.js"), ("props.segment.context.locale", "en-US"),
             ("props.segment.context.ip", null), ("props.segment.context.userAgent", null), ("source", "web")] },
        { "/v1/t", """{"event":"Clicked","anonymousId":"a1"}""", [("e", "Clicked"), ("uid", null), ("props.segment.type", "track"), ("props.segment.anonymousId", "a1")] },
        { "/v1/page", """{"type":"page","name":"Home","category":"Docs","anonymousId":"a1","properties":{"url":"https://shop.example/","referrer":""}}""",
            [("e", "pageview"), ("url", "https://shop.example/"), ("ref", null), ("props.url", "https://shop.example/"), ("props.segment.name", "Home"), ("props.segment.category", "Docs")] },
        { "/v1/p", """{"anonymousId":"a1",""" + Context + "}", [("e", "pageview"), ("url", "https://shop.example/p?x=1"), ("ref", "https://news.example/")] },
        { "/v1/screen", """{"type":"screen","name":"Settings","userId":"u2","properties":{"tab":"billing"}}""",
            [("e", "screen"), ("uid", "u2"), ("props.tab", "billing"), ("props.segment.name", "Settings")] },
        { "/v1/identify", """{"type":"identify","userId":42,"traits":{"email":"ada@example.com","plan":"team"}}""",
            [("e", "identify"), ("uid", "42"), ("props.email", "ada@example.com"), ("props.plan", "team")] },
        { "/v1/i", """{"userId":"u3","traits":{"name":"Ada"}}""", [("e", "identify"), ("uid", "u3"), ("props.name", "Ada")] },
        { "/v1/group", """{"type":"group","userId":"u1","groupId":"g7","traits":{"employees":12}}""",
            [("e", "group"), ("uid", "u1"), ("props.employees", "12"), ("props.segment.groupId", "g7")] },
        { "/v1/alias", """{"type":"alias","userId":"u1","previousId":"a1"}""", [("e", "alias"), ("uid", "u1"), ("props.segment.previousId", "a1")] },
        { "/v1/track", """{"type":"track","event":"X","properties":{"segment":"mine"},"anonymousId":"a"}""",
            [("props.segment", "mine"), ("props.segment_message.anonymousId", "a")] },
        { "/v1/g", """{"userId":"u1","groupId":"g8","traits":{"name":"Acme"}}""", [("e", "group"), ("props.name", "Acme"), ("props.segment.groupId", "g8")] },
        { "/v1/a", """{"userId":"u2","previousId":"a9"}""", [("e", "alias"), ("uid", "u2"), ("props.segment.previousId", "a9")] },
        { "/v1/s", """{"name":"Home","anonymousId":"a1","properties":{"variant":"b"}}""", [("e", "screen"), ("props.variant", "b"), ("props.segment.name", "Home")] },

        // Nothing is dropped: what is not mapped to a field stays under props.segment.
        { "/v1/identify", """{"type":"identify","userId":"u","traits":{"plan":"pro"},"properties":{"p":2}}""",
            [("props.plan", "pro"), ("props.p", null), ("props.segment.properties.p", "2"), ("props.segment.traits", null)] },
        { "/v1/group", """{"type":"group","groupId":"g","traits":{"n":1},"properties":{"p":2},"event":"ignored"}""",
            [("e", "group"), ("props.n", "1"), ("props.segment.properties.p", "2"), ("props.segment.event", "ignored")] },
        { "/v1/track", """{"type":"track","event":"E","traits":{"t":1},"properties":{"p":2}}""",
            [("props.p", "2"), ("props.segment.traits.t", "1"), ("props.segment.properties", null), ("props.segment.event", null)] },
        { "/v1/page", """{"type":"page","event":"Viewed","traits":{"t":1},"properties":{"p":2}}""",
            [("e", "pageview"), ("props.p", "2"), ("props.segment.event", "Viewed"), ("props.segment.traits.t", "1")] },
        { "/v1/track", """{"type":"track","event":"E","properties":"text","context":"ctx"}""",
            [("props.segment.properties", "text"), ("props.segment.context", "ctx")] },
        { "/v1/identify", """{"type":"identify","userId":{"id":7},"traits":[1,2]}""",
            [("uid", null), ("props.segment.userId.id", "7"), ("props.segment.traits", "[1,2]")] },
        { "/v1/track", """{"type":"track","event":"E","userId":true,"writeKey":"wk_in_message_012"}""",
            [("uid", null), ("props.segment.userId", "true"), ("props.segment.writeKey", null)] },
        { "/v1/track", """{"type":"track","event":"E","userId":"u9"}""", [("uid", "u9"), ("props.segment.userId", null)] },

        // The sender's address is never stored as sent: parsed it is the event's ip (IP_MODE), unparseable it is not kept.
        { "/v1/track", """{"type":"track","event":"E","context":{"ip":"81.2.69.300","locale":"de"}}""",
            [("ip", null), ("props.segment.context.ip", null), ("props.segment.context.locale", "de")] },
    };

    [Theory]
    [MemberData(nameof(Mapping))]
    public async Task Each_message_type_maps_to_the_event_model(string path, string message, (string, string?)[] expected)
    {
        using var factory = new IngestFactory(new() { ["WRITE_KEYS"] = Key + ":web" });
        var (status, body) = await SendAsync(factory, Post(path, message));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(body.GetProperty("success").GetBoolean());
        var e = Assert.Single(await EventsAsync(factory));
        foreach (var (key, value) in expected)
        {
            Assert.True(value == Str(e, key), $"{key}: expected {value ?? "(absent)"}, got {Str(e, key) ?? "(absent)"} in {e}");
        }
    }

    [Fact]
    public async Task A_batch_of_mixed_messages_lands_once_each_and_reports_the_invalid_ones()
    {
        using var factory = new IngestFactory();
        var batch = """
            {"batch":[
              {"type":"track","event":"A","anonymousId":"x","messageId":"m-1"},
              {"type":"page","anonymousId":"x","messageId":"m-2"},
              {"type":"track","anonymousId":"x"},
              {"type":"nonsense"},
              {"type":"identify","userId":"u","messageId":"m-3"}
            ],"sentAt":"2026-11-30T12:00:00Z","context":{"library":{"name":"analytics-node","version":"3.1.0"}}}
            """;
        var (status, body) = await SendAsync(factory, Post("/v1/batch", batch, key: null));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(3, body.GetProperty("accepted").GetInt32());
        var rejected = body.GetProperty("rejected").EnumerateArray().Select(r => (r.GetProperty("index").GetInt32(), r.GetProperty("reason").GetString())).ToArray();
        Assert.Equal([(2, "a track message needs an event name"), (3, "unknown message type 'nonsense'")], rejected);
        var events = await EventsAsync(factory);
        Assert.Equal(["A", "pageview", "identify"], events.Select(e => Str(e, "e")));
        Assert.All(events, e => Assert.Equal("analytics-node", Str(e, "props.segment.context.library.name")));
        Assert.Null(Str(events[0], "source"));
    }

    [Fact]
    public async Task A_batch_s_context_and_integrations_apply_to_messages_without_their_own_and_the_rest_of_it_is_kept()
    {
        using var factory = new IngestFactory(new() { ["WRITE_KEYS"] = Key + ":web" });
        var batch = $$$"""
            {"batch":[
              {"type":"track","event":"Plain","anonymousId":"x"},
              {"type":"track","event":"Own","anonymousId":"x","context":{"library":{"name":"own"},"ip":"89.160.20.128"},"integrations":{"Mine":true}}
            ],"context":{"library":{"name":"batch-lib"},"ip":"81.2.69.160","userAgent":"BatchAgent/1.0"},"integrations":{"All":false},
             "sentAt":"2026-11-30T12:00:00Z","writeKey":"{{{Key}}}","extra":{"k":1}}
            """;
        var (status, body) = await SendAsync(factory, Post("/v1/b", batch, key: null, contentType: "text/plain"));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(2, body.GetProperty("accepted").GetInt32());
        var events = await EventsAsync(factory);
        var plain = events.Single(e => Str(e, "e") == "Plain");
        var own = events.Single(e => Str(e, "e") == "Own");

        // The message without a context takes the batch's (its ip and user agent are the event's).
        Assert.Equal("batch-lib", Str(plain, "props.segment.context.library.name"));
        Assert.Equal("81.2.69.160", Str(plain, "ip"));
        Assert.Equal("BatchAgent/1.0", Str(plain, "ua"));
        Assert.Equal("""{"All":false}""", Str(plain, "props.segment.integrations"));
        Assert.Equal("""{"sentAt":"2026-11-30T12:00:00Z","extra":{"k":1}}""", Str(plain, "props.segment.batch"));

        // The message with its own keeps its own, and the batch's that it overrode is kept beside it (without address or agent).
        Assert.Equal("own", Str(own, "props.segment.context.library.name"));
        Assert.Equal("89.160.20.128", Str(own, "ip"));
        Assert.Equal("""{"Mine":true}""", Str(own, "props.segment.integrations"));
        Assert.Equal("""{"context":{"library":{"name":"batch-lib"}},"integrations":{"All":false},"sentAt":"2026-11-30T12:00:00Z","extra":{"k":1}}""", Str(own, "props.segment.batch"));
        Assert.All(factory.Lines(), l => Assert.DoesNotContain("wk_", l, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Under_anonymize_the_identifiers_kept_under_props_segment_are_scrubbed_too()
    {
        using var factory = new IngestFactory(new() { ["PRIVACY_MODE"] = "anonymize" });
        var batch = """
            {"batch":[
              {"type":"track","event":"E","userId":{"id":"u-object"},"anonymousId":"anon-1","traits":{"email":"ada@example.com"},
               "context":{"ip":"81.2.69.160","userAgent":"Agent/1","traits":{"email":"ada@example.com"},"locale":"de"}}
            ],"context":{"traits":{"email":"ada@example.com"},"ip":"89.160.20.128"}}
            """;
        using var request = Post("/v1/batch", batch, key: null);
        request.Headers.Add("DNT", "1");
        var (status, _) = await SendAsync(factory, request);
        Assert.Equal(HttpStatusCode.OK, status);
        var e = Assert.Single(await EventsAsync(factory));
        Assert.Equal("de", Str(e, "props.segment.context.locale"));
        var line = Assert.Single(factory.Lines());
        foreach (var identifier in new[] { "u-object", "anon-1", "ada@example.com", "Agent/1", "81.2.69.160", "89.160.20.128" })
        {
            Assert.DoesNotContain(identifier, line, StringComparison.Ordinal);
        }
    }

    /// <summary>context.page.referrer follows the referrer rule with the request's Referer header (README, "The referrer").</summary>
    [Theory]
    [InlineData("\"\"", "https://news.example/", null)] // sent empty: no referrer, the header is not taken
    [InlineData("null", "https://news.example/", null)]
    [InlineData(null, "https://shop.example/p?x=1", null)] // absent: a header that is the page itself is no referrer
    [InlineData(null, "https://shop.example/", null)] // nor is the page's origin
    [InlineData(null, "https://news.example/a", "https://news.example/a")] // another page's header stands in
    [InlineData("\"https://g.example/\"", "https://news.example/a", "https://g.example/")] // the client's word beats the header
    public async Task The_page_referrer_follows_the_referrer_rule_with_the_Referer_header(string? referrer, string header, string? expected)
    {
        using var factory = new IngestFactory();
        var page = referrer is null ? """{"url":"https://shop.example/p?x=1"}""" : $$"""{"url":"https://shop.example/p?x=1","referrer":{{referrer}}}""";
        using var request = Post("/v1/t", "{\"event\":\"E\",\"anonymousId\":\"a\",\"context\":{\"page\":" + page + "}}", key: null);
        request.Headers.Referrer = new Uri(header);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(factory, request)).Status);
        var e = Assert.Single(await EventsAsync(factory));
        Assert.Equal("https://shop.example/p?x=1", Str(e, "url"));
        Assert.Equal(expected, Str(e, "ref"));
    }

    [Fact]
    public async Task A_messageId_that_is_a_uuid_is_the_event_id_and_any_other_becomes_a_v5_of_key_and_id()
    {
        using var factory = new IngestFactory(new() { ["WRITE_KEYS"] = Key + ":web,wk_other_0123456789:app" });
        const string uuid = "0190f3c2-7a1b-4c3d-8e4f-112233445566";
        await SendAsync(factory, Post("/v1/track", $$"""{"event":"A","anonymousId":"x","messageId":"{{uuid}}"}"""));
        await SendAsync(factory, Post("/v1/track", """{"event":"A","anonymousId":"x","messageId":"ajs-next-1700000000000-abc"}"""));
        await SendAsync(factory, Post("/v1/track", """{"event":"A","anonymousId":"x","messageId":"ajs-next-1700000000000-abc"}"""));
        await SendAsync(factory, Post("/v1/track", """{"event":"A","anonymousId":"x","messageId":"ajs-next-1700000000000-abc"}""", key: "wk_other_0123456789"));
        var ids = (await EventsAsync(factory)).Select(e => Guid.Parse(Str(e, "event_id")!)).ToArray();
        Assert.Equal(Guid.Parse(uuid), ids[0]);
        Assert.Equal(5, ids[1].Version);
        Assert.Equal(ids[1], ids[2]); // an SDK's retry: the same event_id, so every sink keeps one
        Assert.NotEqual(ids[1], ids[3]); // another source's messageId is another event
        Assert.Equal(GoTrack.Ingest.Segment.SegmentMessage.NameBased(Key, "ajs-next-1700000000000-abc"), ids[1]);
    }

    [Fact]
    public void The_v5_id_is_RFC_9562_s()
    {
        // RFC 9562, appendix A.4: the DNS namespace and "www.example.com".
        var id = GoTrack.Ingest.Segment.SegmentMessage.NameBased(Guid.Parse("6ba7b810-9dad-11d1-80b4-00c04fd430c8"), "www.example.com");
        Assert.Equal(Guid.Parse("2ed6657d-e927-568b-95e1-2665a8aea6a2"), id);
    }

    [Theory]
    [InlineData("2026-11-30T11:00:00.000Z", "2026-11-30T11:00:05.000Z", "2026-11-30T11:59:55.000Z", false)] // client clock 1 h slow
    [InlineData("2026-12-03T12:00:00.000Z", "2026-12-03T12:00:01.000Z", "2026-11-30T11:59:59.000Z", false)] // 3 days fast, corrected
    [InlineData("2026-12-03T12:00:00.000Z", null, "2026-11-30T12:00:00.000Z", true)] // 3 days fast, no sentAt: clamped
    [InlineData("2026-11-30T11:00:00.000Z", null, "2026-11-30T11:00:00.000Z", false)]
    [InlineData("1970-01-01T00:00:00.000Z", "1970-01-01T00:00:00.000Z", "2026-11-30T12:00:00.000Z", false)] // dead clock, corrected by sentAt
    [InlineData("1970-01-01T00:00:00.000Z", null, "2026-11-30T12:00:00.000Z", true)]
    [InlineData("2026-11-30T12:00:02.000Z", null, "2026-11-30T12:00:00.000Z", false)] // 2 s fast: ordinary skew, not a clamp
    [InlineData("2026-11-30T12:05:00.000Z", null, "2026-11-30T12:00:00.000Z", false)] // SegmentMessage.FutureTolerance ahead
    [InlineData("2026-11-30T12:05:00.001Z", null, "2026-11-30T12:00:00.000Z", true)] // beyond it: a broken clock
    [InlineData("2026-11-30T12:00:10.000Z", "2026-11-30T12:00:00.000Z", "2026-11-30T12:00:00.000Z", false)] // timestamp after sentAt
    public async Task The_client_time_is_corrected_for_skew_and_absurd_values_are_clamped_and_counted(string timestamp, string? sentAt, string expected, bool clamped)
    {
        using var factory = new IngestFactory(clock: new FixedClock(Received));
        var sent = sentAt is null ? string.Empty : $",\"sentAt\":\"{sentAt}\"";
        await SendAsync(factory, Post("/v1/track", $$"""{"event":"A","anonymousId":"x","timestamp":"{{timestamp}}"{{sent}}}""", key: null));
        var e = Assert.Single(await EventsAsync(factory));
        Assert.Equal(expected, Str(e, "client_ts"));
        Assert.Equal("2026-11-30T12:00:00.000Z", Str(e, "ts"));
        Assert.Equal(clamped ? 1 : 0, factory.Counter("gotrack.client_ts_clamped")); // this host's own count (see HostMeter)
        Assert.Contains("gotrack_client_ts_clamped_total{otel_scope_name=\"GoTrack\"} ", await Metrics(factory), StringComparison.Ordinal);
    }

    private static async Task<string> Metrics(IngestFactory factory)
    {
        using var client = factory.CreateClient();
        return await client.GetStringAsync("/metrics");
    }

    [Fact]
    public async Task Answers_are_what_the_SDKs_expect()
    {
        using var factory = new IngestFactory(new() { ["MAX_BATCH_EVENTS"] = "3" });
        Assert.Equal(HttpStatusCode.BadRequest, (await SendAsync(factory, Post("/v1/track", "{nope", key: null))).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await SendAsync(factory, Post("/v1/track", """{"anonymousId":"x"}""", key: null))).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await SendAsync(factory, Post("/v1/track", """{"event":"","anonymousId":"x"}""", key: null))).Status); // not a pageview
        Assert.Equal(HttpStatusCode.BadRequest, (await SendAsync(factory, Post("/v1/batch", """{"messages":[]}""", key: null))).Status);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await SendAsync(factory, Post("/v1/batch", """{"batch":[{},{},{},{}]}""", key: null))).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(factory, Post("/v1/nothing", "{}", key: null))).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await SendAsync(factory, Post("/v1/track", """{"event":"e","\ud800":"x"}""", key: null))).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await SendAsync(factory, Post("/v1/track", """{"event":"\udc00"}""", key: null))).Status);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await SendAsync(factory, Post("/v1/t", """{"event":"A"}""", key: null, contentType: "application/xml"))).Status);
        var (status, body) = await SendAsync(factory, Post("/v1/t", """{"event":"A","anonymousId":"x"}""", key: null, contentType: "text/plain"));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(1, body.GetProperty("accepted").GetInt32());

        // A browser on any origin may send (Segment's API allows it); the preflight allows its Authorization header.
        using var client = factory.CreateClient();
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/v1/t");
        preflight.Headers.Add("Origin", "https://shop.example");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "authorization,content-type");
        using var answer = await client.SendAsync(preflight);
        Assert.Equal(HttpStatusCode.NoContent, answer.StatusCode);
        Assert.Equal("*", answer.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Contains("Authorization", answer.Headers.GetValues("Access-Control-Allow-Headers").Single(), StringComparison.Ordinal);
        Assert.Equal(1, factory.Outcome(EventOutcomes.Accepted));
        Assert.Equal(4, factory.Outcome(EventOutcomes.Invalid));
    }

    [Fact]
    public async Task A_gzip_batch_is_taken_as_a_server_SDK_would_send_it()
    {
        using var factory = new IngestFactory();
        var json = "{\"batch\":[" + string.Join(',', Enumerable.Range(0, 300).Select(i => $$"""{"type":"track","event":"E{{i}}","anonymousId":"a","messageId":"m-{{i}}"}""")) + "]}";
        using var request = Post("/v1/batch", "", key: null);
        request.Content = Gzip(Encoding.UTF8.GetBytes(json));
        var (status, body) = await SendAsync(factory, request);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(300, body.GetProperty("accepted").GetInt32());
        var events = await EventsAsync(factory);
        Assert.Equal((300, 300), (events.Length, events.Select(e => Str(e, "event_id")).Distinct().Count()));
    }

    internal static ByteArrayContent Gzip(byte[] bytes, string encoding = "gzip")
    {
        var output = new MemoryStream();
        using (Stream zip = encoding == "gzip" ? new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true) : new ZLibStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            zip.Write(bytes);
        }

        var content = new ByteArrayContent(output.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        content.Headers.ContentEncoding.Add(encoding);
        return content;
    }
}
