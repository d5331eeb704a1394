using System.Buffers;
using System.IO.Compression;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CsCheck;
using GoTrack.Ingest.Intake;
using GoTrack.Ingest.Segment;
using GoTrack.Tests.Support;

namespace GoTrack.Tests.Properties;

/// <summary>The Segment body parser and compressed bodies under arbitrary input: an event or a reason, never an exception.</summary>
public sealed class SegmentPropertyTests
{
    private static readonly Gen<string> Token = Gen.OneOf(
        Gen.Const("{"), Gen.Const("}"), Gen.Const("["), Gen.Const("]"), Gen.Const(","), Gen.Const(":"),
        Gen.Const("\"type\""), Gen.Const("\"track\""), Gen.Const("\"page\""), Gen.Const("\"identify\""), Gen.Const("\"event\""),
        Gen.Const("\"context\""), Gen.Const("\"page\""), Gen.Const("\"referrer\""), Gen.Const("\"url\""), Gen.Const("\"campaign\""),
        Gen.Const("\"properties\""), Gen.Const("\"traits\""), Gen.Const("\"messageId\""), Gen.Const("\"timestamp\""), Gen.Const("\"sentAt\""),
        Gen.Const("\"userAgent\""), Gen.Const("\"ip\""), Gen.Const("\"2026-11-30T12:00:00Z\""), Gen.Const("\"9999-12-31T23:59:59Z\""),
        Gen.Const("\"0001-01-01T00:00:00Z\""), Gen.Const("\"::1\""), Gen.Const("\"\\u0000\""), Gen.Const("\"\\ud800\""),
        Gen.Const("1"), Gen.Const("-1e308"), Gen.Const("true"), Gen.Const("null"), Gen.String[0, 8].Select(s => JsonSerializer.Serialize(s)));

    private static readonly Gen<string> Messages = Gen.OneOf(
        Token.Array[0, 40].Select(t => string.Concat(t)),
        Token.Array[0, 40].Select(t => "{\"type\":\"track\",\"event\":\"e\"," + string.Concat(t) + "}"),
        Token.Array[0, 40].Select(t => "{\"context\":{" + string.Concat(t) + "}}"));

    [Fact]
    public void Any_message_is_an_event_or_a_reason()
    {
        // Token soup is rarely JSON (4 of 20,000 samples reached the builder with it alone), so well-formed
        // messages with arbitrary members are drawn beside it.
        var built = 0;
        var recorded = 0;
        Gen.OneOf(Messages, Message.Select(m => m.ToJsonString())).Sample(text =>
        {
            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(text);
            }
            catch (JsonException)
            {
                return; // the endpoint answers 400 before the mapper sees it
            }

            using (document)
            {
                var output = new ArrayBufferWriter<byte>();
                var error = SegmentMessage.Write(document.RootElement, default, "track", "wk", DateTimeOffset.UnixEpoch.AddYears(56), anonymize: false, output, out var facts);
                if (error is not null)
                {
                    return;
                }

                var info = Build.Info() with { ClientTs = facts.ClientTs };
                var (record, reason) = EventBuilder.FromJson(output.WrittenSpan, null, info, []);
                Interlocked.Increment(ref built);
                Assert.True((record is null) != (reason is null));
                if (record is not null)
                {
                    Interlocked.Increment(ref recorded);
                    using var e = JsonDocument.Parse(record.Json);
                    Assert.Equal(JsonValueKind.Object, e.RootElement.ValueKind);
                }
            }
        }, iter: 20_000);

        // Samples that never reach the event builder prove nothing about it: the generator must get there.
        Assert.True(built > 1_000 && recorded > 100, $"only {built} messages reached the event builder and {recorded} became events: the generator is off");
    }

    private static readonly string[] Types = ["track", "page", "screen", "identify", "group", "alias"];

    /// <summary>Any JSON value, nested two deep: what a member of a message or a batch may hold.</summary>
    private static readonly Gen<JsonNode?> Value = Leaf(2);

    private static Gen<JsonNode?> Leaf(int depth)
    {
        var scalar = Gen.OneOf(
            Gen.String[0, 6].Select(v => (JsonNode?)JsonValue.Create(v)),
            Gen.Int[-5, 5].Select(v => (JsonNode?)JsonValue.Create(v)),
            Gen.Bool.Select(v => (JsonNode?)JsonValue.Create(v)),
            Gen.Const((JsonNode?)null),
            Gen.OneOf("81.2.69.160", "2026-11-30T12:00:00Z", "").Select(v => (JsonNode?)JsonValue.Create(v)));
        return depth == 0 ? scalar : Gen.OneOf(
            scalar,
            Object(Gen.OneOf("a", "b", "url", "referrer", "name", "segment", "ip", "userAgent", "traits"), Leaf(depth - 1), 4),
            Leaf(depth - 1).Array[0, 3].Select(items => (JsonNode?)new JsonArray(items)));
    }

    private static Gen<JsonNode?> Object(Gen<string> names, Gen<JsonNode?> values, int most) =>
        Gen.Select(names, values).Array[0, most].Select(members =>
        {
            var o = new JsonObject();
            foreach (var (name, value) in members)
            {
                o[name] = value;
            }

            return (JsonNode?)o;
        });

    private static readonly Gen<JsonNode?> Context = Gen.OneOf(
        Value,
        Object(Gen.OneOf("ip", "userAgent", "page", "campaign", "library", "locale", "traits", "x"), Value, 6));

    private static readonly Gen<JsonObject> Message = Gen.Select(
        Gen.OneOf(Gen.OneOf(Types).Select(t => (JsonNode?)JsonValue.Create(t)), Gen.Const((JsonNode?)null)),
        Gen.OneOf(Gen.String[1, 6].Select(t => (JsonNode?)JsonValue.Create(t)), Value),
        Gen.Select(
            Gen.OneOf("userId", "anonymousId", "previousId", "groupId", "properties", "traits", "integrations", "messageId",
                "timestamp", "sentAt", "writeKey", "name", "category", "batch", "segment", "_metadata", "other"),
            Value).Array[0, 8],
        Gen.OneOf(Gen.Const((JsonNode?)null), Context),
        (type, eventName, members, context) =>
        {
            var o = new JsonObject();
            if (type is not null)
            {
                o["type"] = type;
            }

            o["event"] = eventName;
            foreach (var (name, value) in members)
            {
                o[name] = value;
            }

            if (context is not null)
            {
                o["context"] = context;
            }

            return o;
        });

    private static readonly Gen<JsonObject?> Envelope = Gen.OneOf(
        Gen.Const((JsonObject?)null),
        Gen.Select(Gen.OneOf("context", "integrations", "sentAt", "writeKey", "extra"), Gen.OneOf(Context, Value)).Array[0, 5].Select(members =>
        {
            var o = new JsonObject();
            foreach (var (name, value) in members)
            {
                o[name] = value?.DeepClone();
            }

            return (JsonObject?)o;
        }));

    /// <summary>
    /// Every member of an accepted message, and of its batch, is mapped to a field or kept under props.segment
    /// (README, "What is mapped where"), except what the privacy policy keeps out: the write key, the sender's
    /// address and user agent, and under PRIVACY_MODE=anonymize the identifiers, which appear nowhere.
    /// </summary>
    [Fact]
    public void Every_member_of_a_message_and_its_batch_is_mapped_or_kept_under_props_segment()
    {
        var checkedEvents = 0;
        Gen.Select(Message, Envelope, Gen.OneOf(Types), Gen.Bool).Sample((message, envelope, pathType, anonymize) =>
        {
            using var messageDocument = JsonDocument.Parse(message.ToJsonString());
            using var batchDocument = JsonDocument.Parse(envelope?.ToJsonString() ?? "null");
            var m = messageDocument.RootElement;
            var batch = envelope is null ? default : batchDocument.RootElement;
            var output = new ArrayBufferWriter<byte>();
            if (SegmentMessage.Write(m, batch, pathType, "wk", DateTimeOffset.UnixEpoch.AddYears(56), anonymize, output, out var facts) is not null)
            {
                return;
            }

            var (record, _) = EventBuilder.FromJson(output.WrittenSpan, null, Build.Info() with { ClientTs = facts.ClientTs }, []);
            if (record is null)
            {
                return; // over a limit, with its reason: not silent
            }

            checkedEvents++;
            using var stored = JsonDocument.Parse(record.Json);
            var e = stored.RootElement;
            var props = e.GetProperty("props");
            var type = m.TryGetProperty("type", out var t) ? t.GetString()! : pathType;
            var mapped = type is "identify" or "group" ? "traits" : "properties";
            var mappedIsObject = m.TryGetProperty(mapped, out var mv) && mv.ValueKind == JsonValueKind.Object;
            var segment = props.GetProperty(mappedIsObject && mv.TryGetProperty("segment", out _) ? "segment_message" : "segment");
            var ownContext = m.TryGetProperty("context", out var mc);
            foreach (var member in m.EnumerateObject())
            {
                var name = member.Name;
                var value = member.Value;
                var where = $"{name} in {m} under {envelope?.ToJsonString()} ({pathType}, anonymize {anonymize}) -> {e}";
                if (name == "writeKey")
                {
                    Assert.False(segment.TryGetProperty(name, out _), where);
                }
                else if (anonymize && (name is "userId" or "anonymousId" or "previousId" || (name == "traits" && mapped != "traits")))
                {
                    Assert.False(segment.TryGetProperty(name, out _), where);
                    Assert.False(e.TryGetProperty("uid", out _), where);
                }
                else if (name == "event" && type == "track")
                {
                    Assert.Equal(value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText(), e.GetProperty("e").GetString());
                }
                else if (name == "userId" && value.ValueKind is JsonValueKind.String or JsonValueKind.Number && value.ToString().Length > 0)
                {
                    Assert.Equal(value.ToString(), e.GetProperty("uid").GetString());
                }
                else if (name == mapped && mappedIsObject)
                {
                    foreach (var p in value.EnumerateObject())
                    {
                        Assert.True(JsonElement.DeepEquals(p.Value, props.GetProperty(p.Name)), where);
                    }
                }
                else if (name == "context" && value.ValueKind == JsonValueKind.Object)
                {
                    AssertContextKept(value, segment.GetProperty("context"), anonymize, where);
                }
                else
                {
                    Assert.True(segment.TryGetProperty(name, out var kept) && JsonElement.DeepEquals(value, kept), where);
                }
            }

            if (envelope is null)
            {
                return;
            }

            var batchKept = segment.TryGetProperty(m.TryGetProperty("batch", out _) ? "segment_batch" : "batch", out var bk) ? bk : default;
            foreach (var member in batch.EnumerateObject())
            {
                var where = $"batch {member.Name} of {envelope.ToJsonString()} for {m} -> {e}";
                var applied = member.Value.ValueKind == JsonValueKind.Object
                    && ((member.Name == "context" && !ownContext) || (member.Name == "integrations" && !m.TryGetProperty("integrations", out _)));
                var holder = applied ? segment : batchKept;
                if (member.Name == "writeKey")
                {
                    Assert.False(batchKept.ValueKind == JsonValueKind.Object && batchKept.TryGetProperty("writeKey", out _), where);
                }
                else if (member.Name == "context" && member.Value.ValueKind == JsonValueKind.Object)
                {
                    AssertContextKept(member.Value, holder.GetProperty("context"), anonymize, where);
                }
                else
                {
                    Assert.True(holder.ValueKind == JsonValueKind.Object && holder.TryGetProperty(member.Name, out var kept) && JsonElement.DeepEquals(member.Value, kept), where);
                }
            }
        }, iter: 20_000);
        Assert.True(checkedEvents > 1_000, $"only {checkedEvents} messages were accepted: the generator is off");
    }

    private static void AssertContextKept(JsonElement sent, JsonElement kept, bool anonymize, string where)
    {
        foreach (var member in sent.EnumerateObject())
        {
            var privacy = member.Name == "ip"
                || (member.Name == "userAgent" && (anonymize || member.Value.ValueKind is JsonValueKind.String or JsonValueKind.Number))
                || (member.Name == "traits" && anonymize);
            Assert.True(privacy ? !kept.TryGetProperty(member.Name, out _) : kept.TryGetProperty(member.Name, out var k) && JsonElement.DeepEquals(member.Value, k), where);
        }
    }

    /// <summary>Arbitrary bodies, batches with arbitrary envelopes among them, to /v1/batch and /v1/t: never a 500.</summary>
    [Fact]
    public async Task Arbitrary_bodies_and_batch_envelopes_never_fail_the_endpoint()
    {
        using var factory = new IngestFactory(new() { ["MAX_BODY_BYTES"] = "4096", ["MAX_BATCH_EVENTS"] = "4" });
        using var client = factory.CreateClient();
        var bodies = Gen.OneOf(
            Messages,
            Gen.Select(Message.Array[0, 5], Envelope, (messages, envelope) =>
            {
                var o = envelope ?? new JsonObject();
                o["batch"] = new JsonArray([.. messages]);
                return o.ToJsonString();
            }),
            Gen.Select(Envelope, Value, (envelope, batch) =>
            {
                var o = envelope ?? new JsonObject();
                o["batch"] = batch;
                return o.ToJsonString();
            }),
            Token.Array[0, 40].Select(t => "{\"batch\":[" + string.Concat(t) + "]}"));
        var statuses = new HashSet<HttpStatusCode>();
        await bodies.SampleAsync(async body =>
        {
            foreach (var path in new[] { "/v1/batch", "/v1/t" })
            {
                using var content = new StringContent(body, Encoding.UTF8, "text/plain");
                using var response = await client.PostAsync(path, content);
                var status = response.StatusCode;
                statuses.Add(status);
                Assert.True(status is HttpStatusCode.OK or HttpStatusCode.BadRequest or HttpStatusCode.RequestEntityTooLarge, $"{path} {body}: {status}");
            }
        }, iter: 400, threads: 1);
        Assert.Contains(HttpStatusCode.OK, statuses);
        Assert.Contains(HttpStatusCode.BadRequest, statuses);
    }

    private static byte[] Compress(byte[] bytes, string encoding = "gzip")
    {
        var output = new MemoryStream();
        using (Stream zip = encoding == "gzip" ? new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true) : new ZLibStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            zip.Write(bytes);
        }

        return output.ToArray();
    }

    /// <summary>Valid gzip or deflate cut anywhere, or arbitrary bytes called so: 200, 400 or 413, never a 500.</summary>
    [Theory]
    [InlineData("gzip")]
    [InlineData("deflate")]
    public async Task Arbitrary_and_truncated_compressed_bodies_never_fail_the_endpoint(string encoding)
    {
        using var factory = new IngestFactory(new() { ["MAX_BODY_BYTES"] = "4096" });
        using var client = factory.CreateClient();
        var whole = Compress(Encoding.UTF8.GetBytes("{\"batch\":[" + string.Join(',', Enumerable.Repeat("{\"type\":\"track\",\"event\":\"x\"}", 40)) + "]}"), encoding);
        var bodies = Gen.OneOf(
            Gen.Int[0, whole.Length].Select(n => whole[..n]),
            Gen.Byte.Array[0, 300],
            Gen.Int[0, whole.Length - 1].Select(Gen.Byte, (at, b) => { var copy = (byte[])whole.Clone(); copy[at] ^= (byte)(b | 1); return copy; }));
        var statuses = new HashSet<HttpStatusCode>();
        await bodies.SampleAsync(async body =>
        {
            foreach (var path in new[] { "/v1/batch", "/collect" })
            {
                using var content = new ByteArrayContent(body);
                content.Headers.ContentType = new("application/json");
                content.Headers.ContentEncoding.Add(encoding);
                using var response = await client.PostAsync(path, content);
                var status = response.StatusCode;
                lock (statuses)
                {
                    statuses.Add(status);
                }

                if (status is not (HttpStatusCode.OK or HttpStatusCode.Accepted or HttpStatusCode.BadRequest or HttpStatusCode.RequestEntityTooLarge))
                {
                    // The body and the answer, read only when the status is wrong, so the case can be replayed at once.
                    Assert.Fail($"{path}: {status}, body (base64) {Convert.ToBase64String(body)}: {await response.Content.ReadAsStringAsync()}");
                }
            }
        }, iter: 300, threads: 1);
        Assert.Contains(HttpStatusCode.BadRequest, statuses);
    }
}
