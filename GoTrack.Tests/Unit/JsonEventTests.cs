using GoTrack.Tests.Support;

namespace GoTrack.Tests.Unit;

public sealed class JsonEventTests
{
    // Inputs and expected JSON are written with ' for " to keep the table readable.
    private static string J(string s) => s.Replace('\'', '"');

    private static readonly string Head = J("{'event_id':'ID','ts':'2026-11-27T12:34:56.789Z',");
    private static readonly string Sid = J("'sid':'AAAAAAAAAAAAAAAAAAAAAA',");
    private static readonly string Tail = J("'ua':'Mozilla/5.0 (test)','ip':'203.0.113.7'");

    public static TheoryData<string, string> Cases => new()
    {
        { "{}", Head + J("'e':'pageview',") + Sid + Tail + "}" },
        { J("{'e':'signup','uid':'u1','sid':'s9','url':'https:\\/\\/a.example\\/x','ref':null}"),
            Head + J("'e':'signup','uid':'u1','sid':'s9','url':'https://a.example/x',") + Tail + "}" },
        { J("{'utm':{'source':'nl','campaign':'c','other':1},'utm_medium':'email'}"),
            Head + J("'e':'pageview',") + Sid + Tail + J(",'utm':{'source':'nl','medium':'email','campaign':'c'}}") },
        { J("{'props':{'plan':'pro','n':1.50,'ok':true,'nil':null,'list':[1,{'a':'\\u00e9'}]},'extra':'x'}"),
            Head + J("'e':'pageview',") + Sid + Tail + J(",'props':{'plan':'pro','n':1.50,'ok':true,'nil':null,'list':[1,{'a':'é'}],'extra':'x'}}") },
        { J("{'ts':'1999-01-01T00:00:00Z','ip':'1.2.3.4','ua':'spoof','geo':{'country':'XX'}}"),
            Head + J("'e':'pageview',") + Sid + Tail + "}" },
        { J("{'e':'a','e':'b','props':{'k':1,'k':2}}"), Head + J("'e':'a',") + Sid + Tail + J(",'props':{'k':1}}") },
        { J("{'p':'nul\\u0000here'}"), Head + J("'e':'pageview',") + Sid + Tail + J(",'props':{'p':'nul\uFFFDhere'}}") },
        { J("{'event_id':'0190f3c2-7a1b-4c3d-8e4f-112233445566'}"),
            J("{'event_id':'0190f3c2-7a1b-4c3d-8e4f-112233445566','ts':'2026-11-27T12:34:56.789Z','e':'pageview',") + Sid + Tail + "}" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_json_event_becomes_the_event_model(string element, string expected)
    {
        var (json, error) = Build.Json(element);
        Assert.Null(error);
        Assert.Equal(expected, json);
    }

    [Theory]
    [InlineData("5", "event must be a JSON object")]
    [InlineData("[]", "event must be a JSON object")]
    [InlineData("{'e':5}", "e must be a string")]
    [InlineData("{'url':{'a':1}}", "url must be a string")]
    [InlineData("{'event_id':'123'}", "event_id must be a UUID")]
    [InlineData("{'event_id':7}", "event_id must be a string")]
    [InlineData("{'utm':'x'}", "utm must be an object")]
    [InlineData("{'utm':{'source':1}}", "utm.source must be a string")]
    [InlineData("{'props':[1]}", "props must be an object")]
    public void Bad_events_are_rejected_with_a_reason(string element, string reason)
    {
        var (json, error) = Build.Json(J(element));
        Assert.Null(json);
        Assert.Equal(reason, error);
    }
}
