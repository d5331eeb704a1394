using System.Net;
using System.Text.Json;
using GoTrack.Ingest.Configuration;
using GoTrack.Ingest.Enrichment;
using GoTrack.Tests.Http;
using GoTrack.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace GoTrack.Tests.Privacy;

public sealed class GeoIpTests
{
    private static string WriteFixture(TempDir dir, byte[] bytes, string name = "GeoLite2-City.mmdb")
    {
        var path = dir.File(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Theory]
    [InlineData("81.2.69.160", "GB", "ENG", "London")]
    [InlineData("81.2.69.1", "GB", "ENG", "London")]
    [InlineData("::ffff:81.2.69.160", "GB", "ENG", "London")]
    [InlineData("89.160.20.128", "SE", "E", "Linköping")]
    [InlineData("175.16.199.3", "CN", "22", null)]
    [InlineData("2001:db8:cafe:1::17", "US", "CA", "San Francisco")]
    [InlineData("2a02:ff0:1:2::3", "DE", null, null)]
    [InlineData("81.2.70.1", null, null, null)]
    [InlineData("10.0.0.1", null, null, null)]
    [InlineData("2001:db8:caff::1", null, null, null)]
    public void The_city_database_gives_country_region_and_english_city(string ip, string? country, string? region, string? city)
    {
        using var dir = new TempDir();
        using var lookup = new GeoIpLookup(WriteFixture(dir, MmdbWriter.CityFixture()));
        Assert.Equal("GeoLite2-City", lookup.DatabaseType);
        var address = IPAddress.Parse(ip);
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        Assert.Equal(new GeoInfo(country, region, city), lookup.Find(address));
    }

    [Fact]
    public void A_returning_address_is_answered_from_memory_without_allocating_and_a_reload_forgets()
    {
        using var dir = new TempDir();
        var path = WriteFixture(dir, MmdbWriter.CityFixture());
        using var lookup = new GeoIpLookup(path);
        var london = IPAddress.Parse("81.2.69.160");
        var mapped = IPAddress.Parse("::ffff:81.2.69.160");
        var first = lookup.Find(london);
        Assert.Equal("London", first.City);

        var same = 0;
        for (var i = 0; i < 1000; i++)
        {
            same += lookup.Find(london) == first ? 1 : 0; // warm: the JIT's own first-call allocations are not the lookup's
        }

        same = 0;
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            same += lookup.Find(london) == first ? 1 : 0;
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(1000, same);
        Assert.Equal(0, allocated);
        Assert.Equal(first, lookup.Find(mapped));
        Assert.Equal(new GeoInfo("SE", "E", "Linköping"), lookup.Find(IPAddress.Parse("89.160.20.128")));

        File.WriteAllBytes(path, MmdbWriter.CityFixture("FR"));
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(1));
        Assert.True(lookup.ReloadIfChanged());
        Assert.Equal("FR", lookup.Find(london).Country);
    }

    /// <summary>
    /// A record MaxMind cannot read (here "country" is a string where a map belongs) is an unknown location
    /// for that address, counted; it must not fail the request. Found when a Native AOT build made every
    /// lookup throw and the pixel answered 500.
    /// </summary>
    [Fact]
    public void A_record_the_library_cannot_read_is_an_unknown_location_not_an_error()
    {
        using var dir = new TempDir();
        var bytes = new MmdbWriter("GeoLite2-City")
            .Add("81.2.69.0/24", new Dictionary<string, object> { ["country"] = "GB" })
            .Add("89.160.20.0/24", MmdbWriter.City("SE", "E", "Linköping"))
            .Build();
        using var lookup = new GeoIpLookup(WriteFixture(dir, bytes));
        Assert.Equal(default, lookup.Find(IPAddress.Parse("81.2.69.160")));
        Assert.Equal(default, lookup.Find(IPAddress.Parse("81.2.69.161")));
        Assert.Equal(new GeoInfo("SE", "E", "Linköping"), lookup.Find(IPAddress.Parse("89.160.20.128")));
        Assert.Equal(2, lookup.LookupErrors);

        // The reloader's poll says so once per new batch of errors, then stays quiet until there are more.
        using var logs = new CapturingLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs));
        using var reloader = new GeoIpReloader(lookup, TimeSpan.FromMinutes(5), TimeProvider.System, factory.CreateLogger<GeoIpReloader>());
        reloader.Check();
        reloader.Check();
        Assert.Equal(new GeoInfo(), lookup.Find(IPAddress.Parse("81.2.69.7")));
        reloader.Check();
        var warnings = logs.Lines.Where(l => l.Contains("could not read their record", StringComparison.Ordinal)).ToArray();
        Assert.Equal(2, warnings.Length);
        Assert.Contains("2 lookups", warnings[0], StringComparison.Ordinal);
        Assert.Contains("1 lookups", warnings[1], StringComparison.Ordinal);
        Assert.Contains("(3 since start)", warnings[1], StringComparison.Ordinal);
    }

    [Fact]
    public void A_country_database_gives_the_country_only()
    {
        using var dir = new TempDir();
        var bytes = new MmdbWriter("GeoLite2-Country")
            .Add("81.2.69.0/24", new Dictionary<string, object> { ["country"] = new Dictionary<string, object> { ["iso_code"] = "GB" } })
            .Build();
        using var lookup = new GeoIpLookup(WriteFixture(dir, bytes, "GeoLite2-Country.mmdb"));
        Assert.Equal(new GeoInfo("GB", null, null), lookup.Find(IPAddress.Parse("81.2.69.160")));
    }

    [Fact]
    public void A_replaced_file_is_reloaded_and_a_broken_one_keeps_the_old_database_in_service()
    {
        using var dir = new TempDir();
        var path = WriteFixture(dir, MmdbWriter.CityFixture());
        using var lookup = new GeoIpLookup(path);
        var reloader = new GeoIpReloader(lookup, TimeSpan.FromHours(1), TimeProvider.System, NullLogger<GeoIpReloader>.Instance);
        var london = IPAddress.Parse("81.2.69.160");
        Assert.False(reloader.Check());

        // Replaced by rename, as download tools do.
        var next = WriteFixture(dir, MmdbWriter.CityFixture("FR"), "next.mmdb");
        File.Move(next, path, overwrite: true);
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(1));
        Assert.True(reloader.Check());
        Assert.Equal("FR", lookup.Find(london).Country);

        // Rewritten in place: lookups never see a half-written file, they use the copy in memory.
        File.WriteAllBytes(path, [1, 2, 3]);
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(2));
        Assert.False(reloader.Check());
        Assert.Equal("FR", lookup.Find(london).Country);
        Assert.False(reloader.Check());

        File.WriteAllBytes(path, MmdbWriter.CityFixture("IE"));
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(3));
        Assert.True(reloader.Check());
        Assert.Equal("IE", lookup.Find(london).Country);
    }

    [Fact]
    public void A_file_that_is_not_a_usable_database_fails_the_start_naming_GEOIP_DB()
    {
        using var dir = new TempDir();
        var garbage = WriteFixture(dir, "not a database"u8.ToArray(), "bad.mmdb");
        var other = WriteFixture(dir, new MmdbWriter("GeoLite2-ASN").Add("81.2.69.0/24", new Dictionary<string, object> { ["autonomous_system_number"] = 1u }).Build(), "asn.mmdb");
        foreach (var path in new[] { garbage, other })
        {
            var config = new ConfigurationBuilder().AddInMemoryCollection([new("GEOIP_DB", path)]).Build();
            IngestSettings.Load(config, out var errors);
            Assert.StartsWith("GEOIP_DB:", Assert.Single(errors), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Events_get_geo_from_the_real_client_ip_even_when_only_a_truncated_ip_is_stored_and_a_new_file_is_picked_up()
    {
        using var dir = new TempDir();
        var path = WriteFixture(dir, MmdbWriter.CityFixture());
        using var factory = new IngestFactory(new() { ["GEOIP_DB"] = path, ["GEOIP_RELOAD_INTERVAL"] = "1h", ["IP_MODE"] = "truncate" });

        var (_, line) = await PrivacyHttpTests.PixelAsync(factory, "e=view", peer: "81.2.69.160");
        var e = JsonDocument.Parse(line!).RootElement;
        Assert.Equal("81.2.69.0", e.GetProperty("ip").GetString());
        var geo = e.GetProperty("geo");
        Assert.Equal("GB", geo.GetProperty("country").GetString());
        Assert.Equal("ENG", geo.GetProperty("region").GetString());
        Assert.Equal("London", geo.GetProperty("city").GetString());

        var (_, v6) = await PrivacyHttpTests.PixelAsync(factory, "e=view", peer: "2001:db8:cafe:1::17");
        Assert.Equal("San Francisco", JsonDocument.Parse(v6!).RootElement.GetProperty("geo").GetProperty("city").GetString());
        var (_, _, collected) = await PrivacyHttpTests.CollectAsync(factory, "{\"geo\":{\"country\":\"XX\"}}", peer: "89.160.20.128");
        Assert.Equal("Linköping", JsonDocument.Parse(collected!).RootElement.GetProperty("geo").GetProperty("city").GetString());
        var (_, none) = await PrivacyHttpTests.PixelAsync(factory, "e=view", peer: "10.1.2.3");
        Assert.False(JsonDocument.Parse(none!).RootElement.TryGetProperty("geo", out _));

        var next = WriteFixture(dir, MmdbWriter.CityFixture("FR"), "next.mmdb");
        File.Move(next, path, overwrite: true);
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(1));
        // The poll the service runs every GEOIP_RELOAD_INTERVAL (its timing is tested on fake time below).
        var reloader = factory.Services.GetServices<IHostedService>().OfType<GeoIpReloader>().Single();
        reloader.Check();
        var (_, again) = await PrivacyHttpTests.PixelAsync(factory, "e=view", peer: "81.2.69.160");
        Assert.Equal("FR", JsonDocument.Parse(again!).RootElement.GetProperty("geo").GetProperty("country").GetString());
    }

    /// <summary>
    /// An opted-out request under PRIVACY_MODE=drop is read no further than its opt-out: /collect and the
    /// Segment API still check its events to answer which were valid, but never looked its address up. They
    /// used to resolve the client address, parse the user agent and look the address up in GeoIP for events
    /// nothing would store (the pixel never did).
    /// </summary>
    [Fact]
    public async Task An_opted_out_collect_request_is_never_looked_up_and_a_recorded_one_is()
    {
        using var dir = new TempDir();
        var path = WriteFixture(dir, MmdbWriter.CityFixture());
        using var factory = new IngestFactory(new() { ["GEOIP_DB"] = path, ["GEOIP_RELOAD_INTERVAL"] = "1h" });
        var geo = factory.Services.GetRequiredService<GoTrack.Ingest.Privacy.PrivacyPolicy>().Geo!;

        var (optedOut, body, _) = await PrivacyHttpTests.CollectAsync(factory, peer: "81.2.69.160", headers: ("DNT", "1"));
        Assert.Equal(HttpStatusCode.Accepted, optedOut.StatusCode);
        Assert.Equal(1, body.GetProperty("dropped_dnt").GetInt32());
        var (gpc, gpcBody, _) = await PrivacyHttpTests.CollectAsync(factory, peer: "89.160.20.128", headers: ("Sec-GPC", "1"));
        Assert.Equal(HttpStatusCode.Accepted, gpc.StatusCode);
        Assert.Equal(1, gpcBody.GetProperty("dropped_gpc").GetInt32());
        Assert.Equal(0, geo.RememberedAddresses);

        var (recorded, _, line) = await PrivacyHttpTests.CollectAsync(factory, peer: "81.2.69.160");
        Assert.Equal(HttpStatusCode.Accepted, recorded.StatusCode);
        Assert.Equal("GB", JsonDocument.Parse(line!).RootElement.GetProperty("geo").GetProperty("country").GetString());
        Assert.Equal(1, geo.RememberedAddresses);
    }

    [Fact]
    public async Task The_reloader_polls_once_per_interval_of_its_time_provider()
    {
        using var dir = new TempDir();
        var path = WriteFixture(dir, MmdbWriter.CityFixture());
        using var lookup = new GeoIpLookup(path);
        var clock = new TimerClock(DateTimeOffset.UtcNow);
        using var reloader = new GeoIpReloader(lookup, TimeSpan.FromMinutes(5), clock, NullLogger<GeoIpReloader>.Instance);
        var started = clock.GetUtcNow();
        await reloader.StartAsync(default);
        var london = IPAddress.Parse("81.2.69.160");

        // One timer, due exactly one interval after the start (the fake clock fires nothing before its due time).
        var armed = await clock.NextTimerAsync(_ => true, "reload timer");
        Assert.Equal(TimeSpan.FromMinutes(5), armed.Delay);
        Assert.Equal(started + TimeSpan.FromMinutes(5), armed.Due);
        Assert.Equal(1, clock.TimersArmed);

        var next = WriteFixture(dir, MmdbWriter.CityFixture("FR"), "next.mmdb");
        File.Move(next, path, overwrite: true);
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(1));
        Assert.Equal("GB", lookup.Find(london).Country);

        clock.FireAt(armed);
        Assert.True(SpinWait.SpinUntil(() => lookup.Find(london).Country == "FR", TimeSpan.FromSeconds(10)), "no reload at the interval");
        Assert.Equal(1, clock.TimersArmed);
        await reloader.StopAsync(default);
    }
}
