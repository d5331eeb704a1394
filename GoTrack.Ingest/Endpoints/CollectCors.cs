using GoTrack.Ingest.Privacy;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace GoTrack.Ingest.Endpoints;

/// <summary>
/// CORS for /collect, from CORS_ALLOWED_ORIGINS. An allowed origin is echoed back (with Vary: Origin) and
/// may send credentials, so the session cookie works from a page on an allowed origin; <c>*</c> answers
/// <c>Access-Control-Allow-Origin: *</c> and never allows credentials. A request whose Origin is not on
/// the list is refused. A request without Origin is not a cross-origin browser request (same-origin
/// navigation, a server) and passes: CORS is a browser's protection, not authentication.
/// </summary>
internal static class CollectCors
{
    private static readonly StringValues Star = "*";
    private static readonly StringValues True = "true";
    private static readonly StringValues Origin = "Origin";
    private static readonly StringValues AllowHeaders = "Content-Type";

    /// <summary>What Segment's browser SDK sends: its write key as Basic auth, and a retry counter.</summary>
    internal static readonly StringValues SegmentAllowHeaders = "Content-Type, Authorization, X-Retry-Count";
    private static readonly StringValues ExposeHeaders = "Retry-After";
    private static readonly StringValues MaxAge = "7200";

    public enum Result
    {
        /// <summary>No CORS: the allowlist is empty, or the request has no Origin.</summary>
        None,
        Allowed,
        Refused,
    }

    /// <summary>Checks the Origin and writes the CORS response headers for an allowed one.</summary>
    /// <param name="anyOriginWhenEmpty">The Segment API: with no allowlist, any origin may send (without credentials), as Segment's own API allows.</param>
    public static Result Apply(HttpRequest request, HttpResponse response, OriginAllowlist allowlist, bool anyOriginWhenEmpty = false)
    {
        if (allowlist.IsEmpty)
        {
            if (anyOriginWhenEmpty && request.Headers.Origin.Count > 0)
            {
                response.Headers.AccessControlAllowOrigin = Star;
                response.Headers.AccessControlExposeHeaders = ExposeHeaders;
                return Result.Allowed;
            }

            return Result.None;
        }

        var headers = response.Headers;
        headers.Vary = Origin;
        var origin = request.Headers.Origin;
        if (origin.Count == 0)
        {
            return Result.None;
        }

        if (origin.Count > 1 || !allowlist.IsAllowed(origin[0]))
        {
            return Result.Refused;
        }

        if (allowlist.AnyOrigin)
        {
            headers.AccessControlAllowOrigin = Star;
        }
        else
        {
            headers.AccessControlAllowOrigin = origin;
            headers.AccessControlAllowCredentials = True;
        }

        headers.AccessControlExposeHeaders = ExposeHeaders;
        return Result.Allowed;
    }

    /// <summary>Answers OPTIONS: 204, with the preflight headers when the origin is allowed.</summary>
    public static void Preflight(HttpResponse response, Result result, StringValues allowHeaders = default)
    {
        var headers = response.Headers;
        headers.Allow = HttpAnswers.PostOptions;
        if (result == Result.Allowed)
        {
            headers.AccessControlAllowMethods = HttpAnswers.PostOptions;
            headers.AccessControlAllowHeaders = allowHeaders.Count > 0 ? allowHeaders : AllowHeaders;
            headers.AccessControlMaxAge = MaxAge;
        }

        response.StatusCode = StatusCodes.Status204NoContent;
    }
}
