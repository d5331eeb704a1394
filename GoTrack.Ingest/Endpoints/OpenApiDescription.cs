using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace GoTrack.Ingest.Endpoints;

/// <summary>
/// The intake API in the OpenAPI document that Microsoft.AspNetCore.OpenApi serves at /openapi/v1.json (on
/// the management port). The endpoints take every method and answer 405 themselves, so the generator's
/// endpoint discovery sees no operations: this transformer states them, their parameters and answers.
/// The document is committed as api/openapi.json, and a test compares it with the running service.
/// </summary>
internal sealed class OpenApiDescription : IOpenApiDocumentTransformer
{
    private static readonly string[] PixelFields =
        ["e", "uid", "sid", "url", "ref", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "gclid", "fbclid", "msclkid", "event_id", "write_key"];

    private static readonly string[] SegmentKinds = ["track", "page", "screen", "identify", "group", "alias", "batch", "t", "p", "s", "i", "g", "a", "b", "m"];

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(document);
        document.Info = new OpenApiInfo
        {
            Title = "GoTrack intake",
            Version = "v1",
            Description = "Tracking pixel, JSON collection and Segment-compatible tracking API. Every event becomes one JSON event (api/event.schema.json) delivered to each sink in OUTPUTS.",
        };
        document.Paths ??= [];
        document.Paths[PixelEndpoint.Path] = new OpenApiPathItem
        {
            Operations = new Dictionary<HttpMethod, OpenApiOperation>
            {
                [HttpMethod.Get] = Pixel("pixel"),
                [HttpMethod.Head] = Pixel("pixelHead"),
            },
        };
        document.Paths[CollectEndpoint.Path] = new OpenApiPathItem
        {
            Operations = new Dictionary<HttpMethod, OpenApiOperation>
            {
                [HttpMethod.Post] = new()
                {
                    OperationId = "collect",
                    Summary = "Record one JSON event or an array of them",
                    Description = "application/json, or text/plain as navigator.sendBeacon sends it; gzip or deflate Content-Encoding. Valid events are stored together or not at all; invalid ones are listed with their index and reason.",
                    Parameters = [Query("write_key", "The write key, when WRITE_KEYS is set (or HTTP Basic auth).")],
                    RequestBody = new OpenApiRequestBody
                    {
                        Required = true,
                        Content = new Dictionary<string, OpenApiMediaType>
                        {
                            ["application/json"] = new() { Schema = new OpenApiSchema { Type = JsonSchemaType.Object | JsonSchemaType.Array } },
                            ["text/plain"] = new() { Schema = new OpenApiSchema { Type = JsonSchemaType.String } },
                        },
                    },
                    Responses = Answers(("202", "Accepted: {\"accepted\":n,\"rejected\":[{\"index\",\"reason\"}]}", "application/json"),
                        ("400", "Malformed JSON, or no valid event", "application/json"), ("401", "Missing or unknown write key", "application/json"),
                        ("403", "Origin not in CORS_ALLOWED_ORIGINS", "application/json"), ("413", "Over MAX_BODY_BYTES or MAX_BATCH_EVENTS", "application/json"),
                        ("415", "Another content type or encoding", "application/json"), ("429", "Over a rate limit; Retry-After", "application/json"),
                        ("503", "The event log is full or the server is stopping; Retry-After", "application/json")),
                },
            },
        };
        document.Paths[Segment.SegmentEndpoint.Pattern] = new OpenApiPathItem
        {
            Operations = new Dictionary<HttpMethod, OpenApiOperation>
            {
                [HttpMethod.Post] = new()
                {
                    OperationId = "segment",
                    Summary = "Segment's HTTP tracking API",
                    Description = "track, page, screen, identify, group, alias, batch, and the browser SDK's short paths (t, p, s, i, g, a, b); m (the SDK's telemetry) is answered and not stored. The write key is HTTP Basic auth's user name or the body's writeKey.",
                    Parameters =
                    [
                        new OpenApiParameter
                        {
                            Name = "kind",
                            In = ParameterLocation.Path,
                            Required = true,
                            Schema = new OpenApiSchema
                            {
                                Type = JsonSchemaType.String,
                                Enum = [.. SegmentKinds.Select(k => (System.Text.Json.Nodes.JsonNode)System.Text.Json.Nodes.JsonValue.Create(k))],
                            },
                        },
                    ],
                    RequestBody = new OpenApiRequestBody
                    {
                        Required = true,
                        Content = new Dictionary<string, OpenApiMediaType>
                        {
                            ["application/json"] = new() { Schema = new OpenApiSchema { Type = JsonSchemaType.Object } },
                            ["text/plain"] = new() { Schema = new OpenApiSchema { Type = JsonSchemaType.String } },
                        },
                    },
                    Responses = Answers(("200", "Taken: {\"success\":true,\"accepted\":n,\"rejected\":[...]}", "application/json"),
                        ("400", "Malformed JSON, or no valid message", "application/json"), ("401", "Missing or unknown write key", "application/json"),
                        ("413", "Over MAX_BODY_BYTES or MAX_BATCH_EVENTS", "application/json"), ("415", "Another content type or encoding", "application/json"),
                        ("429", "Over a rate limit; Retry-After", "application/json"), ("503", "The event log is full or the server is stopping; Retry-After", "application/json")),
                },
            },
        };
        return Task.CompletedTask;
    }

    private static OpenApiOperation Pixel(string id) => new()
    {
        OperationId = id,
        Summary = "Record one event from the query string",
        Description = "Known parameters fill the event's fields; any other parameter becomes a string prop. Always answers the 43-byte transparent GIF, never cached.",
        Parameters = [.. PixelFields.Select(f => Query(f, f == "write_key" ? "The write key, when WRITE_KEYS is set." : null))],
        Responses = Answers(("200", "Stored (or deliberately not recorded: an opt-out or a bot under its drop mode)", "image/gif"),
            ("400", "Invalid event; the reason is in X-GoTrack-Error", "image/gif"), ("401", "Missing or unknown write key", "image/gif"),
            ("429", "Over a rate limit; Retry-After", "image/gif"), ("503", "The event log is full or the server is stopping; Retry-After", "image/gif")),
    };

    private static OpenApiParameter Query(string name, string? description) => new()
    {
        Name = name,
        In = ParameterLocation.Query,
        Description = description,
        Schema = new OpenApiSchema { Type = JsonSchemaType.String },
    };

    private static OpenApiResponses Answers(params (string Code, string Description, string MediaType)[] answers)
    {
        var responses = new OpenApiResponses();
        foreach (var (code, description, mediaType) in answers)
        {
            responses[code] = new OpenApiResponse
            {
                Description = description,
                Content = new Dictionary<string, OpenApiMediaType> { [mediaType] = new() },
            };
        }

        return responses;
    }
}
