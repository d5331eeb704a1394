using System.Net;
using Microsoft.AspNetCore.Http;

namespace GoTrack.Ingest.Intake;

/// <summary>The parts of a request the server vouches for: its receive time, user agent and peer address.</summary>
internal readonly record struct RequestInfo(DateTimeOffset Now, string? UserAgent, IPAddress? RemoteIp)
{
    public static RequestInfo From(HttpContext context, DateTimeOffset now)
    {
        var ua = context.Request.Headers.UserAgent;
        return new RequestInfo(now, ua.Count > 0 ? ua[0] : null, context.Connection.RemoteIpAddress);
    }
}
