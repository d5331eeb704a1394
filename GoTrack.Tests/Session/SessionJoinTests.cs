using System.Buffers.Binary;
using System.Buffers.Text;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using GoTrack.Ingest.Configuration;
using GoTrack.Ingest.Privacy;
using GoTrack.Ingest.Session;
using GoTrack.Tests.Http;
using GoTrack.Tests.Support;
using Microsoft.Extensions.Configuration;
using Xunit.Abstractions;

namespace GoTrack.Tests.Session;

/// <summary>
/// A page's first requests leave the browser together, before any cookie exists: they must open one
/// session, not one each (README, "Sessions"). SESSION_JOIN_WINDOW derives the new value from the day's
/// key, the client address, the user agent and the time bucket.
/// </summary>
public sealed class SessionJoinTests(ITestOutputHelper output)
{
    private const string Chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
    private static readonly DateTimeOffset Noon = new(2026, 11, 30, 12, 0, 0, 250, TimeSpan.Zero);

    private static string Sid(string line) => JsonDocument.Parse(line).RootElement.GetProperty("sid").GetString()!;

    private static string CookieValue(HttpResponseMessage response) =>
        response.Headers.GetValues("Set-Cookie").Single()["gt_sid=".Length..("gt_sid=".Length + SessionCookie.ValueLength)];

    [Fact]
    public async Task Concurrent_first_requests_of_one_browser_share_one_new_session_and_its_cookie()
    {
        var clock = new FixedClock(Noon);
        using var factory = new IngestFactory(clock: clock);
        var pixel = PrivacyHttpTests.PixelAsync(factory, "e=pageview&url=https%3A%2F%2Fshop.example%2F", ua: Chrome);
        var loader = PrivacyHttpTests.PixelAsync(factory, "e=pageview&url=https%3A%2F%2Fshop.example%2F&ref=", ua: Chrome);
        var collect = PrivacyHttpTests.CollectAsync(factory, "{\"e\":\"signup\"}", ua: Chrome);
        await Task.WhenAll(pixel, loader, collect);

        var sids = new[] { Sid((await pixel).Line!), Sid((await loader).Line!), Sid((await collect).Line!) };
        Assert.Single(sids.Distinct());
        Assert.Equal(sids[0], CookieValue((await pixel).Response));
        Assert.Equal(sids[0], CookieValue((await collect).Response));
    }

    [Fact]
    public async Task Another_address_another_browser_or_the_next_bucket_is_another_session()
    {
        var clock = new FixedClock(Noon);
        using var factory = new IngestFactory(clock: clock);
        async Task<string> NewSid(string peer = "81.2.69.160", string ua = Chrome) =>
            Sid((await PrivacyHttpTests.PixelAsync(factory, "e=x", peer: peer, ua: ua)).Line!);

        var first = await NewSid();
        Assert.Equal(first, await NewSid());
        Assert.NotEqual(first, await NewSid(peer: "81.2.69.161"));
        Assert.NotEqual(first, await NewSid(ua: Chrome.Replace("131", "132", StringComparison.Ordinal)));
        clock.Now = Noon.AddMilliseconds(1_749); // still 12:00:00-12:00:02
        Assert.Equal(first, await NewSid());
        clock.Now = Noon.AddMilliseconds(1_750);
        Assert.NotEqual(first, await NewSid());

        // A session the browser already has wins.
        var (_, own) = await PrivacyHttpTests.PixelAsync(factory, "e=x", ua: Chrome, headers: ("Cookie", "gt_sid=abcdefghijklmnopqrstuv"));
        Assert.Equal("abcdefghijklmnopqrstuv", Sid(own!));
    }

    [Fact]
    public async Task A_window_of_zero_draws_each_new_session_at_random()
    {
        using var factory = new IngestFactory(new() { ["SESSION_JOIN_WINDOW"] = "0" }, new FixedClock(Noon));
        var a = Sid((await PrivacyHttpTests.PixelAsync(factory, "e=x", ua: Chrome)).Line!);
        var b = Sid((await PrivacyHttpTests.PixelAsync(factory, "e=x", ua: Chrome)).Line!);
        Assert.NotEqual(a, b);
    }

    [Theory]
    [InlineData("raw", "81.2.69.7", false)]
    [InlineData("hash", "81.2.69.7", false)]
    [InlineData("truncate", "81.2.69.7", true)]
    [InlineData("truncate", "81.2.70.160", false)]
    [InlineData("drop", "81.2.69.7", true)]
    [InlineData("drop", "203.0.113.9", true)]
    [InlineData("drop", "2001:db8::1", true)]
    /// <remarks>
    /// Under IP_MODE=drop the events hold nothing of the address, so the derivation takes none of it either:
    /// otherwise the holder of IP_HASH_SECRET could find a visitor's /24 from sid, ua and ts (2^24 trials).
    /// The join is off by default under drop (see the next test); these rows set it, as an operator may.
    /// </remarks>
    public async Task The_address_counts_only_as_far_as_IP_MODE_keeps_it(string ipMode, string otherPeer, bool same)
    {
        using var factory = new IngestFactory(new() { ["IP_MODE"] = ipMode, ["IP_HASH_SECRET"] = "0123456789abcdef-secret", ["SESSION_JOIN_WINDOW"] = "2s" }, new FixedClock(Noon));
        var a = Sid((await PrivacyHttpTests.PixelAsync(factory, "e=x", peer: "81.2.69.160", ua: Chrome)).Line!);
        var b = Sid((await PrivacyHttpTests.PixelAsync(factory, "e=x", peer: otherPeer, ua: Chrome)).Line!);
        Assert.Equal(same, a == b);
    }

    /// <summary>
    /// Without an address the join would merge one browser build's first visits site-wide, so under IP_MODE=drop
    /// it is off unless SESSION_JOIN_WINDOW is set: the same address, user agent and instant get two sessions.
    /// </summary>
    [Fact]
    public async Task Under_IP_MODE_drop_each_request_without_a_cookie_gets_its_own_session_by_default()
    {
        using var factory = new IngestFactory(new() { ["IP_MODE"] = "drop", ["IP_HASH_SECRET"] = "0123456789abcdef-secret" }, new FixedClock(Noon));
        var a = Sid((await PrivacyHttpTests.PixelAsync(factory, "e=x", peer: "81.2.69.160", ua: Chrome)).Line!);
        var b = Sid((await PrivacyHttpTests.PixelAsync(factory, "e=x", peer: "81.2.69.160", ua: Chrome)).Line!);
        Assert.NotEqual(a, b);
    }

    [Fact]
    public async Task Instances_sharing_IP_HASH_SECRET_derive_the_same_value_and_it_is_the_documented_hmac()
    {
        const string secret = "0123456789abcdef-secret";
        var settings = new Dictionary<string, string?> { ["IP_HASH_SECRET"] = secret };
        using var one = new IngestFactory(settings, new FixedClock(Noon));
        using var two = new IngestFactory(settings, new FixedClock(Noon));
        var a = Sid((await PrivacyHttpTests.PixelAsync(one, "e=x", ua: Chrome)).Line!);
        var b = Sid((await PrivacyHttpTests.PixelAsync(two, "e=x", ua: Chrome)).Line!);
        Assert.Equal(a, b);

        // HMAC-SHA256(day key, "new-sid:" || address bytes || 0 || UTF-8 user agent || 0 || int64 BE (unix ms / window ms)), first 16 bytes.
        var dayKey = new DailyKey(Encoding.UTF8.GetBytes(secret)).KeyFor(Noon).ToArray();
        var input = new List<byte>("new-sid:"u8.ToArray());
        input.AddRange(IPAddress.Parse("81.2.69.160").GetAddressBytes());
        input.Add(0);
        input.AddRange(Encoding.UTF8.GetBytes(Chrome));
        input.Add(0);
        var bucket = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(bucket, Noon.ToUnixTimeMilliseconds() / 2000);
        input.AddRange(bucket);
        Assert.Equal(Base64Url.EncodeToString(HMACSHA256.HashData(dayKey, input.ToArray()).AsSpan(0, 16)), a);
    }

    /// <summary>
    /// New derived headers are kept and handed out again while their inputs are the same (a profile showed
    /// the two SHA-256 calls per cookieless request). Every answer must still be what the derivation gives
    /// for that request: 20,000 requests over few addresses, user agents, buckets, two days, three IP modes
    /// and both schemes, in an order that revisits and evicts slots, each checked against Derive.
    /// </summary>
    [Fact]
    public void Kept_headers_are_the_derivation_of_exactly_their_request()
    {
        var key = new DailyKey(Encoding.UTF8.GetBytes("kept-headers"));
        var cookie = new SessionCookie(new CookieSettings(), key);
        string[] addresses = ["81.2.69.160", "81.2.69.161", "2001:db8:1:2::7", "2001:db8:1:3::7", "::ffff:81.2.69.160"];
        string?[] agents = [Chrome, Chrome.Replace("131", "132", StringComparison.Ordinal), "curl/8.5.0", null, ""];
        var policies = new[] { IpMode.Raw, IpMode.Truncate, IpMode.Drop }
            .Select(m => new PrivacyPolicy(new PrivacyOptions { IpMode = m }, key, null)).ToArray();
        var random = new Random(9);
        Span<byte> expected = stackalloc byte[16];
        for (var i = 0; i < 20_000; i++)
        {
            var now = Noon.AddDays(random.Next(2)).AddMilliseconds(random.Next(3) * 2000 + random.Next(2000));
            var ip = IPAddress.Parse(addresses[random.Next(addresses.Length)]);
            var ua = agents[random.Next(agents.Length)];
            var policy = policies[random.Next(policies.Length)];
            var secure = random.Next(2) == 1;
            var info = new Ingest.Intake.RequestInfo(now, ua, ip) { Policy = policy };

            var header = cookie.NewSetCookieHeader(secure, info);
            SessionCookie.Derive(key, 2000, now, ip, policy.IpMode, ua, expected);
            Assert.Equal(Base64Url.EncodeToString(expected), cookie.ValueOf(header).ToString());
            Assert.Equal(secure, header.EndsWith("; Secure", StringComparison.Ordinal));
        }

        // And a repeat is the kept string itself, not a new one.
        var again = new Ingest.Intake.RequestInfo(Noon, Chrome, IPAddress.Parse("81.2.69.160")) { Policy = policies[0] };
        Assert.Same(cookie.NewSetCookieHeader(false, again), cookie.NewSetCookieHeader(false, again));
    }

    /// <summary>128 bits of HMAC: distinct browsers never share a value by accident. Exactly 0 of 200,000.</summary>
    [Fact]
    public void Distinct_inputs_give_distinct_values()
    {
        var key = new DailyKey(null);
        var seen = new HashSet<UInt128>();
        Span<byte> value = stackalloc byte[16];
        for (var i = 0; i < 200_000; i++)
        {
            var ip = new IPAddress(BitConverter.GetBytes(0x0A000000u + (uint)(i % 50_000)));
            SessionCookie.Derive(key, 2000, Noon.AddSeconds(2 * (i / 50_000)), ip, IpMode.Raw, Chrome, value);
            Assert.True(seen.Add(BinaryPrimitives.ReadUInt128BigEndian(value)));
        }

        Assert.Equal(200_000, seen.Count);
    }

    /// <summary>
    /// The collision the design accepts, measured through the real derivation: two visitors behind one NAT
    /// with the same user agent (under IP_MODE=drop: anywhere, each from its own address), each arriving at a
    /// random millisecond of one hour. They share a new session exactly when they land in one 2 s bucket:
    /// 1 in 1,800 on average. Printed; README, "Sessions", quotes it.
    /// </summary>
    [Theory]
    [InlineData(IpMode.Raw)]
    [InlineData(IpMode.Drop)]
    public void Two_visitors_behind_one_nat_with_one_browser_build_collide_only_within_one_bucket(IpMode ipMode)
    {
        var key = new DailyKey(null);
        var random = new Random(14);
        const int pairs = 200_000;
        var collisions = 0;
        var sameBucket = 0;
        Span<byte> a = stackalloc byte[16];
        Span<byte> b = stackalloc byte[16];
        for (var i = 0; i < pairs; i++)
        {
            var ta = Noon.AddMilliseconds(random.Next(3_600_000));
            var tb = Noon.AddMilliseconds(random.Next(3_600_000));
            var ipA = IPAddress.Parse("81.2.69.160");
            var ipB = ipMode == IpMode.Drop ? new IPAddress(BitConverter.GetBytes(0x0A000000u + (uint)i)) : ipA;
            SessionCookie.Derive(key, 2000, ta, ipA, ipMode, Chrome, a);
            SessionCookie.Derive(key, 2000, tb, ipB, ipMode, Chrome, b);
            collisions += a.SequenceEqual(b) ? 1 : 0;
            sameBucket += ta.ToUnixTimeMilliseconds() / 2000 == tb.ToUnixTimeMilliseconds() / 2000 ? 1 : 0;
        }

        output.WriteLine($"IP_MODE={ipMode}: {collisions} collisions in {pairs} pairs: 1 in {pairs / Math.Max(1, collisions)}");
        Assert.Equal(sameBucket, collisions);
        Assert.Equal(109, collisions); // 111 expected; the seed makes the count fixed
    }

    /// <summary>
    /// How it scales: k first visits of one browser build in one hour, behind one NAT (or, under IP_MODE=drop,
    /// on the whole site). The share of those visitors whose new session is shared with another one is
    /// 1 - (1 - 2 s / 3,600 s)^(k-1), about (k-1)/1,800 while small. Measured over 200,000 visitors each; printed,
    /// README, "Sessions", quotes it.
    /// </summary>
    [Theory]
    [InlineData(10)]
    [InlineData(100)]
    [InlineData(1000)]
    public void Visitors_whose_new_session_is_shared_grow_with_k_visitors_per_hour(int k)
    {
        var key = new DailyKey(null);
        var random = new Random(k);
        var hours = 200_000 / k;
        var shared = 0;
        Span<byte> value = stackalloc byte[16];
        var ip = IPAddress.Parse("81.2.69.160");
        for (var h = 0; h < hours; h++)
        {
            var sids = new Dictionary<UInt128, int>();
            var buckets = new Dictionary<long, int>();
            var times = new DateTimeOffset[k];
            for (var i = 0; i < k; i++)
            {
                times[i] = Noon.AddMilliseconds(random.Next(3_600_000));
                SessionCookie.Derive(key, 2000, times[i], ip, IpMode.Raw, Chrome, value);
                var sid = BinaryPrimitives.ReadUInt128BigEndian(value);
                sids[sid] = sids.GetValueOrDefault(sid) + 1;
                var bucket = times[i].ToUnixTimeMilliseconds() / 2000;
                buckets[bucket] = buckets.GetValueOrDefault(bucket) + 1;
            }

            var sharedSids = sids.Values.Where(n => n > 1).Sum();
            Assert.Equal(buckets.Values.Where(n => n > 1).Sum(), sharedSids);
            shared += sharedSids;
        }

        var measured = (double)shared / (k * hours);
        var predicted = 1 - Math.Pow(1 - 2.0 / 3600, k - 1);
        output.WriteLine($"k={k} visitors per hour: {shared} of {k * hours} share a new session ({measured:P2}; predicted {predicted:P2})");
        Assert.InRange(measured, predicted * 0.8, predicted * 1.2);
    }

    [Theory]
    [InlineData("0", true)]
    [InlineData("2s", true)]
    [InlineData("500ms", true)]
    [InlineData("50ms", false)]
    [InlineData("2m", false)]
    [InlineData("soon", false)]
    public void The_window_is_validated_at_start(string value, bool ok)
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection([new("SESSION_JOIN_WINDOW", value)]).Build();
        IngestSettings.Load(config, out var errors);
        Assert.Equal(ok, errors.Count == 0);
        if (!ok)
        {
            Assert.StartsWith("SESSION_JOIN_WINDOW", Assert.Single(errors), StringComparison.Ordinal);
        }
    }
}
