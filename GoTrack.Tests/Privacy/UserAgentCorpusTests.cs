using GoTrack.Ingest.Enrichment;

namespace GoTrack.Tests.Privacy;

/// <summary>The parser against a corpus of real user agents (TestData/user-agents.tsv), one case per line.</summary>
public sealed class UserAgentCorpusTests
{
    public static TheoryData<string, string, string, string> Corpus()
    {
        var data = new TheoryData<string, string, string, string>();
        foreach (var line in File.ReadLines(Path.Combine(AppContext.BaseDirectory, "TestData", "user-agents.tsv")))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var parts = line.Split('\t');
            data.Add(parts[3], parts[0], parts[1], parts[2]);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Corpus))]
    public void Each_real_user_agent_reads_as_expected(string ua, string browser, string os, string type)
    {
        var device = UserAgentParser.Parse(ua);
        Assert.Equal($"{browser}|{os}|{type}", device.ToString());
        Assert.Equal(type == "bot", device.IsBot);
    }

    [Fact]
    public void The_corpus_covers_browsers_in_app_views_tvs_consoles_bots_and_headless()
    {
        var rows = Corpus().Select(r => (string)r[0]!).ToArray();
        Assert.Equal(90, rows.Length);
        var devices = rows.Select(ua => UserAgentParser.Parse(ua)).ToArray();
        foreach (var type in new[] { DeviceType.Desktop, DeviceType.Mobile, DeviceType.Tablet, DeviceType.Tv, DeviceType.Console, DeviceType.Bot })
        {
            Assert.Contains(devices, d => d.Type == type);
        }

        // In-app views (their own name, not the engine's) and headless browsers (a bot).
        foreach (var inApp in new[] { "Facebook", "Instagram", "TikTok", "WeChat", "Snapchat", "Android WebView", "iOS WebView" })
        {
            Assert.Contains(devices, d => d.ToString().StartsWith(inApp + "|", StringComparison.Ordinal) && d.Type == DeviceType.Mobile);
        }

        Assert.Equal(2, devices.Count(d => d.ToString().StartsWith("HeadlessChrome|", StringComparison.Ordinal) && d.IsBot));
    }

    [Fact]
    public void With_bot_detection_off_a_crawler_reads_as_the_browser_it_claims()
    {
        const string ua = "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.69 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
        Assert.Equal("Chrome|Android|mobile", UserAgentParser.Parse(ua, detectBots: false).ToString());
        Assert.False(UserAgentParser.Parse(ua, detectBots: false).IsBot);
    }

    [Fact]
    public void No_user_agent_is_no_device()
    {
        Assert.False(UserAgentParser.Parse("").IsKnown);
        Assert.True(UserAgentParser.Parse("x").IsKnown);
        Assert.Equal("Other|Other|desktop", UserAgentParser.Parse("x").ToString());
    }

    [Fact]
    public void The_cache_answers_what_the_parser_answers_first_time_and_every_time_after()
    {
        foreach (var row in Corpus())
        {
            var ua = (string)row[0]!;
            foreach (var bots in new[] { true, false })
            {
                var parsed = UserAgentParser.Parse(ua, bots);
                Assert.Equal(parsed, DeviceCache.Parse(ua, bots));
                Assert.Equal(parsed, DeviceCache.Parse(new string(ua.AsSpan()), bots));
            }
        }

        var longUa = "Mozilla/5.0 " + new string('x', 600) + " Googlebot/2.1";
        Assert.True(DeviceCache.Parse(longUa, detectBots: true).IsBot);
        Assert.False(DeviceCache.Parse(longUa, detectBots: false).IsBot);
        Assert.False(DeviceCache.Parse(null, detectBots: true).IsKnown);
    }
}
