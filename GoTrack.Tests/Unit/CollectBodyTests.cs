using System.Text;
using GoTrack.Ingest.Parsing;

namespace GoTrack.Tests.Unit;

public sealed class CollectBodyTests
{
    [Theory]
    [InlineData("{}", 1)]
    [InlineData(" [ ] ", 0)]
    [InlineData("""[{"e":"a"}, 5, "x", {"e":"b"}]""", 4)]
    [InlineData("""[{"props":{"deep":[[[1]]]}}]""", 1)]
    public void Well_formed_bodies_split_into_their_elements(string body, int count)
    {
        var events = new List<Range>();
        Assert.Equal(CollectBodyParser.SplitResult.Ok, CollectBodyParser.Split(Encoding.UTF8.GetBytes(body), 10, events, out var error));
        Assert.Null(error);
        Assert.Equal(count, events.Count);
    }

    [Theory]
    [InlineData("", "body is empty")]
    [InlineData("{\"e\":", "malformed JSON")]
    [InlineData("[{}", "malformed JSON")]
    [InlineData("{} {}", "malformed JSON")]
    [InlineData("   ", "body is empty")]
    [InlineData("\"text\"", "body must be a JSON object or an array of objects")]
    [InlineData("{'e':'x'}", "malformed JSON")]
    [InlineData("[{},]", "malformed JSON")]
    public void Malformed_bodies_are_refused_whole(string body, string reason)
    {
        var events = new List<Range>();
        Assert.Equal(CollectBodyParser.SplitResult.Malformed, CollectBodyParser.Split(Encoding.UTF8.GetBytes(body), 10, events, out var error));
        Assert.StartsWith(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_utf8_and_deep_nesting_are_malformed()
    {
        var events = new List<Range>();
        Assert.Equal(CollectBodyParser.SplitResult.Malformed, CollectBodyParser.Split([(byte)'{', (byte)'"', 0xFF, (byte)'"', (byte)':', (byte)'1', (byte)'}'], 10, events, out var error));
        Assert.Equal("body is not valid UTF-8", error);
        var deep = "{\"p\":" + new string('[', 40) + new string(']', 40) + "}";
        Assert.Equal(CollectBodyParser.SplitResult.Malformed, CollectBodyParser.Split(Encoding.UTF8.GetBytes(deep), 10, events, out _));
    }

    [Fact]
    public void More_elements_than_the_limit_is_too_many()
    {
        var events = new List<Range>();
        var body = Encoding.UTF8.GetBytes("[" + string.Join(',', Enumerable.Repeat("{}", 4)) + "]");
        Assert.Equal(CollectBodyParser.SplitResult.TooManyEvents, CollectBodyParser.Split(body, 3, events, out var error));
        Assert.Contains("MAX_BATCH_EVENTS", error, StringComparison.Ordinal);
        events.Clear();
        Assert.Equal(CollectBodyParser.SplitResult.Ok, CollectBodyParser.Split(body, 4, events, out _));
    }
}
