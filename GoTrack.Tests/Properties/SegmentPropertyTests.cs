using System.Buffers;
using System.IO.Compression;
using System.Net;
using System.Text;
using System.Text.Json;
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
        Messages.Sample(text =>
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
                Assert.True((record is null) != (reason is null));
                if (record is not null)
                {
                    using var e = JsonDocument.Parse(record.Json);
                    Assert.Equal(JsonValueKind.Object, e.RootElement.ValueKind);
                }
            }
        }, iter: 20_000);
    }

    private static byte[] Compress(byte[] bytes)
    {
        var output = new MemoryStream();
        using (var zip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            zip.Write(bytes);
        }

        return output.ToArray();
    }

    /// <summary>Valid gzip cut anywhere, or arbitrary bytes called gzip: 200, 400 or 413, never a 500.</summary>
    [Fact]
    public async Task Arbitrary_and_truncated_gzip_bodies_never_fail_the_endpoint()
    {
        using var factory = new IngestFactory(new() { ["MAX_BODY_BYTES"] = "4096" });
        using var client = factory.CreateClient();
        var whole = Compress(Encoding.UTF8.GetBytes("{\"batch\":[" + string.Join(',', Enumerable.Repeat("{\"type\":\"track\",\"event\":\"x\"}", 40)) + "]}"));
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
                content.Headers.ContentEncoding.Add("gzip");
                using var response = await client.PostAsync(path, content);
                var status = response.StatusCode;
                lock (statuses)
                {
                    statuses.Add(status);
                }

                Assert.True(status is HttpStatusCode.OK or HttpStatusCode.Accepted or HttpStatusCode.BadRequest or HttpStatusCode.RequestEntityTooLarge, $"{path}: {status}");
            }
        }, iter: 300, threads: 1);
        Assert.Contains(HttpStatusCode.BadRequest, statuses);
    }
}
