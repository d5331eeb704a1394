using System.Text.Json.Nodes;
using GoTrack.Ingest.Parsing;
using GoTrack.Ingest.Tracker;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;

namespace GoTrack.Ingest.Endpoints;

/// <summary>
/// The intake API in the OpenAPI document that Microsoft.AspNetCore.OpenApi serves at /openapi/v1.json (on
/// the management port). The endpoints take every method and answer 405 themselves, so the generator's
/// endpoint discovery sees no operations: this transformer states them, their parameters and answers.
/// The pixel's parameters and the /collect event's fields come from <see cref="ClientFields"/>, the table the
/// parsers read, with its limits; tests post every described field and provoke every described answer, so
/// the document cannot drift from what the endpoints do. It is committed as api/openapi.json, and a test
/// compares it with the running service.
/// </summary>
internal sealed class OpenApiDescription : IOpenApiDocumentTransformer
{
    /// <summary>The name of the /collect event's schema in the document's components.</summary>
    public const string CollectEventSchema = "CollectEvent";

    private const string WriteKeyHelp = "The write key, when WRITE_KEYS is set (or HTTP Basic auth's user name).";

    private static readonly string[] SegmentKinds = ["track", "page", "screen", "identify", "group", "alias", "batch", "t", "p", "s", "i", "g", "a", "b", "m"];

    /// <summary>/collect's nested objects and their members, as <see cref="CollectBodyParser"/> reads them.</summary>
    private static readonly (string Name, string[] Members, string Description)[] Nested =
    [
        ("utm", CollectBodyParser.UtmMembers, "Another way to send the campaign fields: utm.x is the field utm_x (utm.source is utm_source)."),
        ("click", CollectBodyParser.ClickMembers, "Another way to send the ad click ids: click.x is the field x (click.gclid is gclid)."),
    ];

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(document);
        ArgumentNullException.ThrowIfNull(context);
        document.Info = new OpenApiInfo
        {
            Title = "GoTrack intake",
            Version = "v1",
            Description = "Tracking pixel, JSON collection, the first-party tracker and a Segment-compatible tracking API. Every event becomes one JSON event (api/event.schema.json) delivered to each sink in OUTPUTS. PIXEL_PATHS and COLLECT_PATHS add aliases that answer exactly as /px.gif and /collect.",
        };
        document.Components ??= new OpenApiComponents();
        document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>(StringComparer.Ordinal);
        document.Components.Schemas[CollectEventSchema] = CollectEvent();
        var collectEvent = new OpenApiSchemaReference(CollectEventSchema, document);

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
                    Description = "application/json, or text/plain as navigator.sendBeacon sends it (the same JSON); gzip or deflate Content-Encoding. Valid events are stored together or not at all; invalid ones are listed with their index and reason. Another method answers 405; OPTIONS is the CORS preflight.",
                    Parameters = [Query("write_key", WriteKeyHelp)],
                    RequestBody = new OpenApiRequestBody
                    {
                        Required = true,
                        Content = new Dictionary<string, OpenApiMediaType>
                        {
                            ["application/json"] = new() { Schema = OneOrMany(collectEvent) },
                            ["text/plain"] = new() { Schema = OneOrMany(collectEvent) },
                        },
                    },
                    Responses = Answers(("202", "Accepted: {\"accepted\":n,\"rejected\":[{\"index\",\"reason\"}]}", "application/json"),
                        ("400", "Malformed JSON, or no valid event", "application/json"), ("401", "Missing or unknown write key", "application/json"),
                        ("403", "Origin not in CORS_ALLOWED_ORIGINS", "application/json"), ("405", "Another method than POST (or the OPTIONS preflight)", "application/json"),
                        ("413", "Over MAX_BODY_BYTES or MAX_BATCH_EVENTS", "application/json"),
                        ("415", "Another content type or encoding", "application/json"), ("429", "Over a rate limit; Retry-After", "application/json"),
                        ("503", "The event log is full or the server is stopping; Retry-After", "application/json")),
                },
                [HttpMethod.Options] = Preflight("collectPreflight", segment: false),
            },
        };

        var script = context.ApplicationServices.GetRequiredService<TrackerScript>();
        document.Paths[script.Path] = new OpenApiPathItem
        {
            Operations = new Dictionary<HttpMethod, OpenApiOperation>
            {
                [HttpMethod.Get] = Tracker("tracker", "The tracker script (TRACKER_PATH): cached an hour and revalidated by its ETag, the content hash.", hashed: false),
                [HttpMethod.Head] = Tracker("trackerHead", "The tracker script's headers.", hashed: false),
            },
        };
        document.Paths[script.HashedRoute] = new OpenApiPathItem
        {
            Parameters =
            [
                new OpenApiParameter
                {
                    Name = "hash",
                    In = ParameterLocation.Path,
                    Required = true,
                    Description = "The first 16 hex characters of the script's SHA-256.",
                    Schema = new OpenApiSchema { Type = JsonSchemaType.String, Pattern = "^[0-9a-f]{16}$" },
                },
            ],
            Operations = new Dictionary<HttpMethod, OpenApiOperation>
            {
                [HttpMethod.Get] = Tracker("trackerHashed", "The tracker script at its content-hashed URL: cached a year, immutable.", hashed: true),
                [HttpMethod.Head] = Tracker("trackerHashedHead", "The hashed script's headers.", hashed: true),
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
                                Enum = [.. SegmentKinds.Select(k => (JsonNode)JsonValue.Create(k))],
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
                        ("403", "Origin not in CORS_ALLOWED_ORIGINS", "application/json"), ("404", "A kind not listed", "application/json"),
                        ("405", "Another method than POST (or the OPTIONS preflight)", "application/json"),
                        ("413", "Over MAX_BODY_BYTES or MAX_BATCH_EVENTS", "application/json"), ("415", "Another content type or encoding", "application/json"),
                        ("429", "Over a rate limit; Retry-After", "application/json"), ("503", "The event log is full or the server is stopping; Retry-After", "application/json")),
                },
                [HttpMethod.Options] = Preflight("segmentPreflight", segment: true),
            },
        };
        return Task.CompletedTask;
    }

    /// <summary>The pixel's query: every client field at its limit, event_id as a UUID, and write_key.</summary>
    private static List<IOpenApiParameter> PixelParameters()
    {
        var parameters = new List<IOpenApiParameter>();
        foreach (var field in ClientFields.Text)
        {
            parameters.Add(Query(ClientFields.Name(field), null, ClientFields.Limit(field)));
        }

        parameters.Add(new OpenApiParameter
        {
            Name = ClientFields.Name(ClientField.EventId),
            In = ParameterLocation.Query,
            Description = "A client-chosen event id, for dedupe across retries; generated (UUIDv7) when absent.",
            Schema = new OpenApiSchema { Type = JsonSchemaType.String, Format = "uuid" },
        });
        parameters.Add(Query("write_key", WriteKeyHelp));
        return parameters;
    }

    /// <summary>One /collect event: the client fields, utm and click objects, props, and any other key as a prop.</summary>
    private static OpenApiSchema CollectEvent()
    {
        var properties = new Dictionary<string, IOpenApiSchema>(StringComparer.Ordinal);
        foreach (var field in ClientFields.Text)
        {
            properties[ClientFields.Name(field)] = Text(ClientFields.Limit(field));
        }

        properties[ClientFields.Name(ClientField.EventId)] = new OpenApiSchema
        {
            Type = JsonSchemaType.String | JsonSchemaType.Null,
            Format = "uuid",
            Description = "A client-chosen event id, for dedupe across retries; generated (UUIDv7) when absent.",
        };
        foreach (var (name, members, description) in Nested)
        {
            properties[name] = new OpenApiSchema
            {
                Type = JsonSchemaType.Object | JsonSchemaType.Null,
                Description = description,
                Properties = members.ToDictionary(m => m, _ => (IOpenApiSchema)Text(FieldLimits.Utm), StringComparer.Ordinal),
            };
        }

        properties["props"] = new OpenApiSchema
        {
            Type = JsonSchemaType.Object | JsonSchemaType.Null,
            Description = $"Free-form properties: at most {FieldLimits.Props} in all, names up to {FieldLimits.PropName} bytes, each value's JSON up to {FieldLimits.PropValue} bytes.",
            MaxProperties = FieldLimits.Props,
        };
        foreach (var name in CollectBodyParser.ServerOwnedKeys)
        {
            properties[name] = new OpenApiSchema { Description = "Set by the server; a client's value is ignored." };
        }

        return new OpenApiSchema
        {
            Type = JsonSchemaType.Object,
            Description = "One event. A key not listed here becomes a prop, as under props.",
            Required = new HashSet<string>(StringComparer.Ordinal) { ClientFields.Name(ClientField.E) },
            Properties = properties,
        };
    }

    // maxLength counts characters; GoTrack's limits are UTF-8 bytes, which the description states.
    private static OpenApiSchema Text(int maxLength) => new()
    {
        Type = JsonSchemaType.String | JsonSchemaType.Null,
        MaxLength = maxLength,
        Description = $"At most {maxLength} bytes of UTF-8.",
    };

    private static OpenApiSchema OneOrMany(IOpenApiSchema item) => new()
    {
        OneOf = [item, new OpenApiSchema { Type = JsonSchemaType.Array, Items = item }],
    };

    private static OpenApiOperation Pixel(string id) => new()
    {
        OperationId = id,
        Summary = "Record one event from the query string",
        Description = "Known parameters fill the event's fields; any other parameter becomes a string prop. Always answers the 43-byte transparent GIF, never cached.",
        Parameters = PixelParameters(),
        Responses = Answers(("200", "Stored (or deliberately not recorded: an opt-out or a bot under its drop mode)", "image/gif"),
            ("400", "Invalid event; the reason is in X-GoTrack-Error", "image/gif"), ("401", "Missing or unknown write key", "image/gif"),
            ("405", "Another method than GET or HEAD", "application/json"),
            ("429", "Over a rate limit; Retry-After", "image/gif"), ("503", "The event log is full or the server is stopping; Retry-After", "image/gif")),
    };

    private static OpenApiOperation Preflight(string id, bool segment) => new()
    {
        OperationId = id,
        Summary = "CORS preflight",
        Description = segment
            ? "Any origin when CORS_ALLOWED_ORIGINS is unset (Segment's API allows every origin), else those listed; Authorization is an allowed header."
            : "The origins in CORS_ALLOWED_ORIGINS; unset, no CORS headers are sent (same-origin pages and servers need none).",
        Responses = Answers(
        [
            ("204", "Answered, with the CORS headers when the origin is allowed", null),
            ("403", "Origin not in CORS_ALLOWED_ORIGINS", "application/json"),
            .. segment ? [("404", "A kind not listed", "application/json")] : Array.Empty<(string, string, string?)>(),
        ]),
    };

    private static OpenApiOperation Tracker(string id, string summary, bool hashed) => new()
    {
        OperationId = id,
        Summary = summary,
        Description = "The same script for every client; it sets no cookie. Access-Control-Allow-Origin: *, so a page may load it with integrity (subresource integrity).",
        Responses = hashed
            ? Answers(("200", "The script, immutable", "text/javascript"), ("302", "A hash of another version: redirect to the current one (not cached)", null),
                ("304", "If-None-Match names the current ETag", null), ("404", "Not a hash", null),
                ("405", "Another method than GET or HEAD", "application/json"))
            : Answers(("200", "The script", "text/javascript"), ("304", "If-None-Match names the current ETag", null),
                ("405", "Another method than GET or HEAD", "application/json")),
    };

    private static OpenApiParameter Query(string name, string? description, int? maxLength = null) => new()
    {
        Name = name,
        In = ParameterLocation.Query,
        Description = description ?? (maxLength is { } bytes ? $"At most {bytes} bytes of UTF-8, once percent-decoded." : null),
        Schema = new OpenApiSchema { Type = JsonSchemaType.String, MaxLength = maxLength },
    };

    private static OpenApiResponses Answers(params (string Code, string Description, string? MediaType)[] answers)
    {
        var responses = new OpenApiResponses();
        foreach (var (code, description, mediaType) in answers)
        {
            responses[code] = new OpenApiResponse
            {
                Description = description,
                Content = mediaType is null ? null : new Dictionary<string, OpenApiMediaType> { [mediaType] = new() },
            };
        }

        return responses;
    }
}
