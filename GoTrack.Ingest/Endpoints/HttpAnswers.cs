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

    /// <summary>Answers <c>{"error": message}</c>.</summary>
    public static Task WriteError(HttpResponse response, int statusCode, string message)
    {
        response.StatusCode = statusCode;
        response.Headers.ContentType = Json;
        response.Headers.CacheControl = NoStore;
        using var json = new Utf8JsonWriter(response.BodyWriter, JsonOptions);
        json.WriteStartObject();
        json.WriteString("error"u8, message);
        json.WriteEndObject();
        json.Flush();
        return response.BodyWriter.FlushAsync().AsTask();
    }

    /// <summary>Why a 503: the event log did not take the events (full, failing, or the server stopping).</summary>
    public static string Unavailable(GoTrack.Core.Queue.AppendResult result) => result switch
    {
        GoTrack.Core.Queue.AppendResult.Full => "event log is full; retry later",
        GoTrack.Core.Queue.AppendResult.Failed => "event log could not be written; retry later",
        _ => "shutting down; retry later",
    };
}
