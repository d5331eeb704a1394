using System.Net;
using System.Text;
using System.Text.Json;
using GoTrack.Tests.Support;

namespace GoTrack.Tests.Http;

public sealed class CollectEndpointTests : IClassFixture<CollectEndpointTests.Server>
{
    public sealed class Server : IDisposable
    {
        public IngestFactory Factory { get; } = new(new() { ["MAX_BODY_BYTES"] = "4096", ["MAX_BATCH_EVENTS"] = "5" });

        public void Dispose() => Factory.Dispose();
    }

    private readonly IngestFactory _factory;

    public CollectEndpointTests(Server server) => _factory = server.Factory;

    private static StringContent Body(string json, string mediaType = "application/json") => new(json, Encoding.UTF8, mediaType);

    private async Task<string[]> LinesWith(params string[] ids)
    {
        await _factory.WaitDeliveredAsync();
        return [.. ids.Select(id => _factory.Lines().Single(l => l.Contains(id, StringComparison.Ordinal)))];
    }

    [Fact]
    public async Task One_json_event_is_accepted()
    {
        using var client = _factory.CreateClient();
        var id = Guid.NewGuid().ToString();
        using var response = await client.PostAsync("/collect", Body($$"""{"e":"signup","event_id":"{{id}}","uid":"u42"}"""));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("""{"accepted":1,"rejected":[]}""", await response.Content.ReadAsStringAsync());
        var e = JsonDocument.Parse((await LinesWith(id))[0]).RootElement;
        Assert.Equal("signup", e.GetProperty("e").GetString());
        Assert.Equal("u42", e.GetProperty("uid").GetString());
    }

    [Fact]
    public async Task A_send_beacon_text_plain_batch_is_accepted()
    {
        using var client = _factory.CreateClient();
        var a = Guid.NewGuid().ToString();
        var b = Guid.NewGuid().ToString();
        using var response = await client.PostAsync("/collect", Body($$"""[{"event_id":"{{a}}"},{"event_id":"{{b}}","e":"click"}]""", "text/plain"));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("""{"accepted":2,"rejected":[]}""", await response.Content.ReadAsStringAsync());
        Assert.Equal(2, (await LinesWith(a, b)).Length);
    }

    [Fact]
    public async Task A_mixed_batch_keeps_the_valid_events_and_lists_the_rejected_with_index_and_reason()
    {
        using var client = _factory.CreateClient();
        var a = Guid.NewGuid().ToString();
        var c = Guid.NewGuid().ToString();
        using var response = await client.PostAsync("/collect", Body($$"""[{"event_id":"{{a}}"},{"event_id":"nope"},{"event_id":"{{c}}"},"x"]"""));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("""{"accepted":2,"rejected":[{"index":1,"reason":"event_id must be a UUID"},{"index":3,"reason":"event must be a JSON object"}]}""",
            await response.Content.ReadAsStringAsync());
        Assert.Equal(2, (await LinesWith(a, c)).Length);
    }

    [Fact]
    public async Task A_batch_with_no_valid_event_is_400_with_the_reasons()
    {
        using var client = _factory.CreateClient();
        using var response = await client.PostAsync("/collect", Body("""[{"e":1}]"""));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("""{"error":"no valid events","accepted":0,"rejected":[{"index":0,"reason":"e must be a string"}]}""", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("{\"e\":", HttpStatusCode.BadRequest)]
    [InlineData("[1,2", HttpStatusCode.BadRequest)]
    [InlineData("[{},{},{},{},{},{}]", HttpStatusCode.RequestEntityTooLarge)]
    public async Task Bad_bodies_get_their_status_and_a_json_error(string body, HttpStatusCode status)
    {
        using var client = _factory.CreateClient();
        using var response = await client.PostAsync("/collect", Body(body));
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        Assert.False(string.IsNullOrEmpty(JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString()));
    }

    [Fact]
    public async Task An_oversize_body_is_413_whether_or_not_it_declares_its_length()
    {
        using var client = _factory.CreateClient();
        var big = "{\"p\":\"" + new string('x', 5000) + "\"}";
        using var declared = await client.PostAsync("/collect", Body(big));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, declared.StatusCode);

        using var chunked = new HttpRequestMessage(HttpMethod.Post, "/collect")
        {
            Content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(big))),
        };
        chunked.Content.Headers.ContentType = new("application/json");
        chunked.Headers.TransferEncodingChunked = true;
        using var response = await client.SendAsync(chunked);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("MAX_BODY_BYTES", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("application/xml")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData(null)]
    public async Task Other_content_types_are_415(string? mediaType)
    {
        using var client = _factory.CreateClient();
        using var content = new ByteArrayContent("{}"u8.ToArray());
        if (mediaType is not null)
        {
            content.Headers.ContentType = new(mediaType);
        }

        using var response = await client.PostAsync("/collect", content);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Contains("content type", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("PUT")]
    [InlineData("DELETE")]
    public async Task Other_methods_are_405_with_a_json_error(string method)
    {
        using var client = _factory.CreateClient();
        using var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), "/collect"));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal("""{"error":"method not allowed; use POST"}""", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Json_charset_parameters_are_fine()
    {
        using var client = _factory.CreateClient();
        using var content = new ByteArrayContent("{}"u8.ToArray());
        content.Headers.TryAddWithoutValidation("Content-Type", "text/plain;charset=UTF-8");
        using var response = await client.PostAsync("/collect", content);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }
}
