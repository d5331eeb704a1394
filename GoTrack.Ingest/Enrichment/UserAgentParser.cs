using System.Text;

namespace GoTrack.Ingest.Enrichment;

/// <summary>
/// A compact, table-driven user-agent parser: browser, OS and device type, plus bot detection. It keeps to
/// what analytics needs (coarse names, no versions) and allocates nothing: tokens are searched in the header
/// as a span, and results are indexes into static name tables.
/// </summary>
/// <remarks>
/// Written by hand because no maintained UA parser is on our package mirror, and because full parsers
/// (uap-core's regex list) cost tens of microseconds per header, against a per-event budget of 2 µs.
/// Rules are first-match in table order, so more specific tokens come first: Edge, Opera and Samsung
/// Internet all also say "Chrome/", and every Chromium browser also says "Safari/". The header is scanned
/// once; at each position only the tokens starting with its two characters are compared. (SearchValues
/// over all ~180 tokens was measured slower: with that many values it does not vectorize.)
/// Known blind spot: iPadOS 13+ Safari asks for desktop sites with a Mac user agent, so it reads as macOS
/// desktop, as it does for every server-side parser.
/// </remarks>
public static class UserAgentParser
{
    private static readonly string[] BrowserNames =
    [
        "Other", "Facebook", "Instagram", "TikTok", "Snapchat", "LinkedIn", "Pinterest", "LINE", "WeChat", "Google App",
        "Edge", "Opera", "Samsung Internet", "Yandex Browser", "Vivaldi", "UC Browser", "DuckDuckGo", "Firefox",
        "Android WebView", "Chrome", "Safari", "iOS WebView", "Internet Explorer", "Silk",
    ];

    /// <summary>(token, index into <see cref="BrowserNames"/>), first match wins.</summary>
    private static readonly (string Token, byte Browser)[] BrowserRules =
    [
        ("FBAN/", 1), ("FBAV/", 1), ("FB_IAB", 1),
        ("Instagram", 2),
        ("musical_ly", 3), ("BytedanceWebview", 3), ("TikTok", 3),
        ("Snapchat", 4),
        ("LinkedInApp", 5),
        ("Pinterest", 6),
        (" Line/", 7),
        ("MicroMessenger", 8),
        ("GSA/", 9),
        ("Edg/", 10), ("EdgA/", 10), ("EdgiOS/", 10), ("Edge/", 10),
        ("OPR/", 11), ("OPiOS/", 11), ("OPT/", 11), ("Opera", 11),
        ("SamsungBrowser/", 12),
        ("YaBrowser/", 13),
        ("Vivaldi/", 14),
        ("UCBrowser/", 15),
        ("DuckDuckGo/", 16), ("Ddg/", 16),
        ("Silk/", 23),
        ("Firefox/", 17), ("FxiOS/", 17),
        ("CriOS/", 19),
        ("; wv)", 18),
        ("Chrome/", 19), ("Chromium/", 19),
        ("Safari/", 20),
        ("Mobile/", 21),
        ("Trident/", 22), ("MSIE ", 22),
    ];

    private static readonly string[] OsNames =
    [
        "Other", "Windows Phone", "Xbox", "PlayStation", "Nintendo", "Tizen", "webOS", "KaiOS", "Android", "ChromeOS",
        "iOS", "macOS", "Windows", "Linux",
    ];

    private static readonly (string Token, byte Os)[] OsRules =
    [
        ("Windows Phone", 1),
        ("Xbox", 2),
        ("PlayStation", 3),
        ("Nintendo", 4),
        ("Tizen", 5),
        ("Web0S", 6), ("webOS", 6),
        ("KAIOS", 7), ("KaiOS", 7),
        ("Android", 8),
        ("CrOS", 9),
        ("iPhone", 10), ("iPad", 10), ("iPod", 10),
        ("Mac OS X", 11), ("Macintosh", 11),
        ("Windows", 12),
        ("Linux", 13), ("X11", 13),
    ];

    private static readonly string[] TvTokens =
    [
        "SMART-TV", "SmartTV", "Smart-TV", "SMART TV", "Tizen", "Web0S", "webOS", "HbbTV", "CrKey", "BRAVIA", "GoogleTV",
        "Google TV", "Android TV", "AppleTV", "Apple TV", "Roku", "; AFT", "AFTS", "AFTB", "AFTM", "NetCast", "VIDAA",
    ];

    private static readonly string[] ConsoleTokens = ["Xbox", "PlayStation", "Nintendo"];

    private static readonly string[] TabletTokens = ["iPad", "Tablet", "Kindle", "Silk/", "PlayBook"];

    private static readonly string[] MobileTokens = ["Mobi", "iPhone", "iPod", "Windows Phone", "Opera Mini", "KAIOS", "KaiOS"];

    /// <summary>
    /// Crawler and automation patterns (lower case, matched without case), then their display names. The
    /// list follows the crawlers that announce themselves (search engines, link previews, SEO and AI
    /// crawlers, uptime monitors), headless browsers and automation, and command-line/library HTTP clients.
    /// Generic words come last: the most specific pattern at the earliest position names the bot.
    /// </summary>
    private static readonly (string Pattern, string Name)[] BotRules =
    [
        ("googlebot", "Googlebot"), ("adsbot-google", "AdsBot-Google"), ("mediapartners-google", "Mediapartners-Google"),
        ("google-inspectiontool", "Google-InspectionTool"), ("storebot-google", "Storebot-Google"), ("apis-google", "APIs-Google"),
        ("feedfetcher-google", "FeedFetcher-Google"), ("googleother", "GoogleOther"), ("google-extended", "Google-Extended"),
        ("bingbot", "Bingbot"), ("bingpreview", "BingPreview"), ("adidxbot", "AdIdxBot"), ("slurp", "Yahoo Slurp"),
        ("duckduckbot", "DuckDuckBot"), ("baiduspider", "Baiduspider"), ("yandexbot", "YandexBot"), ("yandex.com/bots", "YandexBot"),
        ("applebot", "Applebot"), ("facebookexternalhit", "facebookexternalhit"), ("facebookcatalog", "facebookcatalog"),
        ("meta-externalagent", "meta-externalagent"), ("twitterbot", "Twitterbot"), ("linkedinbot", "LinkedInBot"),
        ("slackbot", "Slackbot"), ("slack-imgproxy", "Slackbot"), ("discordbot", "Discordbot"), ("telegrambot", "TelegramBot"),
        ("whatsapp", "WhatsApp"), ("skypeuripreview", "SkypeUriPreview"), ("pinterestbot", "Pinterestbot"),
        ("redditbot", "redditbot"), ("embedly", "Embedly"), ("ahrefsbot", "AhrefsBot"), ("semrushbot", "SemrushBot"),
        ("mj12bot", "MJ12bot"), ("dotbot", "DotBot"), ("petalbot", "PetalBot"), ("bytespider", "Bytespider"),
        ("gptbot", "GPTBot"), ("chatgpt-user", "ChatGPT-User"), ("oai-searchbot", "OAI-SearchBot"), ("claudebot", "ClaudeBot"),
        ("claude-web", "Claude-Web"), ("anthropic-ai", "anthropic-ai"), ("perplexitybot", "PerplexityBot"), ("ccbot", "CCBot"),
        ("amazonbot", "Amazonbot"), ("diffbot", "Diffbot"), ("ia_archiver", "ia_archiver"), ("archive.org_bot", "archive.org_bot"),
        ("uptimerobot", "UptimeRobot"), ("pingdom", "Pingdom"), ("statuscake", "StatusCake"), ("site24x7", "Site24x7"),
        ("gtmetrix", "GTmetrix"), ("headlesschrome", "HeadlessChrome"), ("chrome-lighthouse", "Lighthouse"),
        ("lighthouse", "Lighthouse"), ("pagespeed", "PageSpeed"), ("phantomjs", "PhantomJS"), ("puppeteer", "Puppeteer"),
        ("playwright", "Playwright"), ("selenium", "Selenium"), ("cypress/", "Cypress"), ("slimerjs", "SlimerJS"),
        ("jsdom", "jsdom"), ("curl/", "curl"), ("wget/", "Wget"), ("python-requests", "python-requests"),
        ("python-urllib", "Python-urllib"), ("python-httpx", "python-httpx"), ("aiohttp", "aiohttp"), ("scrapy", "Scrapy"),
        ("go-http-client", "Go-http-client"), ("java/", "Java"), ("okhttp", "okhttp"), ("apache-httpclient", "Apache-HttpClient"),
        ("axios/", "axios"), ("node-fetch", "node-fetch"), ("undici", "undici"), ("libwww-perl", "libwww-perl"),
        ("httpie", "HTTPie"), ("postmanruntime", "PostmanRuntime"), ("insomnia/", "Insomnia"), ("zgrab", "zgrab"),
        ("masscan", "masscan"), ("nmap", "Nmap"),
        ("headless", "Headless browser"), ("crawler", "Crawler"), ("crawling", "Crawler"), ("spider", "Spider"),
        ("scraper", "Scraper"), ("+http", "Bot"), ("bot", "Bot"),
    ];

    private const string GenericBot = "bot";

    private static readonly byte[][] BrowserUtf8 = [.. BrowserNames.Select(Encoding.UTF8.GetBytes)];
    private static readonly byte[][] OsUtf8 = [.. OsNames.Select(Encoding.UTF8.GetBytes)];
    private static readonly byte[][] BotUtf8 = [.. BotRules.Select(r => Encoding.UTF8.GetBytes(r.Name))];

    public static ReadOnlySpan<byte> BrowserNameUtf8(byte index) => BrowserUtf8[index];

    public static ReadOnlySpan<byte> OsNameUtf8(byte index) => OsUtf8[index];

    public static ReadOnlySpan<byte> BotNameUtf8(byte index) => BotUtf8[index];

    /// <summary>What a token of the browser, OS and device-type tables says when it is found.</summary>
    private enum Role : byte
    {
        Browser,
        Os,
        Tv,
        Console,
        Tablet,
        Mobile,
    }

    /// <summary>Every distinct token of the browser, OS and type tables, with what each one says.</summary>
    private static readonly (string Token, (Role Role, byte Value, short Priority)[] Says)[] Tokens = BuildTokens();

    /// <summary>Token indexes by their first two characters: what to check at each position of the header.</summary>
    private static readonly int[][] TokenIndex = BuildPairIndex([.. Tokens.Select(t => t.Token)], ignoreCase: false);

    /// <summary>Bot pattern indexes (in table order) by their first two characters, lower case.</summary>
    private static readonly int[][] BotIndex = BuildPairIndex([.. BotRules.Select(r => r.Pattern)], ignoreCase: true);

    private static (string, (Role, byte, short)[])[] BuildTokens()
    {
        var says = new Dictionary<string, List<(Role, byte, short)>>(StringComparer.Ordinal);
        void Add(string token, Role role, byte value, int priority)
        {
            if (!says.TryGetValue(token, out var list))
            {
                says[token] = list = [];
            }

            list.Add((role, value, (short)priority));
        }

        for (var i = 0; i < BrowserRules.Length; i++)
        {
            Add(BrowserRules[i].Token, Role.Browser, BrowserRules[i].Browser, i);
        }

        for (var i = 0; i < OsRules.Length; i++)
        {
            Add(OsRules[i].Token, Role.Os, OsRules[i].Os, i);
        }

        foreach (var t in TvTokens)
        {
            Add(t, Role.Tv, 0, 0);
        }

        foreach (var t in ConsoleTokens)
        {
            Add(t, Role.Console, 0, 0);
        }

        foreach (var t in TabletTokens)
        {
            Add(t, Role.Tablet, 0, 0);
        }

        foreach (var t in MobileTokens)
        {
            Add(t, Role.Mobile, 0, 0);
        }

        return [.. says.Select(kv => (kv.Key, kv.Value.ToArray()))];
    }

    private static int[][] BuildPairIndex(string[] tokens, bool ignoreCase)
    {
        var lists = new List<int>?[128 * 128];
        for (var i = 0; i < tokens.Length; i++)
        {
            var t = tokens[i];
            var key = ignoreCase ? Key(Lower(t[0]), Lower(t[1])) : Key(t[0], t[1]);
            (lists[key] ??= []).Add(i);
        }

        return [.. lists.Select(l => l is null ? [] : l.ToArray())];
    }

    private static int Key(char first, char second) => ((first & 0x7F) << 7) | (second & 0x7F);

    private static char Lower(char c) => c is >= 'A' and <= 'Z' ? (char)(c | 0x20) : c;

    /// <summary>Parses a User-Agent header. Empty input gives the default (unknown) device.</summary>
    /// <param name="detectBots">False (BOT_MODE=off) reads crawlers as whatever browser they claim to be.</param>
    public static DeviceInfo Parse(ReadOnlySpan<char> ua, bool detectBots = true)
    {
        if (ua.IsEmpty)
        {
            return default;
        }

        // One pass over the header. At each position, the tokens that start with its two characters are
        // checked (usually none). Per table, the match that comes first in table order wins: exactly
        // "the first rule, in table order, that the header contains". The first bot pattern found, at the
        // earliest position and most specific first, names the bot.
        int browserPriority = int.MaxValue, osPriority = int.MaxValue, bot = -1;
        byte browser = 0, os = 0;
        bool tv = false, console = false, tablet = false, mobile = false;
        for (var i = 0; i + 1 < ua.Length; i++)
        {
            var candidates = TokenIndex[Key(ua[i], ua[i + 1])];
            foreach (var t in candidates)
            {
                var (token, says) = Tokens[t];
                if (!ua[i..].StartsWith(token, StringComparison.Ordinal))
                {
                    continue;
                }

                foreach (var (role, value, priority) in says)
                {
                    switch (role)
                    {
                        case Role.Browser when priority < browserPriority:
                            browserPriority = priority;
                            browser = value;
                            break;
                        case Role.Os when priority < osPriority:
                            osPriority = priority;
                            os = value;
                            break;
                        case Role.Tv: tv = true; break;
                        case Role.Console: console = true; break;
                        case Role.Tablet: tablet = true; break;
                        case Role.Mobile: mobile = true; break;
                        default: break;
                    }
                }
            }

            if (detectBots && bot < 0)
            {
                bot = BotAt(ua, i);
            }
        }

        if (bot >= 0)
        {
            return new DeviceInfo((byte)bot, os, DeviceType.Bot, IsBot: true);
        }

        // Android browsers say "Mobile" on phones and leave it out on tablets.
        var type = tv ? DeviceType.Tv
            : console ? DeviceType.Console
            : tablet ? DeviceType.Tablet
            : mobile ? DeviceType.Mobile
            : os == AndroidOs ? DeviceType.Tablet
            : DeviceType.Desktop;
        return new DeviceInfo(browser, os, type, IsBot: false);
    }

    private const byte AndroidOs = 8;

    /// <summary>The bot pattern that starts at <paramref name="i"/>, most specific first; -1 for none.</summary>
    private static int BotAt(ReadOnlySpan<char> ua, int i)
    {
        foreach (var b in BotIndex[Key(Lower(ua[i]), Lower(ua[i + 1]))])
        {
            var pattern = BotRules[b].Pattern;
            if (ua[i..].StartsWith(pattern, StringComparison.OrdinalIgnoreCase))
            {
                // "bot" inside a phone's model name (Cubot) is not a crawler.
                if (ReferenceEquals(pattern, GenericBot) && i >= 2 && ua.Slice(i - 2, 2).Equals("cu", StringComparison.OrdinalIgnoreCase))
                {
                    return -1;
                }

                return b;
            }
        }

        return -1;
    }
}
