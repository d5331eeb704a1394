using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace GoTrack.Ingest.Endpoints;

/// <summary>Pre-encoded answers shared by the endpoints.</summary>
internal static class HttpAnswers
{
    /// <summary>The 43-byte transparent 1x1 GIF.</summary>
    public static readonly byte[] Gif = Convert.FromBase64String("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==");

    public static readonly StringValues ImageGif = "image/gif";
    public static readonly StringValues NoStore = "no-store, no-cache, must-revalidate, private";
    public static readonly StringValues PragmaNoCache = "no-cache";
    public static readonly StringValues ExpiresZero = "0";
    public static readonly StringValues Json = "application/json; charset=utf-8";
    public static readonly StringValues GetHead = "GET, HEAD";
    public static readonly StringValues PostOptions = "POST, OPTIONS";

    public static readonly JsonWriterOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void NoCache(HttpResponse response)
    {
        var h = response.Headers;
        h.CacheControl = NoStore;
        h.Pragma = PragmaNoCache;
        h.Expires = ExpiresZero;
    }

    public static void RetryAfter(HttpResponse response, int seconds) =>
        response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);

    /// <summary>Answers with the GIF (for HEAD, only its headers).</summary>
    public static Task WriteGif(HttpResponse response, int statusCode)
    {
        response.StatusCode = statusCode;
        response.Headers.ContentType = ImageGif;
        NoCache(response);
        response.ContentLength = Gif.Length;
        if (HttpMethods.IsHead(response.HttpContext.Request.Method))
        {
            return Task.CompletedTask;
        }

        var write = response.BodyWriter.WriteAsync(Gif);
        return write.IsCompletedSuccessfully ? Task.CompletedTask : write.AsTask();
    }

    /// <summary>Answers <c>{"error": message}</c>, and shows a request refused as a whole in the debugger (DEBUG_UI).</summary>
    /// <param name="segment">The Segment API's shape: <c>success: false</c> first, as Segment answers.</param>
    public static Task WriteError(HttpResponse response, int statusCode, string message, bool segment = false)
    {
        ShowInDebugger(response.HttpContext, statusCode, message);
        response.StatusCode = statusCode;
        response.Headers.ContentType = Json;
        response.Headers.CacheControl = NoStore;
        using var json = new Utf8JsonWriter(response.BodyWriter, JsonOptions);
        json.WriteStartObject();
        if (segment)
        {
            json.WriteBoolean("success"u8, false);
        }

        json.WriteString("error"u8, message);
        json.WriteEndObject();
        json.Flush();
        return response.BodyWriter.FlushAsync().AsTask();
    }

    /// <summary>
    /// Every JSON error answer of every endpoint comes through <see cref="WriteError"/>, so the debugger learns
    /// of a request refused as a whole here, once: a wrong method (405), content type or encoding (415), a body
    /// too large (413) or not JSON (400), an unknown path (404). 401, 403, 429 and 503 are shown where they are
    /// decided (IntakeGate, <see cref="PostPreambleAsync"/>, EventIntake), with their outcome and event count.
    /// Only the reason the client got is shown, never the body.
    /// </summary>
    private static void ShowInDebugger(HttpContext context, int statusCode, string message)
    {
        if (statusCode is StatusCodes.Status401Unauthorized or StatusCodes.Status403Forbidden
            or StatusCodes.Status429TooManyRequests or StatusCodes.Status503ServiceUnavailable)
        {
            return;
        }

        // Looked up per error (not per request): the endpoints' error paths share this writer, not a constructor.
        if (context.RequestServices?.GetService(typeof(Debugging.DebugFeed)) is Debugging.DebugFeed { Enabled: true } feed)
        {
            feed.RequestRefused(context.Request.Path.Value ?? "/", statusCode, message);
        }
    }

    /// <summary>Why a 503: the event log did not take the events (full, failing, or the server stopping).</summary>
    public static string Unavailable(GoTrack.Core.Queue.AppendResult result) => result switch
    {
        GoTrack.Core.Queue.AppendResult.Full => "event log is full; retry later",
        GoTrack.Core.Queue.AppendResult.Failed => "event log could not be written; retry later",
        _ => "shutting down; retry later",
    };

    /// <summary>
    /// What every POST intake endpoint checks first, in this order: CORS (403 for an origin not allowed),
    /// the preflight (204), POST only (405). Null to go on; otherwise the status code already answered.
    /// </summary>
    internal static async Task<int?> PostPreambleAsync(
        HttpContext context, Intake.EventIntake intake, string endpoint, Privacy.OriginAllowlist allowlist, bool segment)
    {
        var request = context.Request;
        var response = context.Response;
        var cors = CollectCors.Apply(request, response, allowlist, anyOriginWhenEmpty: segment);
        if (cors == CollectCors.Result.Refused)
        {
            const string Why = "origin not allowed (CORS_ALLOWED_ORIGINS)";
            intake.Refused(endpoint, GoTrack.Core.Telemetry.EventOutcomes.DisallowedOrigin, Why);
            await WriteError(response, StatusCodes.Status403Forbidden, Why, segment).ConfigureAwait(false);
            return StatusCodes.Status403Forbidden;
        }

        if (HttpMethods.IsOptions(request.Method))
        {
            CollectCors.Preflight(response, cors, segment ? CollectCors.SegmentAllowHeaders : default);
            return StatusCodes.Status204NoContent;
        }

        if (!HttpMethods.IsPost(request.Method))
        {
            response.Headers.Allow = PostOptions;
            await WriteError(response, StatusCodes.Status405MethodNotAllowed, "method not allowed; use POST", segment).ConfigureAwait(false);
            return StatusCodes.Status405MethodNotAllowed;
        }

        return null;
    }
}
