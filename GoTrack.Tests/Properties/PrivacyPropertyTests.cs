using System.Net;
using CsCheck;
using GoTrack.Ingest.Configuration;
using GoTrack.Ingest.Enrichment;
using GoTrack.Ingest.Intake;
using GoTrack.Ingest.Privacy;
using Microsoft.Extensions.Primitives;

namespace GoTrack.Tests.Properties;

/// <summary>Properties of the privacy parsers: they never throw, and a client can never choose its own address.</summary>
public sealed class PrivacyPropertyTests
{
    private static readonly Gen<IPAddress> V4 = Gen.UInt.Select(u => new IPAddress(BitConverter.GetBytes(u)));
    private static readonly Gen<IPAddress> V6 = Gen.Byte.Array[16].Select(b => new IPAddress(b));
    private static readonly Gen<IPAddress> AnyIp = Gen.OneOf(V4, V6);

    /// <summary>Public addresses (never in the default trusted ranges).</summary>
    private static readonly Gen<IPAddress> PublicIp = Gen.OneOf(
        Gen.Int[1, 9].SelectMany(a => Gen.Byte.Array[3].Select(rest => new IPAddress([(byte)a, rest[0], rest[1], rest[2]]))),
        Gen.Byte.Array[14].Select(rest => new IPAddress([0x20, 0x01, .. rest])));

    private static readonly Gen<IPAddress> TrustedIp = Gen.OneOf(
        Gen.Byte.Array[3].Select(rest => new IPAddress([10, rest[0], rest[1], rest[2]])),
        Gen.Byte.Array[15].Select(rest => new IPAddress([0xfd, .. rest])));

    private static readonly Gen<string> HeaderText = Gen.OneOf(
        Gen.Const(","), Gen.Const(";"), Gen.Const("\""), Gen.Const("["), Gen.Const("]"), Gen.Const(":"), Gen.Const("for="),
        Gen.Const("unknown"), Gen.Const("_x"), Gen.Const(" "), Gen.Const("by="), Gen.Const("proto=https"),
        AnyIp.Select(ip => ip.ToString()), Gen.Char.Select(c => c.ToString()), Gen.Int[0, 70000].Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)))
        .Array[0, 20].Select(string.Concat);

    private static readonly PrivacyOptions Trusting = new()
    {
        TrustProxy = true,
        TrustedProxies = Parse(PrivacyOptions.DefaultTrustedProxies),
    };

    private static IPNetwork[] Parse(string text)
    {
        Assert.True(PrivacySettings.TryParseNetworks(text, out var n, out _));
        return n;
    }

    private static string Entry(IPAddress ip, bool forwarded, int style) => (forwarded, ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6, style % 2) switch
    {
        (false, false, 0) => ip.ToString(),
        (false, false, _) => ip + ":443",
        (false, true, 0) => ip.ToString(),
        (false, true, _) => $"[{ip}]:443",
        (true, false, 0) => "for=" + ip,
        (true, false, _) => $"for=\"{ip}:443\";proto=https",
        (true, true, _) => $"for=\"[{ip}]:{style}\"",
    };

    [Fact]
    public void Whatever_the_client_writes_first_the_address_our_proxies_saw_wins() =>
        Gen.Select(HeaderText, PublicIp, TrustedIp.Array[0, 4], TrustedIp, Gen.Bool, Gen.Int[0, 3])
            .Sample((spoof, client, hops, peer, forwarded, style) =>
            {
                // The client sends any header it likes; our proxies then append the client's real address
                // and their own hops. Only the part right of the spoof is trusted.
                var chain = string.Join(", ", new[] { spoof }.Where(s => s.Length > 0)
                    .Concat([Entry(client, forwarded, style)]).Concat(hops.Select(h => Entry(h, forwarded, style))));
                var options = new PrivacyOptions
                {
                    TrustProxy = true,
                    TrustedProxies = Trusting.TrustedProxies,
                    ForwardedHeader = forwarded ? ForwardedHeader.Forwarded : ForwardedHeader.XForwardedFor,
                };
                var resolved = ClientIpResolver.Resolve(peer,
                    forwarded ? StringValues.Empty : new StringValues(chain),
                    forwarded ? new StringValues(chain) : StringValues.Empty, options);
                Assert.Equal(client, resolved);
            }, iter: 5_000);

    /// <summary>
    /// Any header text: no exception, always an address, and the peer itself whenever the header in use
    /// holds no hex digit and no colon (so no address, not even "::", can be read from it). Which address a well-formed
    /// chain gives is the property above.
    /// </summary>
    [Fact]
    public void Resolve_never_throws_and_without_an_address_in_the_header_answers_the_peer() =>
        Gen.Select(AnyIp, HeaderText, HeaderText, Gen.Bool)
            .Sample((peer, xff, fwd, useForwarded) =>
            {
                var options = new PrivacyOptions
                {
                    TrustProxy = true,
                    TrustedProxies = [new IPNetwork(IPAddress.Any, 0), new IPNetwork(IPAddress.IPv6Any, 0)],
                    ForwardedHeader = useForwarded ? ForwardedHeader.Forwarded : ForwardedHeader.XForwardedFor,
                };
                var resolved = ClientIpResolver.Resolve(peer, new StringValues(xff), new StringValues(fwd), options);
                Assert.NotNull(resolved);
                if (!(useForwarded ? fwd : xff).Any(c => char.IsAsciiHexDigit(c) || c == ':'))
                {
                    Assert.Equal(ClientIpResolver.Normalize(peer), resolved);
                }

                _ = ForwardedParser.Address(xff);
                _ = ForwardedParser.ForValue(fwd);
            }, iter: 20_000);

    [Fact]
    public void A_cidr_contains_exactly_the_addresses_that_share_its_prefix() =>
        Gen.Select(AnyIp, Gen.Int[0, 128], AnyIp)
            .Sample((ip, prefix, probe) =>
            {
                var bits = ip.GetAddressBytes().Length * 8;
                prefix = Math.Min(prefix, bits);
                var text = $"{ip}/{prefix}";
                Assert.True(PrivacySettings.TryParseNetworks(text, out var networks, out _), text);
                var network = Assert.Single(networks);
                Assert.True(network.Contains(ip));
                var p = probe.GetAddressBytes();
                var a = ip.GetAddressBytes();
                var samePrefix = p.Length == a.Length && Enumerable.Range(0, prefix).All(i => ((a[i / 8] ^ p[i / 8]) & (0x80 >> (i % 8))) == 0);
                Assert.Equal(samePrefix, network.Contains(probe));
            }, iter: 20_000);

    [Fact]
    public void Cidr_lists_never_throw() =>
        HeaderText.Sample(text => { _ = PrivacySettings.TryParseNetworks(text, out _, out _); }, iter: 20_000);

    [Fact]
    public void The_user_agent_parser_never_throws_and_always_names_a_device() =>
        Gen.OneOf(Gen.String, HeaderText, Gen.String[Gen.Char["botcrawlHeadsChrome/;()CUcu "], 0, 80])
            .Sample(ua =>
            {
                var device = UserAgentParser.Parse(ua);
                Assert.Equal(ua.Length > 0, device.IsKnown);
                if (device.IsKnown)
                {
                    Assert.False(device.BrowserName.IsEmpty);
                    Assert.False(device.OsName.IsEmpty);
                    Assert.False(device.TypeName.IsEmpty);
                }
            }, iter: 20_000);

    private static readonly Gen<string> Label = Gen.String[Gen.Char["abcxyz019-"], 1, 12].Where(l => l[0] != '-' && l[^1] != '-');

    [Fact]
    public void A_wildcard_origin_matches_every_subdomain_and_nothing_else() =>
        Gen.Select(Label.Array[1, 4], Label, Gen.Bool)
            .Sample((subs, domain, https) =>
            {
                var scheme = https ? "https" : "http";
                var allow = OriginAllowlist.Parse($"{scheme}://*.{domain}.example", out var error);
                Assert.Null(error);
                var host = string.Join('.', subs) + "." + domain + ".example";
                Assert.True(allow.IsAllowed($"{scheme}://{host}"));
                Assert.True(allow.IsAllowed($"{scheme}://{host.ToUpperInvariant()}"));
                Assert.False(allow.IsAllowed($"{scheme}://{domain}.example"));
                Assert.False(allow.IsAllowed($"{scheme}://{subs[0]}{domain}.example"));
                Assert.False(allow.IsAllowed($"{scheme}://{host}.evil"));
                Assert.False(allow.IsAllowed($"{scheme}://{host}:8443"));
                Assert.False(allow.IsAllowed($"{(https ? "http" : "https")}://{host}"));
                Assert.False(allow.IsAllowed($"{scheme}://evil.com/.{domain}.example"));
                Assert.False(allow.IsAllowed($"{scheme}://evil.com@x.{domain}.example"));
            }, iter: 5_000);

    [Fact]
    public void An_exact_origin_matches_itself_only() =>
        Gen.Select(Label.Array[1, 3], Gen.Int[1, 65535])
            .Sample((labels, port) =>
            {
                var host = string.Join('.', labels) + ".test";
                var allow = OriginAllowlist.Parse($"https://{host}:{port}", out var error);
                Assert.Null(error);
                Assert.True(allow.IsAllowed($"https://{host}:{port}"));
                Assert.False(allow.IsAllowed($"https://{host}"));
                Assert.False(allow.IsAllowed($"http://{host}:{port}"));
                Assert.False(allow.IsAllowed($"https://x.{host}:{port}"));
            }, iter: 5_000);

    [Fact]
    public void Origin_parsing_and_matching_never_throw() =>
        Gen.Select(Gen.String, Gen.String).Sample((list, origin) =>
        {
            var allow = OriginAllowlist.Parse(list, out _);
            _ = allow.IsAllowed(origin);
        }, iter: 20_000);

    private static readonly PrivacyPolicy Strictest = new(new PrivacyOptions
    {
        IpMode = IpMode.Hash, CookieMode = CookieMode.Off, IpHashSecret = "property-secret-0123456789"u8.ToArray(),
    }, null, null);

    [Fact]
    public void Hashed_cookieless_events_are_built_whatever_the_url_user_agent_and_host() =>
        Gen.Select(Gen.String[0, 3000], Gen.OneOf(Gen.String[0, 1500], Gen.Const("Mozilla/5.0 (compatible; Googlebot/2.1)")), Gen.String[0, 300], AnyIp, Gen.Bool)
            .Sample((url, ua, host, ip, anonymize) =>
            {
                var info = RequestInfo.Create(GoTrack.Tests.Support.Build.Now, ua, ip, Strictest, host, anonymize);
                var (record, error) = EventBuilder.FromPixel("?url=" + Uri.EscapeDataString(url) + "&utm_source=x", null, info, []);
                Assert.True(record is not null || error is not null);
                if (record is not null)
                {
                    var json = System.Text.Encoding.UTF8.GetString(record.Json);
                    Assert.DoesNotContain(ip.ToString(), json, StringComparison.Ordinal);
                    using var doc = System.Text.Json.JsonDocument.Parse(json);
                    Assert.Equal(!anonymize, doc.RootElement.TryGetProperty("sid", out _));
                }
            }, iter: 3_000);
}
