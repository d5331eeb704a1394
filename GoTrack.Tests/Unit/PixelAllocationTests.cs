using System.Net;
using GoTrack.Core.Events;
using GoTrack.Ingest.Enrichment;
using GoTrack.Ingest.Intake;
using GoTrack.Ingest.Privacy;
using GoTrack.Tests.Support;
using Record = GoTrack.Core.Events.Record;

namespace GoTrack.Tests.Unit;

/// <summary>
/// What the pixel path allocates per event, exactly: the event itself (its <see cref="Record"/> and the array
/// of its JSON, which the log keeps until every sink has it) and nothing else, with the default policy, with
/// IP_MODE=hash and COOKIE_MODE=off, and with GeoIP on. docs/performance.md ("The event's own allocation")
/// measured what removing those two would buy.
/// </summary>
public sealed class PixelAllocationTests
{
    private const string Query =
        "?e=pageview&url=https%3A%2F%2Fshop.example.com%2Fproducts%2F42%3Fcolor%3Dred&ref=https%3A%2F%2Fwww.google.com%2F" +
        "&uid=u_1234567&utm_source=newsletter&utm_medium=email&utm_campaign=fall_sale&plan=pro";

    private const string UserAgent =
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";

    private static readonly DateTimeOffset Now = new(2026, 11, 30, 9, 30, 15, 123, TimeSpan.Zero);

    public enum Policy
    {
        Default,
        HashedCookieless,
        GeoIp,
    }

    [Theory]
    [InlineData(Policy.Default)]
    [InlineData(Policy.HashedCookieless)]
    [InlineData(Policy.GeoIp)]
    public void A_pixel_event_allocates_its_record_and_its_json_and_nothing_else(Policy which)
    {
        using var dir = new TempDir();
        using var geo = which == Policy.GeoIp ? new GeoIpLookup(WriteCity(dir)) : null;
        var policy = which switch
        {
            Policy.HashedCookieless => new PrivacyPolicy(
                new PrivacyOptions { IpMode = IpMode.Hash, CookieMode = CookieMode.Off, IpHashSecret = "allocation-test-secret-0123"u8.ToArray() }, null, null),
            Policy.GeoIp => new PrivacyPolicy(new PrivacyOptions(), null, geo),
            _ => PrivacyPolicy.Default,
        };
        var ip = IPAddress.Parse(which == Policy.GeoIp ? "81.2.69.160" : "203.0.113.7");
        var session = which == Policy.HashedCookieless ? "" : "Xk3vQ9zR2mL7pT4wB8nY1c";

        // Warm: the JIT's, the pools' and the caches' first-use allocations are not the event's.
        var first = Pixel(ip, policy, session);
        for (var i = 0; i < 1000; i++)
        {
            Pixel(ip, policy, session);
        }

        // The least of three rounds: another test's user agent can take this one's slot in the shared device
        // cache mid-round and make it parse (and allocate) again; nothing can make a round allocate less.
        const int Events = 1000;
        var kept = new Record[Events];
        var allocated = long.MaxValue;
        for (var round = 0; round < 3; round++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < Events; i++)
            {
                kept[i] = Pixel(ip, policy, session);
            }

            allocated = Math.Min(allocated, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        if (which == Policy.GeoIp)
        {
            Assert.Contains("\"city\":\"London\"", System.Text.Encoding.UTF8.GetString(first.Json), StringComparison.Ordinal);
        }

        Assert.All(kept, r => Assert.Equal(first.Json.Length, r.Json.Length));
        Assert.Equal(Events * (RecordBytes(first) + ArrayBytes(first.Json.Length)), allocated);
    }

    private static Record Pixel(IPAddress ip, PrivacyPolicy policy, string session)
    {
        var info = RequestInfo.Create(Now, UserAgent, ip, policy);
        var (record, error) = EventBuilder.FromPixel(Query, null, info, session);
        Assert.Null(error);
        return record!;
    }

    /// <summary>What one <see cref="Record"/> object takes, measured the same way.</summary>
    private static long RecordBytes(Record like)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        var copy = new Record(like.EventId, like.Timestamp, like.Type, like.Json, like.Origin);
        var bytes = GC.GetAllocatedBytesForCurrentThread() - before;
        GC.KeepAlive(copy);
        return bytes;
    }

    /// <summary>A byte[] of <paramref name="length"/>: header, method table and length (24 bytes), then the bytes, rounded up to 8.</summary>
    private static long ArrayBytes(int length) => (24 + length + 7) / 8 * 8;

    private static string WriteCity(TempDir dir)
    {
        var path = dir.File("GeoLite2-City.mmdb");
        File.WriteAllBytes(path, MmdbWriter.CityFixture());
        return path;
    }
}
