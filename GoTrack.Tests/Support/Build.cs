using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using GoTrack.Ingest.Intake;

namespace GoTrack.Tests.Support;

/// <summary>Builds events the way the endpoints do, without HTTP.</summary>
public static class Build
{
    public static readonly DateTimeOffset Now = new(2026, 11, 27, 12, 34, 56, 789, TimeSpan.Zero);
    public const string Session = "AAAAAAAAAAAAAAAAAAAAAA";
    public const string Agent = "Mozilla/5.0 (test)";

    internal static RequestInfo Info(string? ua = Agent, string? ip = "203.0.113.7") =>
        new(Now, ua, ip is null ? null : IPAddress.Parse(ip));

    /// <summary>The pixel event's JSON with a server-assigned event_id replaced by "ID", or the rejection reason.</summary>
    public static (string? Json, string? Error) Pixel(string query, string? referer = null, string? ua = Agent, string? ip = "203.0.113.7")
    {
        var (record, error) = EventBuilder.FromPixel(query, referer, Info(ua, ip), Session);
        return (record is null ? null : Normalize(record.Json), error);
    }

    public static (string? Json, string? Error) Json(string element, string? ua = Agent, string? ip = "203.0.113.7", string? referer = null)
    {
        var (record, error) = EventBuilder.FromJson(Encoding.UTF8.GetBytes(element), referer, Info(ua, ip), Session);
        return (record is null ? null : Normalize(record.Json), error);
    }

    /// <summary>Replaces a server-assigned (v7) event_id with "ID" so tables can state the rest exactly.</summary>
    public static string Normalize(byte[] json)
    {
        var text = Encoding.UTF8.GetString(json);
        var node = JsonNode.Parse(text)!.AsObject();
        var id = Guid.Parse(node["event_id"]!.GetValue<string>());
        return id.Version == 7 ? text.Replace(id.ToString(), "ID", StringComparison.Ordinal) : text;
    }
}
