using System.Text;
using GoTrack.Core.Events;
using GoTrack.Ingest.Configuration;
using GoTrack.Ingest.Parsing;
using GoTrack.Ingest.Session;

namespace GoTrack.Tests.Unit;

public sealed class SmallPartsTests
{
    [Theory]
    [InlineData("2026-11-27T12:34:56.789+00:00", "2026-11-27T12:34:56.789Z")]
    [InlineData("0001-01-01T00:00:00.000+00:00", "0001-01-01T00:00:00.000Z")]
    [InlineData("2026-01-02T03:04:05.006+02:00", "2026-01-02T01:04:05.006Z")]
    [InlineData("9999-12-31T23:59:59.999+00:00", "9999-12-31T23:59:59.999Z")]
    public void Rfc3339_has_milliseconds_and_z(string input, string expected)
    {
        var bytes = new byte[Rfc3339.Length];
        Rfc3339.Format(DateTimeOffset.Parse(input, System.Globalization.CultureInfo.InvariantCulture), bytes);
        Assert.Equal(expected, Encoding.ASCII.GetString(bytes));
    }

    [Theory]
    [InlineData("", "")]
    [InlineData("a+b", "a b")]
    [InlineData("%41%2b%2B", "A++")]
    [InlineData("100%", "100%")]
    [InlineData("%4", "%4")]
    [InlineData("%G1x", "%G1x")]
    [InlineData("%E2%82%AC", "€")]
    [InlineData("é", "é")]
    [InlineData("😀", "😀")]
    public void Percent_decoding(string encoded, string expected)
    {
        var buffer = new byte[Scratch.Worst(encoded.Length)];
        var n = PercentDecoder.Decode(encoded, buffer);
        Assert.Equal(expected, Encoding.UTF8.GetString(buffer, 0, n));
    }

    [Theory]
    [InlineData(":19890", "http://*:19890")]
    [InlineData("127.0.0.1:8080", "http://127.0.0.1:8080")]
    [InlineData("0.0.0.0:80", "http://0.0.0.0:80")]
    [InlineData("localhost:0", "http://localhost:0")]
    [InlineData("[::1]:19890", "http://[::1]:19890")]
    [InlineData("http://127.0.0.1:5000", "http://127.0.0.1:5000")]
    [InlineData("19890", null)]
    [InlineData(":99999", null)]
    [InlineData("host:port", null)]
    [InlineData("[nope]:1", null)]
    [InlineData("a b:1", null)]
    public void Server_addresses_in_go_style(string address, string? url) =>
        Assert.Equal(url, GoTrack.Core.Configuration.ListenAddress.ToUrl(address));

    [Fact]
    public void Session_cookie_values_are_random_22_char_base64url_and_only_those_are_read()
    {
        var cookie = new SessionCookie(new CookieSettings { Name = "gt_sid", MaxAgeSeconds = 3600, Domain = "example.com" });
        var header = cookie.NewSetCookieHeader(secure: true);
        var value = cookie.ValueOf(header).ToString();
        Assert.True(SessionCookie.IsValid(value));
        Assert.Equal($"gt_sid={value}; Path=/; Max-Age=3600; Domain=example.com; HttpOnly; SameSite=Lax; Secure", header);
        Assert.NotEqual(value, cookie.ValueOf(cookie.NewSetCookieHeader(false)).ToString());
        Assert.DoesNotContain("Secure", cookie.NewSetCookieHeader(false), StringComparison.Ordinal);

        Assert.Equal(value, cookie.Read(new[] { $"a=1; gt_sid={value}; b=2" }).ToString());
        Assert.Equal(value, cookie.Read(new[] { "x=y", $"gt_sid=\"{value}\"" }).ToString());
        Assert.True(cookie.Read(new[] { "gt_sid=short" }).IsEmpty);
        Assert.True(cookie.Read(new[] { "gt_sid=AAAAAAAAAAAAAAAAAAAA<>" }).IsEmpty);
        Assert.True(cookie.Read(new[] { $"xgt_sid={value}" }).IsEmpty);
        Assert.True(cookie.Read(default).IsEmpty);
    }
}
