using System.IO.Compression;
using System.Net;
using System.Text;
using System.Text.Json;
using GoTrack.Core.Telemetry;
using GoTrack.Ingest.Configuration;
using GoTrack.Ingest.Intake;
using GoTrack.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Time.Testing;

namespace GoTrack.Tests.Segment;

/// <summary>Write keys, compressed bodies and rate limits, on every intake endpoint.</summary>
public sealed class IntakeGateTests
{
    private const string Web = "wk_web_0123456789";
    private const string App = "wk_app_0123456789";
    private static readonly Dictionary<string, string?> Keys = new() { ["WRITE_KEYS"] = $"{Web}:web,{App}:app" };

    private static async Task<HttpResponseMessage> Pixel(IngestFactory factory, string query, string peer = "81.2.69.160")
    {
        using var client = factory.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/px.gif?" + query);
        request.Headers.Add(IngestFactory.PeerHeader, peer);
        return await client.SendAsync(request);
    }

    private static async Task<HttpResponseMessage> Collect(IngestFactory factory, string pathAndQuery, HttpContent content, string peer = "81.2.69.160")
    {
        using var client = factory.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, pathAndQuery) { Content = content };
        request.Headers.Add(IngestFactory.PeerHeader, peer);
        return await client.SendAsync(request);
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    [Fact]
    public async Task With_WRITE_KEYS_every_endpoint_refuses_a_missing_or_unknown_key_and_records_the_source()
    {
        using var factory = new IngestFactory(Keys);
        using (var none = await Pixel(factory, "e=x"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
            Assert.Equal("image/gif", none.Content.Headers.ContentType!.MediaType);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, (await Pixel(factory, "e=x&write_key=wk_nope_0123456789")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Pixel(factory, $"e=px&write_key={Web}")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Collect(factory, "/collect", Json("{\"e\":\"c\"}"))).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await Collect(factory, $"/collect?write_key={App}", Json("{\"e\":\"c\",\"write_key\":\"x\",\"source\":\"forged\"}"))).StatusCode);
        using var unknown = SegmentApiTests.Post("/v1/t", """{"event":"s","anonymousId":"a"}""", key: "wk_nope_0123456789");
        Assert.Equal(HttpStatusCode.Unauthorized, (await Collect(factory, "/v1/t", unknown.Content!)).StatusCode);
        using var inBody = Json($$"""{"event":"s","anonymousId":"a","writeKey":"{{App}}"}""");
        Assert.Equal(HttpStatusCode.OK, (await Collect(factory, "/v1/t", inBody)).StatusCode);

        await factory.WaitDeliveredAsync();
        var events = factory.Lines().Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        Assert.Equal([("px", "web"), ("c", "app"), ("s", "app")], events.Select(e => (e.GetProperty("e").GetString(), e.GetProperty("source").GetString())));
        Assert.All(factory.Lines(), l => Assert.DoesNotContain("wk_", l, StringComparison.Ordinal)); // a key is never stored
        Assert.Equal(4, factory.Outcome(EventOutcomes.UnknownWriteKey));
        Assert.Equal(3, factory.Outcome(EventOutcomes.Accepted));
    }

    [Theory]
    [InlineData("a,b:c", "WRITE_KEYS: entry 1")]
    [InlineData("wk_0123456789", "WRITE_KEYS: entry 1: write 'key:source'")]
    [InlineData("wk_0123456789:web,wk_0123456789:app", "WRITE_KEYS: entry 2: the key is listed twice")]
    [InlineData("@/nonexistent/keys", "WRITE_KEYS: file '/nonexistent/keys' does not exist")]
    public void Bad_WRITE_KEYS_fail_the_start(string value, string error)
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection([new("WRITE_KEYS", value)]).Build();
        IngestSettings.Load(config, out var errors);
        Assert.StartsWith(error, Assert.Single(errors), StringComparison.Ordinal);
    }

    [Fact]
    public void RATE_LIMIT_KEY_PER_SEC_without_WRITE_KEYS_fails_the_start_naming_both()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection([new("RATE_LIMIT_KEY_PER_SEC", "5")]).Build();
        IngestSettings.Load(config, out var errors);
        var error = Assert.Single(errors);
        Assert.StartsWith("RATE_LIMIT_KEY_PER_SEC", error, StringComparison.Ordinal);
        Assert.Contains("needs WRITE_KEYS", error, StringComparison.Ordinal);

        var withKeys = new ConfigurationBuilder().AddInMemoryCollection([new("RATE_LIMIT_KEY_PER_SEC", "5"), new("WRITE_KEYS", Web + ":web")]).Build();
        IngestSettings.Load(withKeys, out var none);
        Assert.Empty(none);
        Assert.Contains("needs WRITE_KEYS", IngestSettings.HelpText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_Segment_API_refuses_a_request_without_any_key_takes_deflate_and_refuses_other_encodings()
    {
        using var factory = new IngestFactory(Keys);
        using (var noKey = SegmentApiTests.Post("/v1/batch", """{"batch":[{"type":"track","event":"a","anonymousId":"x"},{"type":"track","event":"b","anonymousId":"x"}]}""", key: null))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await Collect(factory, "/v1/batch", noKey.Content!)).StatusCode);
        }

        var batch = Encoding.UTF8.GetBytes($$"""{"batch":[{"type":"track","event":"d","anonymousId":"x"}],"writeKey":"{{Web}}"}""");
        using (var deflate = await Collect(factory, "/v1/batch", SegmentApiTests.Gzip(batch, "deflate")))
        {
            Assert.Equal(HttpStatusCode.OK, deflate.StatusCode);
        }

        var brotli = Json($$"""{"event":"b","anonymousId":"x","writeKey":"{{Web}}"}""");
        brotli.Headers.ContentEncoding.Add("br");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await Collect(factory, "/v1/t", brotli)).StatusCode);

        await factory.WaitDeliveredAsync();
        Assert.Equal(["d"], factory.Lines().Select(l => JsonDocument.Parse(l).RootElement.GetProperty("e").GetString()));
        Assert.Equal(2, factory.Outcome(EventOutcomes.UnknownWriteKey));
        Assert.Equal(1, factory.Outcome(EventOutcomes.Accepted));
    }

    /// <summary>
    /// An unknown key in Basic auth (where Segment's SDKs send it) is refused before the body is read: an
    /// unauthenticated client does not get MAX_BODY_BYTES of reading and inflating per request. The body here
    /// is not even JSON, and the answer is still 401, counted once.
    /// </summary>
    [Fact]
    public async Task On_v1_an_unknown_Basic_auth_key_is_refused_before_the_body_is_read()
    {
        using var factory = new IngestFactory(Keys);
        using var client = factory.CreateClient();
        using var request = SegmentApiTests.Post("/v1/batch", "{\"batch\": [ not json at all", key: "wk_nope_0123456789");
        using var answer = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, answer.StatusCode);
        Assert.Equal(1, factory.Outcome(EventOutcomes.UnknownWriteKey));

        // A known key in Basic auth goes on to the body, which is then refused for what it is.
        using var known = SegmentApiTests.Post("/v1/batch", "{\"batch\": [ not json at all", key: Web);
        using var malformed = await client.SendAsync(known);
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.Equal(1, factory.Outcome(EventOutcomes.UnknownWriteKey));
    }

    [Fact]
    public async Task On_v1_batch_the_address_and_key_limits_refuse_with_429_and_count_every_message()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var factory = new IngestFactory(new(Keys) { ["RATE_LIMIT_IP_PER_SEC"] = "10", ["RATE_LIMIT_KEY_PER_SEC"] = "6" }, clock);
        static string Batch(int n, string? bodyKey = null) =>
            "{\"batch\":[" + string.Join(',', Enumerable.Range(0, n).Select(i => $$"""{"type":"track","event":"e{{i}}","anonymousId":"x"}""")) + "]"
            + (bodyKey is null ? "" : $",\"writeKey\":\"{bodyKey}\"") + "}";
        using (var first = await SendWithKey(factory, Batch(4), "81.2.69.160", Web))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode); // address A 6 left, key web 2 left
        }

        using (var overKey = await SendWithKey(factory, Batch(3, Web), "89.160.20.128", null))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, overKey.StatusCode); // key web (from the body) has 2
            Assert.Equal("1", overKey.Headers.GetValues("Retry-After").Single());
        }

        using (var overAddress = await SendWithKey(factory, Batch(7), "81.2.69.160", App))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, overAddress.StatusCode); // address A has 6
            Assert.Equal("1", overAddress.Headers.GetValues("Retry-After").Single());
        }

        using (var fits = await SendWithKey(factory, Batch(6), "81.2.69.160", App))
        {
            Assert.Equal(HttpStatusCode.OK, fits.StatusCode);
        }

        clock.Advance(TimeSpan.FromSeconds(1));
        using (var refilled = await SendWithKey(factory, Batch(3, Web), "89.160.20.128", null))
        {
            Assert.Equal(HttpStatusCode.OK, refilled.StatusCode);
        }

        Assert.Equal(4 + 6 + 3, factory.Outcome(EventOutcomes.Accepted));
        Assert.Equal(3 + 7, factory.Outcome(EventOutcomes.RateLimited));
    }

    private static async Task<HttpResponseMessage> SendWithKey(IngestFactory factory, string json, string peer, string? basicKey)
    {
        using var client = factory.CreateClient();
        using var request = SegmentApiTests.Post("/v1/batch", json, key: basicKey);
        request.Headers.Add(IngestFactory.PeerHeader, peer);
        return await client.SendAsync(request);
    }

    [Fact]
    public void WRITE_KEYS_may_come_from_a_file()
    {
        using var dir = new TempDir();
        var path = dir.File("keys");
        File.WriteAllText(path, $"# sources\n{Web}:web\n\n{App} : app\n");
        var keys = WriteKeys.Parse("@" + path, out var error);
        Assert.Null(error);
        Assert.True(keys.TryGetSource(App, out var source));
        Assert.Equal("app", source);
        Assert.Equal(2, keys.Count);
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("deflate")]
    public async Task Collect_takes_a_compressed_body(string encoding)
    {
        using var factory = new IngestFactory();
        using var response = await Collect(factory, "/collect", SegmentApiTests.Gzip(Encoding.UTF8.GetBytes("[{\"e\":\"a\"},{\"e\":\"b\"}]"), encoding));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(2, factory.Outcome(EventOutcomes.Accepted));
    }

    [Fact]
    public async Task A_decompression_bomb_stops_at_MAX_BODY_BYTES_and_bad_encodings_are_refused()
    {
        using var factory = new IngestFactory(new() { ["MAX_BODY_BYTES"] = "65536" });
        var bomb = new byte[64 * 1024 * 1024]; // 64 MiB of zeros: about 64 KB compressed
        using (var response = await Collect(factory, "/v1/batch", SegmentApiTests.Gzip(bomb)))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        }

        using (var response = await Collect(factory, "/collect", SegmentApiTests.Gzip(bomb)))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        }

        var corrupt = new ByteArrayContent([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff, 0xff]);
        corrupt.Headers.ContentType = new("application/json");
        corrupt.Headers.ContentEncoding.Add("gzip");
        Assert.Equal(HttpStatusCode.BadRequest, (await Collect(factory, "/collect", corrupt)).StatusCode);

        var brotli = Json("{\"e\":\"a\"}");
        brotli.Headers.ContentEncoding.Add("br");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await Collect(factory, "/collect", brotli)).StatusCode);
        Assert.Equal(0, factory.Outcome(EventOutcomes.Accepted));
    }

    /// <summary>
    /// A zlib header that asks for a preset dictionary (FDICT) makes zlib answer Z_NEED_DICT, which .NET raises as
    /// <see cref="System.IO.Compression.ZLibException"/>, not <see cref="System.IO.InvalidDataException"/>. It is a
    /// corrupt body like any other (found by the compressed-body property test on a clean-clone CI run).
    /// </summary>
    [Theory]
    [InlineData("/collect")]
    [InlineData("/v1/batch")]
    public async Task A_deflate_body_that_asks_for_a_preset_dictionary_is_a_400(string path)
    {
        using var factory = new IngestFactory();
        var body = new ByteArrayContent([0x78, 0xbb, 0, 0, 0, 1, 0x4b, 0x04, 0]); // CMF 0x78, FLG with FDICT, a dictionary id
        body.Headers.ContentType = new("application/json");
        body.Headers.ContentEncoding.Add("deflate");
        using var response = await Collect(factory, path, body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("corrupt", await response.Content.ReadAsStringAsync());
        Assert.Equal(0, factory.Outcome(EventOutcomes.Accepted));
    }

    [Fact]
    public async Task The_address_limit_refuses_with_429_and_refills_each_second_of_the_host_clock()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var factory = new IngestFactory(new() { ["RATE_LIMIT_IP_PER_SEC"] = "5" }, clock);
        var codes = new List<HttpStatusCode>();
        for (var i = 0; i < 6; i++)
        {
            using var r = await Pixel(factory, "e=x");
            codes.Add(r.StatusCode);
            if (r.StatusCode == HttpStatusCode.TooManyRequests)
            {
                Assert.Equal("1", r.Headers.GetValues("Retry-After").Single());
            }
        }

        Assert.Equal([.. Enumerable.Repeat(HttpStatusCode.OK, 5), HttpStatusCode.TooManyRequests], codes);

        // Another address has its own budget; a /collect batch spends one permit per event.
        using (var other = await Collect(factory, "/collect", Json("[{\"e\":\"a\"},{\"e\":\"b\"},{\"e\":\"c\"}]"), peer: "89.160.20.128"))
        {
            Assert.Equal(HttpStatusCode.Accepted, other.StatusCode);
        }

        using (var overBudget = await Collect(factory, "/collect", Json("[{\"e\":\"a\"},{\"e\":\"b\"},{\"e\":\"c\"}]"), peer: "89.160.20.128"))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, overBudget.StatusCode);
        }

        clock.Advance(TimeSpan.FromMilliseconds(999));
        Assert.Equal(HttpStatusCode.TooManyRequests, (await Pixel(factory, "e=x")).StatusCode);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(HttpStatusCode.OK, (await Pixel(factory, "e=x")).StatusCode);

        Assert.Equal(5 + 3 + 1, factory.Outcome(EventOutcomes.Accepted));
        Assert.Equal(1 + 3 + 1, factory.Outcome(EventOutcomes.RateLimited));
    }

    [Fact]
    public async Task The_key_limit_is_shared_by_every_address_sending_with_that_key()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var factory = new IngestFactory(new(Keys) { ["RATE_LIMIT_KEY_PER_SEC"] = "4" }, clock);
        var codes = new List<HttpStatusCode>();
        for (var i = 0; i < 6; i++)
        {
            using var r = await Pixel(factory, $"e=x&write_key={Web}", peer: $"81.2.69.{i + 1}");
            codes.Add(r.StatusCode);
        }

        Assert.Equal([.. Enumerable.Repeat(HttpStatusCode.OK, 4), HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], codes);
        Assert.Equal(HttpStatusCode.OK, (await Pixel(factory, $"e=x&write_key={App}")).StatusCode);
        Assert.Equal(5, factory.Outcome(EventOutcomes.Accepted));
        Assert.Equal(2, factory.Outcome(EventOutcomes.RateLimited));
    }

    [Fact]
    public void Address_partitions_are_bounded_however_many_addresses_arrive()
    {
        using var limits = new IntakeRateLimits(1_000_000, 0, [], new FakeTimeProvider());
        var addresses = Enumerable.Range(0, 200_000).Select(i => new IPAddress(BitConverter.GetBytes(0x0A000000u + (uint)i))).ToArray();
        Assert.True(limits.TryAcquire(addresses[0], null, 1)); // warm

        // No state per address: 200,000 new addresses allocate nothing (a map of limiters by address would).
        var acquired = 0;
        var before = GC.GetAllocatedBytesForCurrentThread();
        foreach (var address in addresses)
        {
            acquired += limits.TryAcquire(address, null, 1) ? 1 : 0;
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(200_000, acquired);
        Assert.Equal(0, allocated);
        Assert.Equal(IntakeRateLimits.AddressPartitions, limits.PartitionCount);
    }
}
