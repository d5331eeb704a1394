using System.Text;
using Record = GoTrack.Core.Events.Record;

namespace GoTrack.Tests.Postgres;

/// <summary>Records shaped like Ingest's, with known ids, times and JSON.</summary>
public static class Rows
{
    public static readonly DateTimeOffset Start = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    public static Record Pageview(int n, string url = "https://example.com/", string? sid = null) =>
        Make(Guid.CreateVersion7(), Start.AddSeconds(n), $$$"""{"e":"pageview","url":"{{{url}}}","sid":"{{{sid ?? "s" + n}}}","props":{"n":{{{n}}}}}""");

    public static Record Make(Guid id, DateTimeOffset ts, string body)
    {
        var json = body.StartsWith("{\"e\"", StringComparison.Ordinal)
            ? "{\"event_id\":\"" + id + "\",\"ts\":\"" + ts.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture) + "\"," + body[1..]
            : body;
        return new Record(id, ts, "pageview", Encoding.UTF8.GetBytes(json));
    }

    public static Record[] Many(int count) => [.. Enumerable.Range(0, count).Select(i => Pageview(i))];

    /// <summary>Valid JSON that jsonb refuses: Postgres text cannot hold NUL (22P05).</summary>
    public static Record WithNul() => Make(Guid.CreateVersion7(), Start, """{"e":"pageview","props":{"bad":"a\u0000b"}}""");

    /// <summary>Not JSON at all (22P02).</summary>
    public static Record NotJson() => new(Guid.CreateVersion7(), Start, "pageview", "{\"e\":"u8.ToArray());
}
