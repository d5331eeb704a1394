namespace GoTrack.Tests.Browser;

/// <summary>
/// The browser tests load the seed's own snippets: TestSite's must be the seed's, character for character but
/// the host. The seed lives outside the repository (../shared/seed/gotrack-pixel.md, "JS snippet (pixel)",
/// lines 224-226 and 232-242), so its text is quoted here; beside a checkout that has the seed (or with
/// GOTRACK_SEED naming the file), the quote is also checked against the file.
/// </summary>
public sealed class TestSiteTests
{
    private const string SeedImg = """
        <img src="https://collect.example.com/px.gif?e=pageview&url=" + encodeURIComponent(location.href) +
             "&ref=" + encodeURIComponent(document.referrer)
             width="1" height="1" style="display:none" alt="">
        """;

    private const string SeedLoader = """
        <script>
        (function(){
          var img = new Image(1,1);
          var q = new URLSearchParams({
            e: 'pageview',
            url: location.href,
            ref: document.referrer
          });
          img.src = 'https://collect.example.com/px.gif?' + q.toString();
        })();
        </script>
        """;

    [Fact]
    public void The_test_site_s_snippets_are_the_seed_s_but_for_the_host()
    {
        Assert.Equal(SeedImg, TestSite.ImgSnippet("https://collect.example.com"));
        Assert.Equal(SeedLoader, TestSite.Loader("https://collect.example.com"));
        Assert.Equal(SeedLoader.Replace("https://collect.example.com", "http://127.0.0.1:5005", StringComparison.Ordinal), TestSite.Loader("http://127.0.0.1:5005"));

        var seed = Environment.GetEnvironmentVariable("GOTRACK_SEED") is { Length: > 0 } path
            ? path
            : Path.Combine(AppContext.BaseDirectory, "../../../../../shared/seed/gotrack-pixel.md");
        if (File.Exists(seed))
        {
            var text = File.ReadAllText(seed).ReplaceLineEndings("\n");
            Assert.Contains("```html\n" + SeedImg.ReplaceLineEndings("\n") + "\n```", text, StringComparison.Ordinal);
            Assert.Contains("```html\n" + SeedLoader.ReplaceLineEndings("\n") + "\n```", text, StringComparison.Ordinal);
        }
    }
}
