using GoTrack.Ingest.Configuration;
using GoTrack.Ingest.Tracker;
using Microsoft.Extensions.Configuration;

namespace GoTrack.Tests.Unit;

/// <summary>TRACKER_PATH, PIXEL_PATHS and COLLECT_PATHS as read at start.</summary>
public sealed class IntakePathsTests
{
    private static IngestOptions Load(out IReadOnlyList<string> errors, params (string Key, string Value)[] values)
    {
        var config = new ConfigurationBuilder()
            .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value)))
            .Build();
        return IngestSettings.Load(config, out errors);
    }

    [Fact]
    public void Defaults_serve_the_tracker_at_t_js_with_no_aliases()
    {
        var paths = Load(out var errors).Paths;
        Assert.Empty(errors);
        Assert.Equal("/t.js", paths.Tracker);
        Assert.Empty(paths.PixelAliases);
        Assert.Empty(paths.CollectAliases);
        Assert.Equal("/collect", paths.TrackerCollectPath);
        Assert.Equal("/px.gif", paths.TrackerPixelPath);
    }

    [Fact]
    public void Aliases_are_read_in_order_and_the_tracker_uses_the_first()
    {
        var paths = Load(out var errors, ("TRACKER_PATH", "/static/app-3.js"), ("PIXEL_PATHS", " /i/a.gif , /b ,"), ("COLLECT_PATHS", "/api/v2/e,/api/v2/f")).Paths;
        Assert.Empty(errors);
        Assert.Equal("/static/app-3.js", paths.Tracker);
        Assert.Equal(["/i/a.gif", "/b"], paths.PixelAliases);
        Assert.Equal(["/api/v2/e", "/api/v2/f"], paths.CollectAliases);
        Assert.Equal("/api/v2/e", paths.TrackerCollectPath);
        Assert.Equal("/i/a.gif", paths.TrackerPixelPath);
    }

    [Theory]
    [InlineData("PIXEL_PATHS", "pixel.gif")]
    [InlineData("PIXEL_PATHS", "/")]
    [InlineData("PIXEL_PATHS", "/a/")]
    [InlineData("PIXEL_PATHS", "/a//b")]
    [InlineData("PIXEL_PATHS", "/a/../b")]
    [InlineData("PIXEL_PATHS", "/a/.")]
    [InlineData("PIXEL_PATHS", "/p{x}")]
    [InlineData("PIXEL_PATHS", "/p?x=1")]
    [InlineData("PIXEL_PATHS", "/p%20")]
    [InlineData("PIXEL_PATHS", "/pixel\".gif")]
    [InlineData("PIXEL_PATHS", "/healthz")]
    [InlineData("PIXEL_PATHS", "/READYZ")]
    [InlineData("PIXEL_PATHS", "/metrics/x")]
    [InlineData("PIXEL_PATHS", "/v1")]
    [InlineData("PIXEL_PATHS", "/v1/track")]
    [InlineData("PIXEL_PATHS", "/collect")]
    [InlineData("PIXEL_PATHS", "/px.gif")]
    [InlineData("PIXEL_PATHS", "/t.js")]
    [InlineData("PIXEL_PATHS", "/T.JS")]
    [InlineData("PIXEL_PATHS", "/t.0123456789abcdef.js")]
    [InlineData("PIXEL_PATHS", "/a,/A")]
    [InlineData("COLLECT_PATHS", "/healthz/live")]
    [InlineData("COLLECT_PATHS", "/px.gif")]
    [InlineData("COLLECT_PATHS", "/e,/e")]
    [InlineData("TRACKER_PATH", "t.js")]
    [InlineData("TRACKER_PATH", "/metrics")]
    [InlineData("TRACKER_PATH", "/collect")]
    [InlineData("TRACKER_PATH", "/px")]
    [InlineData("TRACKER_PATH", "/js/{file}")]
    public void A_bad_path_is_an_error_that_names_the_variable(string key, string value)
    {
        Load(out var errors, (key, value));
        var error = Assert.Single(errors);
        Assert.StartsWith(key + ": ", error, StringComparison.Ordinal);
    }

    [Fact]
    public void An_alias_taken_by_the_other_list_is_refused_in_the_second()
    {
        Load(out var errors, ("PIXEL_PATHS", "/e"), ("COLLECT_PATHS", "/e"));
        Assert.Equal("COLLECT_PATHS: '/e' is already in PIXEL_PATHS (paths are compared ignoring case)", Assert.Single(errors));
    }

    [Fact]
    public void A_path_that_is_too_long_is_refused()
    {
        var longest = "/" + new string('a', IntakePaths.MaxLength - 1);
        Load(out var errors, ("COLLECT_PATHS", longest));
        Assert.Empty(errors);
        Load(out errors, ("COLLECT_PATHS", longest + "a"));
        Assert.StartsWith("COLLECT_PATHS: ", Assert.Single(errors), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/t.js", "abc", "/t.abc.js")]
    [InlineData("/js/gt", "abc", "/js/gt.abc")]
    [InlineData("/a.b/t", "abc", "/a.b/t.abc")]
    [InlineData("/js/.hidden", "abc", "/js/.hidden.abc")]
    [InlineData("/x.min.js", "abc", "/x.min.abc.js")]
    public void The_hashed_URL_puts_the_hash_before_the_extension(string path, string hash, string expected)
    {
        Assert.Equal(expected, TrackerScript.PathWithHash(path, hash));
        Assert.True(TrackerScript.IsHashedForm(path, expected));
        Assert.False(TrackerScript.IsHashedForm(path, path));
    }

    [Fact]
    public void Help_lists_the_path_settings()
    {
        var help = IngestSettings.HelpText();
        foreach (var name in new[] { "TRACKER_PATH", "PIXEL_PATHS", "COLLECT_PATHS" })
        {
            Assert.Contains(name + " ", help, StringComparison.Ordinal);
        }

        Assert.Contains("/t.js", help, StringComparison.Ordinal);
    }
}
