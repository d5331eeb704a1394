using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using GoTrack.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace GoTrack.Tests.Golden;

/// <summary>
/// The OpenAPI document against what the endpoints do, read from the document the service serves: every
/// field it describes is read as that field (not kept as a prop, which is what an unknown key becomes), and
/// every answer it lists for the pixel, /collect, the tracker and /v1 is one a request can get, and no
/// request gets an answer it does not list.
/// </summary>
public sealed class ApiDriftTests
{
    private const string Uuid = "01937a3c-0000-7000-8000-0000000000aa";

    private static async Task<JsonObject> DocumentAsync(HttpClient client) =>
        JsonNode.Parse(await client.GetStringAsync("/openapi/v1.json"))!.AsObject();

    private static JsonObject LastEvent(IngestFactory factory) => JsonNode.Parse(factory.Lines()[^1])!.AsObject();

    /// <summary>A value the field takes: a UUID for a uuid, otherwise short text.</summary>
    private static string ValueFor(JsonNode? schema) => (string?)schema?["format"] == "uuid" ? Uuid : "v-" + Guid.NewGuid().ToString("N")[..8];

    /// <summary>
    /// Where the event stores the client field <paramref name="name"/>: utm_x under utm.x, the click ids under
    /// click, every other field at the top (api/event.schema.json).
    /// </summary>
    private static string? At(JsonObject stored, string name) => name switch
    {
        _ when name.StartsWith("utm_", StringComparison.Ordinal) => (string?)stored["utm"]?[name["utm_".Length..]],
        "gclid" or "fbclid" or "msclkid" => (string?)stored["click"]?[name],
        _ => (string?)stored[name],
    };

    private static bool IsServerOwned(JsonNode? schema) =>
        ((string?)schema?["description"])?.StartsWith("Set by the server", StringComparison.Ordinal) == true;

    [Fact]
    public async Task Every_pixel_parameter_the_document_describes_is_read_as_a_field()
    {
        using var factory = new IngestFactory();
        using var client = factory.CreateClient();
        var parameters = (await DocumentAsync(client))["paths"]!["/px.gif"]!["get"]!["parameters"]!.AsArray();
        Assert.Equal(15, parameters.Count); // e, uid, sid, url, ref, five utm_*, three click ids, event_id, write_key

        var sent = 0;
        foreach (var parameter in parameters)
        {
            var name = (string)parameter!["name"]!;
            if (name == "write_key")
            {
                continue; // the credential, never stored (WRITE_KEYS is unset here, so it is simply ignored)
            }

            var value = ValueFor(parameter["schema"]);
            var query = name == "e" ? $"e={value}" : $"e=drift&{name}={Uri.EscapeDataString(value)}";
            using var answer = await client.GetAsync("/px.gif?" + query);
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            sent++;
            await factory.WaitDeliveredAsync();
            var stored = LastEvent(factory);
            Assert.True(stored["props"]?[name] is null, $"{name} was kept as a prop: the pixel does not know it");
            Assert.Equal(value, At(stored, name));
        }

        // The control: a parameter the document does not describe becomes a prop.
        using (await client.GetAsync("/px.gif?e=drift&not_described=1"))
        {
        }

        await factory.WaitDeliveredAsync();
        Assert.Equal("1", (string?)LastEvent(factory)["props"]?["not_described"]);
        Assert.Equal(sent + 1, factory.Lines().Length);
    }

    [Fact]
    public async Task Every_collect_field_the_document_describes_is_read_as_that_field()
    {
        using var factory = new IngestFactory();
        using var client = factory.CreateClient();
        var schema = (await DocumentAsync(client))["components"]!["schemas"]!["CollectEvent"]!;
        var properties = schema["properties"]!.AsObject();
        Assert.Equal(["e"], schema["required"]!.AsArray().Select(n => (string)n!));

        var sent = 0;
        foreach (var (name, property) in properties)
        {
            JsonNode body;
            string? expected;
            if (name == "props")
            {
                body = new JsonObject { ["e"] = "drift", ["props"] = new JsonObject { ["inner"] = "p1" } };
                expected = null;
            }
            else if (property!["properties"] is JsonObject members)
            {
                // utm, click: every member lands in the event outside props.
                var nested = new JsonObject();
                foreach (var (member, memberSchema) in members)
                {
                    nested[member] = ValueFor(memberSchema);
                }

                body = new JsonObject { ["e"] = "drift", [name] = nested };
                expected = null;
                await PostAsync(client, body);
                sent++;
                await factory.WaitDeliveredAsync();
                var stored = LastEvent(factory);
                Assert.True(stored["props"]?[name] is null, $"{name} was kept as a prop");
                foreach (var (member, value) in nested)
                {
                    Assert.Equal((string?)value, (string?)stored[name]?[member]); // utm.x and click.x are stored as such
                }

                continue;
            }
            else if (IsServerOwned(property))
            {
                body = new JsonObject { ["e"] = "drift", [name] = "client-sent-" + name };
                expected = null;
            }
            else
            {
                expected = name == "e" ? "drift-e" : ValueFor(property);
                body = new JsonObject { ["e"] = "drift", [name] = expected };
            }

            await PostAsync(client, body);
            sent++;
            await factory.WaitDeliveredAsync();
            var last = LastEvent(factory);
            Assert.True(last["props"]?[name] is null, $"{name} was kept as a prop: /collect does not know it");
            if (expected is not null)
            {
                Assert.Equal(expected, At(last, name));
            }
            else if (name == "props")
            {
                Assert.Equal("p1", (string?)last["props"]?["inner"]);
            }
            else
            {
                Assert.DoesNotContain("client-sent-", last.ToJsonString(), StringComparison.Ordinal); // ignored, as described
            }
        }

        // The control: a key the schema does not describe becomes a prop, as its description says.
        await PostAsync(client, new JsonObject { ["e"] = "drift", ["not_described"] = 1 });
        await factory.WaitDeliveredAsync();
        Assert.Equal(1, (int?)LastEvent(factory)["props"]?["not_described"]);
        Assert.Equal(sent + 1, factory.Lines().Length);
    }

    private static async Task PostAsync(HttpClient client, JsonNode body)
    {
        using var content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        using var answer = await client.PostAsync("/collect", content);
        Assert.Equal(HttpStatusCode.Accepted, answer.StatusCode);
    }

    /// <summary>
    /// One host set up so each answer can happen: write keys, a limit of 3 events a second per client address
    /// (each request comes from its own address, but for those that test the limit; two addresses that share
    /// one of the limiter's hashed buckets still stay under 3), an allowed origin, small body and log bounds,
    /// and a sink that cannot write, so the log fills.
    /// </summary>
    [Fact]
    public async Task Every_answer_the_document_lists_is_one_a_request_gets()
    {
        using var dir = new TempDir();
        using var factory = new IngestFactory(new()
        {
            ["LOG_PATH"] = Path.Combine(dir.Blocker(), "events.ndjson"),
            ["WRITE_KEYS"] = "key-open:web",
            ["RATE_LIMIT_IP_PER_SEC"] = "3",
            ["CORS_ALLOWED_ORIGINS"] = "https://shop.example",
            ["MAX_BODY_BYTES"] = "4096",
            ["MAX_BATCH_EVENTS"] = "2",
            ["QUEUE_MAX_EVENTS"] = "20",
            ["SHUTDOWN_TIMEOUT"] = "1s",
        });
        using var client = factory.CreateClient(new() { AllowAutoRedirect = false });
        var document = await DocumentAsync(client);
        var peers = 0;
        string script;
        using (var tracker = await client.GetAsync("/t.js"))
        {
            script = tracker.Headers.ETag!.Tag.Trim('"');
        }

        var got = new Dictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        async Task<int> Send(string operation, HttpMethod method, string url, string? body = null, string type = "application/json",
            string? key = null, string? origin = null, string? ifNoneMatch = null, string? peer = null)
        {
            using var request = new HttpRequestMessage(method, url);
            request.Headers.Add(IngestFactory.PeerHeader, peer ?? $"10.0.{++peers / 250}.{(peers % 250) + 1}");
            if (body is not null)
            {
                request.Content = new StringContent(body, Encoding.UTF8);
                request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(type);
            }

            if (key is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(key + ":")));
            }

            if (origin is not null)
            {
                request.Headers.Add("Origin", origin);
            }

            if (ifNoneMatch is not null)
            {
                request.Headers.TryAddWithoutValidation("If-None-Match", ifNoneMatch);
            }

            using var answer = await client.SendAsync(request);
            if (!got.TryGetValue(operation, out var codes))
            {
                got[operation] = codes = [];
            }

            codes.Add(((int)answer.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture));
            return (int)answer.StatusCode;
        }

        var big = "{\"e\":\"" + new string('x', 5000) + "\"}";
        var track = """{"type":"track","event":"x","anonymousId":"a"}""";

        // The tracker.
        await Send("tracker", HttpMethod.Get, "/t.js");
        await Send("tracker", HttpMethod.Get, "/t.js", ifNoneMatch: "\"" + script + "\"");
        await Send("tracker", HttpMethod.Post, "/t.js");
        await Send("trackerHashed", HttpMethod.Get, $"/t.{script}.js");
        await Send("trackerHashed", HttpMethod.Get, $"/t.{script}.js", ifNoneMatch: "\"" + script + "\"");
        await Send("trackerHashed", HttpMethod.Get, "/t.0123456789abcdef.js");
        await Send("trackerHashed", HttpMethod.Get, "/t.not-a-hash.js");
        await Send("trackerHashed", HttpMethod.Post, $"/t.{script}.js");

        // Refusals, which store nothing.
        await Send("pixel", HttpMethod.Post, "/px.gif?e=x");
        await Send("pixel", HttpMethod.Get, "/px.gif?e=x");
        await Send("pixel", HttpMethod.Get, "/px.gif?write_key=key-open&e=" + new string('x', 200));
        await Send("collect", HttpMethod.Get, "/collect");
        await Send("collect", HttpMethod.Post, "/collect", "{}", key: "key-unknown");
        await Send("collect", HttpMethod.Post, "/collect", "{\"e\":\"x\"}", key: "key-open", origin: "https://elsewhere.example");
        await Send("collect", HttpMethod.Post, "/collect", "<p>", "text/html", key: "key-open");
        await Send("collect", HttpMethod.Post, "/collect", big, key: "key-open");
        await Send("collect", HttpMethod.Post, "/collect", "[{\"e\":\"a\"},{\"e\":\"b\"},{\"e\":\"c\"}]", key: "key-open");
        await Send("collect", HttpMethod.Post, "/collect", "{\"e\":", key: "key-open");
        await Send("segment", HttpMethod.Post, "/v1/nothing", track, key: "key-open");
        await Send("segment", HttpMethod.Get, "/v1/track");
        await Send("segment", HttpMethod.Post, "/v1/track", track);
        await Send("segment", HttpMethod.Post, "/v1/track", track, key: "key-open", origin: "https://elsewhere.example");
        await Send("segment", HttpMethod.Post, "/v1/track", "<p>", "text/html", key: "key-open");
        await Send("segment", HttpMethod.Post, "/v1/track", "{\"type\":", key: "key-open");
        await Send("segment", HttpMethod.Post, "/v1/batch", "{\"batch\":[" + string.Join(',', Enumerable.Repeat(track, 3)) + "]}", key: "key-open");

        // The preflights.
        await Send("collectPreflight", HttpMethod.Options, "/collect", origin: "https://shop.example");
        await Send("collectPreflight", HttpMethod.Options, "/collect", origin: "https://elsewhere.example");
        await Send("segmentPreflight", HttpMethod.Options, "/v1/track", origin: "https://shop.example");
        await Send("segmentPreflight", HttpMethod.Options, "/v1/track", origin: "https://elsewhere.example");
        await Send("segmentPreflight", HttpMethod.Options, "/v1/nothing", origin: "https://shop.example");

        // Each takes an event (3 of the log's 20). Then each endpoint from one address until it is over that
        // address's limit: at most 3 events of a second's worth, and the clock refills 3 a second, so a few
        // requests in a row get there (bounded, so a stalled machine fails the assertion below, not a loop).
        await Send("pixel", HttpMethod.Get, "/px.gif?e=x&write_key=key-open");
        await Send("collect", HttpMethod.Post, "/collect", "{\"e\":\"x\"}", key: "key-open");
        await Send("segment", HttpMethod.Post, "/v1/track", track, key: "key-open");
        for (var i = 0; i < 8 && await Send("pixel", HttpMethod.Get, "/px.gif?e=x&write_key=key-open", peer: "10.9.9.9") != 429; i++)
        {
        }

        for (var i = 0; i < 8 && await Send("collect", HttpMethod.Post, "/collect", "{\"e\":\"x\"}", key: "key-open", peer: "10.9.9.9") != 429; i++)
        {
        }

        for (var i = 0; i < 8 && await Send("segment", HttpMethod.Post, "/v1/track", track, key: "key-open", peer: "10.9.9.9") != 429; i++)
        {
        }

        // Fill the log (nothing leaves it: the sink cannot open its file), then every intake answers 503.
        var log = factory.Services.GetRequiredService<GoTrack.Core.Queue.IEventLog>();
        for (var i = 0; i < 40 && log.Usage.Events < 20; i++)
        {
            await Send("fill", HttpMethod.Get, "/px.gif?e=fill&write_key=key-open");
        }

        await Send("pixel", HttpMethod.Get, "/px.gif?e=x&write_key=key-open");
        await Send("collect", HttpMethod.Post, "/collect", "{\"e\":\"x\"}", key: "key-open");
        await Send("segment", HttpMethod.Post, "/v1/track", track, key: "key-open");

        foreach (var (operation, path, method) in new[]
        {
            ("pixel", "/px.gif", "get"), ("collect", "/collect", "post"), ("collectPreflight", "/collect", "options"), ("segment", "/v1/{kind}", "post"),
            ("segmentPreflight", "/v1/{kind}", "options"), ("tracker", "/t.js", "get"), ("trackerHashed", "/t.{hash}.js", "get"),
        })
        {
            var op = document["paths"]![path]![method]!;
            Assert.Equal(operation, (string?)op["operationId"]);
            var documented = new SortedSet<string>(op["responses"]!.AsObject().Select(r => r.Key), StringComparer.Ordinal);
            Assert.True(documented.SetEquals(got[operation]),
                $"{operation}: the document lists {string.Join(' ', documented)}, requests got {string.Join(' ', got[operation])}; all: "
                + string.Join("; ", got.Select(g => g.Key + " " + string.Join(' ', g.Value))));
        }
    }
}
