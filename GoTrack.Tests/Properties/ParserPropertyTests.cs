using System.Text;
using System.Text.Json;
using CsCheck;
using GoTrack.Ingest.Intake;
using GoTrack.Ingest.Parsing;
using GoTrack.Tests.Support;

namespace GoTrack.Tests.Properties;

/// <summary>
/// Whatever a client sends, a parser either yields an event whose JSON is valid and holds the event
/// model's required keys, or rejects it with a reason. It never throws.
/// </summary>
public sealed class ParserPropertyTests
{
    private static readonly Gen<string> QueryChar = Gen.OneOf(
        Gen.Char["abcxyz019=&%+?#;/ "].Select(c => c.ToString()),
        Gen.Const("%00"), Gen.Const("%FF"), Gen.Const("%E2%82"), Gen.Const("%22"), Gen.Const("%5C"),
        Gen.Const("e="), Gen.Const("event_id="), Gen.Const("url="), Gen.Const("utm_source="), Gen.Const("sid="),
        Gen.Const("0190f3c2-7a1b-4c3d-8e4f-112233445566"), Gen.Char.Select(c => c.ToString()));

    private static readonly Gen<string> Queries = QueryChar.Array[0, 60].Select(parts => string.Concat(parts));

    private static void AssertValidEvent(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        Assert.Equal(JsonValueKind.Object, root.ValueKind);
        Assert.True(Guid.TryParse(root.GetProperty("event_id").GetString(), out _));
        Assert.Equal(24, root.GetProperty("ts").GetString()!.Length);
        Assert.False(string.IsNullOrEmpty(root.GetProperty("e").GetString()));
        Assert.DoesNotContain("\\u0000", json, StringComparison.Ordinal);
    }

    [Fact]
    public void Any_pixel_query_is_an_event_or_a_rejection() =>
        Queries.Sample(query =>
        {
            var (record, error) = EventBuilder.FromPixel("?" + query, query, Build.Info(), Build.Session);
            var json = record is null ? null : Encoding.UTF8.GetString(record.Json);
            Assert.True((json is null) != (error is null));
            if (json is not null)
            {
                AssertValidEvent(json);
            }
        }, iter: 20_000);

    private static readonly Gen<string> JsonToken = Gen.OneOf(
        Gen.Const("{"), Gen.Const("}"), Gen.Const("["), Gen.Const("]"), Gen.Const(","), Gen.Const(":"),
        Gen.Const("\"e\""), Gen.Const("\"props\""), Gen.Const("\"utm\""), Gen.Const("\"event_id\""), Gen.Const("\"url\""),
        Gen.Const("\"0190f3c2-7a1b-4c3d-8e4f-112233445566\""), Gen.Const("\"\\u0000\""), Gen.Const("\"\\ud800\""),
        Gen.Const("1"), Gen.Const("-0.5e3"), Gen.Const("true"), Gen.Const("null"), Gen.Const("\"x\""),
        Gen.String[0, 5].Select(s => JsonSerializer.Serialize(s)));

    private static readonly Gen<string> JsonBodies = Gen.OneOf(
        JsonToken.Array[0, 30].Select(t => string.Concat(t)),
        JsonToken.Array[0, 30].Select(t => "{\"e\":\"x\"," + string.Concat(t) + "}"),
        JsonToken.Array[0, 30].Select(t => "[{\"props\":{" + string.Concat(t) + "}}]"));

    [Fact]
    public void Any_collect_body_splits_or_is_refused_and_every_element_is_an_event_or_a_rejection() =>
        JsonBodies.Sample(body =>
        {
            var bytes = Encoding.UTF8.GetBytes(body);
            var elements = new List<Range>();
            var result = CollectBodyParser.Split(bytes, 100, elements, out var error);
            if (result != CollectBodyParser.SplitResult.Ok)
            {
                Assert.NotNull(error);
                return;
            }

            foreach (var range in elements)
            {
                var (record, reason) = EventBuilder.FromJson(bytes.AsSpan(range), null, Build.Info(), Build.Session);
                var json = record is null ? null : Encoding.UTF8.GetString(record.Json);
                Assert.True((json is null) != (reason is null));
                if (json is not null)
                {
                    AssertValidEvent(json);
                }
            }
        }, iter: 20_000);

    [Fact]
    public void Any_valid_json_object_is_an_event_or_a_rejection_and_props_survive_the_round_trip() =>
        Gen.Dictionary(Gen.String[1, 8], Gen.OneOf(Gen.String.Select(s => (object?)s), Gen.Int.Select(i => (object?)i), Gen.Bool.Select(b => (object?)b), Gen.Const((object?)null)))[0, 10]
            .Sample(props =>
            {
                var element = JsonSerializer.Serialize(new Dictionary<string, object?> { ["props"] = props });
                var (record, reason) = EventBuilder.FromJson(Encoding.UTF8.GetBytes(element), "https://page.example/", Build.Info(), Build.Session);
                var json = record is null ? null : Encoding.UTF8.GetString(record.Json);
                if (json is null)
                {
                    Assert.NotNull(reason);
                    return;
                }

                AssertValidEvent(json);
                using var doc = JsonDocument.Parse(json);
                var count = doc.RootElement.TryGetProperty("props", out var p) ? p.EnumerateObject().Count() : 0;
                Assert.Equal(props.Count, count);
            }, iter: 5_000);
}
