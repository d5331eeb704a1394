using System.Net;
using GoTrack.Ingest.Configuration;
using GoTrack.Ingest.Privacy;
using Microsoft.Extensions.Primitives;

namespace GoTrack.Tests.Privacy;

public sealed class ClientIpResolverTests
{
    private static PrivacyOptions Options(bool trust = true, string proxies = PrivacyOptions.DefaultTrustedProxies, ForwardedHeader header = ForwardedHeader.XForwardedFor)
    {
        Assert.True(PrivacySettings.TryParseNetworks(proxies, out var networks, out _));
        return new PrivacyOptions { TrustProxy = trust, TrustedProxies = networks, ForwardedHeader = header };
    }

    private static string? Resolve(string? peer, string? xff, string? forwarded, PrivacyOptions options) =>
        ClientIpResolver.Resolve(
            peer is null ? null : IPAddress.Parse(peer),
            xff is null ? StringValues.Empty : new StringValues(xff.Split('|')),
            forwarded is null ? StringValues.Empty : new StringValues(forwarded.Split('|')),
            options)?.ToString();

    [Theory]
    // peer, X-Forwarded-For (| separates header lines), expected client
    [InlineData("10.0.0.5", "81.2.69.160", "81.2.69.160")]
    [InlineData("10.0.0.5", "81.2.69.160, 10.0.0.9", "81.2.69.160")]
    [InlineData("10.0.0.5", " 81.2.69.160 ,10.0.0.9 ", "81.2.69.160")]
    // The client wrote its own header: the spoofed entries sit left of what our proxy appended.
    [InlineData("10.0.0.5", "1.1.1.1, 8.8.8.8, 81.2.69.160", "81.2.69.160")]
    [InlineData("10.0.0.5", "127.0.0.1, 81.2.69.160, 10.0.0.9", "81.2.69.160")]
    [InlineData("10.0.0.5", "1.1.1.1|81.2.69.160", "81.2.69.160")]
    [InlineData("10.0.0.5", "garbage, 81.2.69.160", "81.2.69.160")]
    [InlineData("10.0.0.5", "81.2.69.160:51234", "81.2.69.160")]
    [InlineData("10.0.0.5", "2001:db8:cafe::17", "2001:db8:cafe::17")]
    [InlineData("10.0.0.5", "[2001:db8:cafe::17]:4711", "2001:db8:cafe::17")]
    [InlineData("fd00::1", "2001:db8::1, fd00::2", "2001:db8::1")]
    [InlineData("::ffff:10.0.0.5", "81.2.69.160", "81.2.69.160")]
    [InlineData("10.0.0.5", "::ffff:81.2.69.160", "81.2.69.160")]
    // Nothing usable: the nearest trusted hop is as far as we can see.
    [InlineData("10.0.0.5", "unknown", "10.0.0.5")]
    [InlineData("10.0.0.5", "81.2.69.160, unknown", "10.0.0.5")]
    [InlineData("10.0.0.5", "10.0.0.7, 10.0.0.9", "10.0.0.7")]
    [InlineData("10.0.0.5", null, "10.0.0.5")]
    [InlineData("10.0.0.5", "", "10.0.0.5")]
    // A peer that is not a trusted proxy is the client, whatever it claims.
    [InlineData("81.2.69.160", "1.2.3.4", "81.2.69.160")]
    [InlineData("2001:db8::9", "1.2.3.4", "2001:db8::9")]
    [InlineData(null, "1.2.3.4", null)]
    public void X_forwarded_for_is_read_from_the_right_skipping_trusted_proxies(string? peer, string? xff, string? expected) =>
        Assert.Equal(expected, Resolve(peer, xff, null, Options()));

    [Theory]
    [InlineData("10.0.0.5", "for=81.2.69.160", "81.2.69.160")]
    [InlineData("10.0.0.5", "for=\"[2001:db8:cafe::17]:4711\";proto=https", "2001:db8:cafe::17")]
    [InlineData("10.0.0.5", "For=\"[2001:db8:cafe::17]\"", "2001:db8:cafe::17")]
    [InlineData("10.0.0.5", "for=\"81.2.69.160:8080\";by=10.0.0.5", "81.2.69.160")]
    [InlineData("10.0.0.5", "for=1.1.1.1, for=81.2.69.160;proto=http, for=10.0.0.9", "81.2.69.160")]
    [InlineData("10.0.0.5", "for=1.1.1.1|for=81.2.69.160", "81.2.69.160")]
    [InlineData("10.0.0.5", "proto=https;for=81.2.69.160;host=example.com", "81.2.69.160")]
    [InlineData("10.0.0.5", "for=\"_hidden\", for=10.0.0.9", "10.0.0.9")]
    [InlineData("10.0.0.5", "for=unknown", "10.0.0.5")]
    [InlineData("10.0.0.5", "by=10.0.0.1", "10.0.0.5")]
    [InlineData("10.0.0.5", "for=\"a,b\", for=81.2.69.160", "81.2.69.160")]
    public void Rfc7239_forwarded_is_read_the_same_way(string peer, string forwarded, string expected) =>
        Assert.Equal(expected, Resolve(peer, null, forwarded, Options(header: ForwardedHeader.Forwarded)));

    [Fact]
    public void The_header_the_proxy_does_not_write_is_ignored_because_the_client_controls_it()
    {
        // Our proxy appends X-Forwarded-For; the client adds a Forwarded header of its own.
        Assert.Equal("81.2.69.160", Resolve("10.0.0.5", "81.2.69.160", "for=1.2.3.4", Options()));
        Assert.Equal("81.2.69.160", Resolve("10.0.0.5", "1.2.3.4", "for=81.2.69.160", Options(header: ForwardedHeader.Forwarded)));
    }

    [Fact]
    public void Without_trust_proxy_the_headers_are_ignored() =>
        Assert.Equal("10.0.0.5", Resolve("10.0.0.5", "81.2.69.160", "for=81.2.69.160", Options(trust: false)));

    [Fact]
    public void Only_the_listed_proxies_are_trusted()
    {
        var options = Options(proxies: "192.0.2.10, 2001:db8:ff::/48");
        Assert.Equal("81.2.69.160", Resolve("192.0.2.10", "81.2.69.160", null, options));
        Assert.Equal("192.0.2.11", Resolve("192.0.2.11", "81.2.69.160", null, options));
        Assert.Equal("81.2.69.160", Resolve("2001:db8:ff::1", "81.2.69.160, 192.0.2.10", null, options));
        Assert.Equal("10.0.0.5", Resolve("10.0.0.5", "81.2.69.160", null, options));
    }

    [Theory]
    [InlineData("10.0.0.0/8, fd00::/8", true)]
    [InlineData("192.0.2.1", true)]
    [InlineData("2001:db8::1", true)]
    [InlineData("", true)]
    [InlineData("10.0.0.0/33", false)]
    [InlineData("10.0.0.1/8", true)] // host bits are masked off: 10.0.0.0/8
    [InlineData("10.0.0.0/-1", false)]
    [InlineData("example.com", false)]
    [InlineData("10.0.0.0/8,,nope", false)]
    public void Trusted_proxies_parse_as_cidrs_or_addresses(string text, bool ok) =>
        Assert.Equal(ok, PrivacySettings.TryParseNetworks(text, out _, out _));
}
