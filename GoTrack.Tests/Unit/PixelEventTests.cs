using GoTrack.Tests.Support;

namespace GoTrack.Tests.Unit;

public sealed class PixelEventTests
{
    // Expected JSON is written with ' for " to keep the table readable.
    private static string J(string s) => s.Replace('\'', '"');

    private static readonly string Head = J("{'event_id':'ID','ts':'2026-11-27T12:34:56.789Z',");
    private static readonly string Sid = J("'sid':'AAAAAAAAAAAAAAAAAAAAAA',");
    private static readonly string Tail = J("'ua':'Mozilla/5.0 (test)','ip':'203.0.113.7'");

    public static TheoryData<string, string?, string> Cases => new()
    {
        { "", null, Head + J("'e':'pageview',") + Sid + Tail + "}" },
        { "?e=click", null, Head + J("'e':'click',") + Sid + Tail + "}" },
        { "?e=&uid=", null, Head + J("'e':'pageview',") + Sid + Tail + "}" },
        { "?uid=u%201&sid=s1&url=https%3A%2F%2Fa.example%2Fp%3Fx%3D1%26y%3D2", null,
            Head + J("'e':'pageview','uid':'u 1','sid':'s1','url':'https://a.example/p?x=1&y=2',") + Tail + "}" },
        { "?ref=https%3A%2F%2Fgoogle.com%2F", "https://ignored.example/", Head + J("'e':'pageview',") + Sid + J("'ref':'https://google.com/',") + Tail + "}" },
        { "?e=x", "https://page.example/a", Head + J("'e':'x',") + Sid + J("'url':'https://page.example/a',") + Tail + "}" },
        { "?utm_source=nl&utm_medium=email&utm_campaign=fall&utm_term=shoes&utm_content=hero", null,
            Head + J("'e':'pageview',") + Sid + Tail + J(",'utm':{'source':'nl','medium':'email','campaign':'fall','term':'shoes','content':'hero'}}") },
        { "?plan=pro&n=1&plan=free&flag", null, Head + J("'e':'pageview',") + Sid + Tail + J(",'props':{'plan':'pro','n':'1','flag':''}}") },
        { "?e=a+b%20c&q=%E2%9C%93%zz%4", null, Head + J("'e':'a b c',") + Sid + Tail + J(",'props':{'q':'✓%zz%4'}}") },
        { "?e=%22quoted%22%5C&x=%0A", null, Head + "\"e\":\"\\\"quoted\\\"\\\\\"," + Sid + Tail + J(",'props':{'x':'\\n'}}") },
        { "?e=%FF%00bad", null, Head + J("'e':'\uFFFD\uFFFDbad',") + Sid + Tail + "}" },
        { "?event_id=0190F3C2-7A1B-4C3D-8E4F-112233445566&e=buy", null,
            J("{'event_id':'0190f3c2-7a1b-4c3d-8e4f-112233445566','ts':'2026-11-27T12:34:56.789Z','e':'buy',") + Sid + Tail + "}" },
        { "?&&=x&e=y", null, Head + J("'e':'y',") + Sid + Tail + "}" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Pixel_query_becomes_the_event_model(string query, string? referer, string expected)
    {
        var (json, error) = Build.Pixel(query, referer);
        Assert.Null(error);
        Assert.Equal(expected, json);
    }

    [Theory]
    [InlineData("?event_id=not-a-uuid")]
    [InlineData("?event_id=00000000-0000-0000-0000-000000000000")]
    [InlineData("?event_id=0190f3c27a1b7c3d8e4f112233445566")]
    [InlineData("?event_id={0190f3c2-7a1b-4c3d-8e4f-112233445566}")]
    public void A_client_event_id_must_be_a_uuid(string query)
    {
        var (json, error) = Build.Pixel(query);
        Assert.Null(json);
        Assert.Equal("event_id must be a UUID", error);
    }

    [Fact]
    public void Oversized_fields_and_too_many_props_are_rejected_with_the_reason()
    {
        Assert.Equal("e is longer than 128 bytes", Build.Pixel("?e=" + new string('a', 129)).Error);
        Assert.Equal("url is longer than 8192 bytes", Build.Pixel("?url=" + new string('a', 8193)).Error);
        var many = string.Join('&', Enumerable.Range(0, 65).Select(i => $"p{i}=v"));
        Assert.Equal("more than 64 props", Build.Pixel("?" + many).Error);
        var exactly = string.Join('&', Enumerable.Range(0, 64).Select(i => $"p{i}=v"));
        Assert.Null(Build.Pixel("?" + exactly).Error);
    }

    [Fact]
    public void Ipv4_mapped_peers_are_written_as_ipv4_and_ipv6_as_is()
    {
        Assert.Contains("\"ip\":\"198.51.100.4\"", Build.Pixel("", ip: "::ffff:198.51.100.4").Json, StringComparison.Ordinal);
        Assert.Contains("\"ip\":\"2001:db8::1\"", Build.Pixel("", ip: "2001:db8::1").Json, StringComparison.Ordinal);
        Assert.DoesNotContain("\"ip\"", Build.Pixel("", ip: null).Json, StringComparison.Ordinal);
    }

    [Fact]
    public void A_long_user_agent_is_cut_at_1024_bytes_on_a_character_boundary()
    {
        var ua = new string('é', 600); // 1200 bytes
        var json = Build.Pixel("", ua: ua).Json!;
        var stored = System.Text.Json.JsonDocument.Parse(json).RootElement.GetProperty("ua").GetString()!;
        Assert.Equal(512, stored.Length);
    }

    [Fact]
    public void A_server_assigned_event_id_is_a_uuid_v7_carrying_the_receive_time()
    {
        var (record, _) = GoTrack.Ingest.Intake.EventBuilder.FromPixel("?e=x", null, Build.Info(), Build.Session);
        Assert.Equal(7, record!.EventId.Version);
        var ms = Convert.ToInt64(record.EventId.ToString("N")[..12], 16);
        Assert.Equal(Build.Now.ToUnixTimeMilliseconds(), ms);
        Assert.Equal("x", record.Type);
    }
}
