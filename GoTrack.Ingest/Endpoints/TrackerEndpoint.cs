using System.Buffers;
using GoTrack.Ingest.Tracker;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace GoTrack.Ingest.Endpoints;

/// <summary>
/// <c>GET|HEAD</c> of the tracker script, at TRACKER_PATH and at its hashed URL. The script is the same for
/// every client and never sets a cookie, so browsers and shared caches may keep it.
/// </summary>
/// <remarks>
/// Answers:
/// - 200 with the script. At TRACKER_PATH, cacheable for an hour and revalidated by its strong ETag (the
///   content hash), so pages can embed that URL and get a new version within the hour. At the hashed URL,
///   for a year and immutable: those bytes can never change, so a browser never asks again.
/// - 304 when If-None-Match names the current ETag (or is <c>*</c>).
/// - 302 from the hashed URL of another version (a page cached before an upgrade) to the current one, not
///   cached itself: after a rollback the old hash is current again, and a cached redirect could loop.
/// - 404 at a URL of the hashed form whose middle is not a hash; 405 with a JSON error for other methods.
/// Cross-origin: <c>Access-Control-Allow-Origin: *</c>, so a page may load it with <c>crossorigin</c> and
/// <c>integrity</c> (subresource integrity); it is public and carries no credentials.
/// </remarks>
public sealed class TrackerEndpoint(TrackerScript script)
{
    private static readonly StringValues JavaScript = "text/javascript; charset=utf-8";
    private static readonly StringValues StableCache = "public, max-age=3600";
    private static readonly StringValues ImmutableCache = "public, max-age=31536000, immutable";
    private static readonly StringValues NotCached = "no-store";
    private static readonly StringValues NoSniff = "nosniff";
    private static readonly StringValues AnyOrigin = "*";
    private static readonly StringValues CrossOrigin = "cross-origin";

    private static readonly SearchValues<char> LowerHex = SearchValues.Create("0123456789abcdef");

    private readonly StringValues _etag = script.ETag;

    public Task ServeStableAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return ServeAsync(context, StableCache);
    }

    public Task ServeHashedAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var hash = context.Request.RouteValues["hash"] as string;
        if (string.Equals(hash, script.Hash, StringComparison.Ordinal))
        {
            return ServeAsync(context, ImmutableCache);
        }

        var response = context.Response;
        if (hash is not { Length: TrackerScript.HashLength } || !IsLowerHex(hash))
        {
            response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }

        if (!IsGetOrHead(context))
        {
            return MethodNotAllowed(response);
        }

        response.StatusCode = StatusCodes.Status302Found;
        response.Headers.Location = script.HashedPath;
        response.Headers.CacheControl = NotCached;
        return Task.CompletedTask;
    }

    private Task ServeAsync(HttpContext context, StringValues cacheControl)
    {
        var request = context.Request;
        var response = context.Response;
        if (!IsGetOrHead(context))
        {
            return MethodNotAllowed(response);
        }

        var headers = response.Headers;
        headers.CacheControl = cacheControl;
        headers.ETag = _etag;
        headers.AccessControlAllowOrigin = AnyOrigin;
        if (Matches(request.Headers.IfNoneMatch))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return Task.CompletedTask;
        }

        response.StatusCode = StatusCodes.Status200OK;
        headers.ContentType = JavaScript;
        headers.XContentTypeOptions = NoSniff;
        headers["Cross-Origin-Resource-Policy"] = CrossOrigin;
        response.ContentLength = script.Bytes.Length;
        if (HttpMethods.IsHead(request.Method))
        {
            return Task.CompletedTask;
        }

        var write = response.BodyWriter.WriteAsync(script.Bytes);
        return write.IsCompletedSuccessfully ? Task.CompletedTask : write.AsTask();
    }

    /// <summary>If-None-Match uses the weak comparison (RFC 9110, 13.1.2): <c>W/"hash"</c> matches too.</summary>
    private bool Matches(StringValues ifNoneMatch)
    {
        if (StringValues.IsNullOrEmpty(ifNoneMatch) || !EntityTagHeaderValue.TryParseList(ifNoneMatch, out var tags))
        {
            return false;
        }

        foreach (var tag in tags)
        {
            if (tag.Tag.Equals("*") || tag.Tag.Equals(script.ETag))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsGetOrHead(HttpContext context) =>
        HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method);

    private static Task MethodNotAllowed(HttpResponse response)
    {
        response.Headers.Allow = HttpAnswers.GetHead;
        return HttpAnswers.WriteError(response, StatusCodes.Status405MethodNotAllowed, "method not allowed; use GET or HEAD");
    }

    private static bool IsLowerHex(string text) => !text.AsSpan().ContainsAnyExcept(LowerHex);
}
