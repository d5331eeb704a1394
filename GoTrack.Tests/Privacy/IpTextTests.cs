using System.Net;
using System.Text;
using GoTrack.Ingest.Privacy;

namespace GoTrack.Tests.Privacy;

public sealed class IpTextTests
{
    private static readonly DateTimeOffset Day1 = new(2026, 11, 27, 23, 59, 59, TimeSpan.Zero);
    private static readonly DateTimeOffset Day1Morning = new(2026, 11, 27, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Day2 = new(2026, 11, 28, 0, 0, 0, TimeSpan.Zero);
    private static readonly byte[] Secret = Encoding.UTF8.GetBytes("a shared secret of some length");

    private static string Write(string ip, IpMode mode, DailyKey? key = null, DateTimeOffset? now = null)
    {
        var buffer = new byte[IpText.MaxLength];
        var n = IpText.Write(IPAddress.Parse(ip), mode, key, now ?? Day1, buffer);
        return Encoding.UTF8.GetString(buffer, 0, n);
    }

    [Theory]
    [InlineData("81.2.69.160", IpMode.Raw, "81.2.69.160")]
    [InlineData("::ffff:81.2.69.160", IpMode.Raw, "81.2.69.160")]
    [InlineData("2001:db8:cafe:1::17", IpMode.Raw, "2001:db8:cafe:1::17")]
    [InlineData("81.2.69.160", IpMode.Truncate, "81.2.69.0")]
    [InlineData("255.255.255.255", IpMode.Truncate, "255.255.255.0")]
    [InlineData("0.0.0.0", IpMode.Truncate, "0.0.0.0")]
    [InlineData("::ffff:81.2.69.160", IpMode.Truncate, "81.2.69.0")]
    [InlineData("2001:db8:cafe:1::17", IpMode.Truncate, "2001:db8:cafe::")]
    [InlineData("2001:db8:0:1::17", IpMode.Truncate, "2001:db8::")]
    [InlineData("2001:0:0:1::17", IpMode.Truncate, "2001::")]
    [InlineData("0:0:1:2::", IpMode.Truncate, "0:0:1::")]
    [InlineData("::1", IpMode.Truncate, "::")]
    [InlineData("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", IpMode.Truncate, "ffff:ffff:ffff::")]
    [InlineData("81.2.69.160", IpMode.Drop, "")]
    [InlineData("2001:db8::1", IpMode.Drop, "")]
    public void Each_mode_keeps_what_it_says(string ip, IpMode mode, string expected) =>
        Assert.Equal(expected, Write(ip, mode));

    [Fact]
    public void Truncated_ipv6_is_a_valid_address_of_the_48()
    {
        var text = Write("2001:db8:cafe:1234:5678::1", IpMode.Truncate);
        Assert.True(IPNetwork.Parse("2001:db8:cafe::/48").Contains(IPAddress.Parse(text)));
    }

    [Fact]
    public void The_hash_is_stable_within_a_utc_day_and_across_instances_sharing_the_secret()
    {
        var a = new DailyKey(Secret);
        var b = new DailyKey(Secret);
        var h1 = Write("81.2.69.160", IpMode.Hash, a, Day1Morning);
        Assert.Equal(22, h1.Length);
        Assert.Matches("^[A-Za-z0-9_-]{22}$", h1);
        Assert.Equal(h1, Write("81.2.69.160", IpMode.Hash, a, Day1));
        Assert.Equal(h1, Write("81.2.69.160", IpMode.Hash, b, Day1));
        Assert.Equal(h1, Write("::ffff:81.2.69.160", IpMode.Hash, b, Day1));
    }

    [Fact]
    public void The_hash_changes_with_the_day_the_address_and_the_secret()
    {
        var key = new DailyKey(Secret);
        var h = Write("81.2.69.160", IpMode.Hash, key, Day1);
        Assert.NotEqual(h, Write("81.2.69.160", IpMode.Hash, key, Day2));
        Assert.NotEqual(h, Write("81.2.69.161", IpMode.Hash, key, Day1));
        Assert.NotEqual(h, Write("81.2.69.160", IpMode.Hash, new DailyKey(Encoding.UTF8.GetBytes("another secret, same length!!!")), Day1));
        Assert.NotEqual(h, Write("81.2.69.160", IpMode.Hash, new DailyKey(null), Day1));
        Assert.NotEqual(Write("2001:db8::1", IpMode.Hash, key, Day1), Write("2001:db8::2", IpMode.Hash, key, Day1));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(55)]
    [InlineData(64)]
    [InlineData(1023)]
    [InlineData(5000)]
    public void The_hand_rolled_hmac_equals_the_librarys(int length)
    {
        var key = new DailyKey(Secret);
        var input = new byte[length];
        new Random(length).NextBytes(input);
        var mine = new byte[32];
        key.Mac(Day1, input, mine);
        Assert.Equal(System.Security.Cryptography.HMACSHA256.HashData(key.KeyFor(Day1), input), mine);
    }

    [Fact]
    public void Without_a_secret_each_process_draws_its_own()
    {
        Assert.True(new DailyKey(null).IsRandomSecret);
        Assert.False(new DailyKey(Secret).IsRandomSecret);
        Assert.NotEqual(new DailyKey(null).KeyFor(Day1).ToArray(), new DailyKey(null).KeyFor(Day1).ToArray());
    }
}
