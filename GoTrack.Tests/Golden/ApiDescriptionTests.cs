using System.Text.Json;
using System.Text.Json.Nodes;
using GoTrack.Tests.EndToEnd;
using GoTrack.Tests.Support;
using Json.Schema;

namespace GoTrack.Tests.Golden;

/// <summary>
/// api/openapi.json is what the running service describes (rewrite with GOTRACK_UPDATE_GOLDEN=1 after a
/// deliberate change), and api/event.schema.json holds for every golden event.
/// </summary>
public sealed class ApiDescriptionTests
{
    private static string ApiFile(string name) => Path.Combine(PublishedIngest.RepoRoot(), "api", name);

    [Fact]
    public async Task The_committed_OpenAPI_document_is_the_one_the_service_serves()
    {
        using var factory = new IngestFactory();
        using var client = factory.CreateClient();
        var served = JsonNode.Parse(await client.GetStringAsync("/openapi/v1.json"))!.AsObject();
        served.Remove("servers"); // the address the request came to
        var text = served.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
        if (Environment.GetEnvironmentVariable("GOTRACK_UPDATE_GOLDEN") == "1")
        {
            await File.WriteAllTextAsync(ApiFile("openapi.json"), text);
            Assert.Fail("api/openapi.json rewritten; run again without GOTRACK_UPDATE_GOLDEN to compare");
        }

        Assert.Equal(await File.ReadAllTextAsync(ApiFile("openapi.json")), text);
        foreach (var path in new[] { "/px.gif", "/collect", "/v1/{kind}" })
        {
            Assert.True(served["paths"]![path] is JsonObject, path);
        }
    }

    // Built once: the library registers a schema by its $id, and refuses a second one with the same id.
    private static readonly Lazy<JsonSchema> Schema = new(() => JsonSchema.FromText(File.ReadAllText(ApiFile("event.schema.json"))));

    private static JsonSchema EventSchema() => Schema.Value;

    private static readonly EvaluationOptions Options = new() { OutputFormat = OutputFormat.List, RequireFormatValidation = true };

    [Theory]
    [InlineData("pixel.ndjson")]
    [InlineData("collect.ndjson")]
    [InlineData("privacy.ndjson")]
    [InlineData("segment.ndjson")]
    public void Every_golden_event_is_valid_against_the_event_schema(string file)
    {
        var schema = EventSchema();
        var lines = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Golden", file));
        Assert.NotEmpty(lines);
        foreach (var line in lines)
        {
            var result = schema.Evaluate(JsonDocument.Parse(line).RootElement, Options);
            Assert.True(result.IsValid, $"{file}: {line}\n{JsonSerializer.Serialize((result.Details ?? []).Where(d => d.Errors is { Count: > 0 }).Select(d => new { Location = d.InstanceLocation.ToString(), d.Errors }))}");
        }
    }

    [Theory]
    [InlineData("""{"event_id":"not-a-uuid","ts":"2026-11-27T08:30:00.123Z","e":"x"}""")]
    [InlineData("""{"event_id":"01937a3c-0000-7000-8000-000000000001","ts":"2026-11-27 08:30","e":"x"}""")]
    [InlineData("""{"event_id":"01937a3c-0000-7000-8000-000000000001","ts":"2026-11-27T08:30:00.123Z"}""")]
    [InlineData("""{"event_id":"01937a3c-0000-7000-8000-000000000001","ts":"2026-11-27T08:30:00.123Z","e":"x","extra":1}""")]
    [InlineData("""{"event_id":"01937a3c-0000-7000-8000-000000000001","ts":"2026-11-27T08:30:00.123Z","e":"x","bot":false}""")]
    [InlineData("""{"event_id":"01937a3c-0000-7000-8000-000000000001","ts":"2026-11-27T08:30:00.123Z","e":"x","device":{"type":"fridge"}}""")]
    public void The_schema_refuses_what_GoTrack_never_writes(string json)
    {
        Assert.False(EventSchema().Evaluate(JsonDocument.Parse(json).RootElement, Options).IsValid);
    }
}
