using System.Net;
using System.Text;
using GoTrack.Tests.Support;

namespace GoTrack.Tests.Http;

/// <summary>
/// Hostile input within every per-field limit can still make a huge event once encoded (a character
/// outside the BMP is 4 bytes in, a 12-byte escaped surrogate pair out). Such an event is refused at
/// intake: past a Kafka broker's message size it could never be delivered and would block the sink.
/// </summary>
public sealed class EventSizeTests
{
    [Fact]
    public async Task An_event_that_escaping_would_grow_past_512_KiB_is_refused_with_the_reason()
    {
        using var factory = new IngestFactory();
        using var client = factory.CreateClient();
        var emoji = string.Concat(Enumerable.Repeat("\U0001F600", 2000));
        var props = string.Join(',', Enumerable.Range(0, 64).Select(i => $"\"p{i}\":\"{emoji}\""));
        var body = "{\"e\":\"big\",\"props\":{" + props + "}}";
        Assert.True(Encoding.UTF8.GetByteCount(body) < 1024 * 1024);

        using var response = await client.PostAsync("/collect", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("larger than 524288 bytes as JSON", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // The same shape at a tenth of the size is fine.
        var small = "{\"e\":\"ok\",\"props\":{" + string.Join(',', Enumerable.Range(0, 6).Select(i => $"\"p{i}\":\"{emoji}\"")) + "}}";
        using var ok = await client.PostAsync("/collect", new StringContent(small, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Accepted, ok.StatusCode);
    }
}
