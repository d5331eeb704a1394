using System.Buffers;
using System.Diagnostics;
using GoTrack.Core.Events;
using GoTrack.Core.Queue;
using GoTrack.Core.Telemetry;
using GoTrack.Ingest.Configuration;
using GoTrack.Ingest.Intake;
using GoTrack.Ingest.Parsing;
using GoTrack.Ingest.Session;
using Microsoft.AspNetCore.Http;

namespace GoTrack.Ingest.Endpoints;

/// <summary>
/// <c>GET|HEAD /px.gif</c>. The hot path: the query is decoded into one rented buffer, the event is
/// encoded once, appended, and the pre-encoded GIF goes back. HEAD records the event too.
/// </summary>
/// <remarks>
/// Answers: 200 with the GIF when the event is in the log (or deliberately not recorded: DNT). When the
/// event is invalid, 400 - still with the GIF, so the page shows nothing broken. When the log is full or
/// the service is stopping, 503 with Retry-After and the GIF: the browser is never told an event was
/// kept when it was not, and <c>gotrack_events_total{outcome="rejected_overload"}</c> counts it.
/// </remarks>
public sealed class PixelEndpoint(EventIntake intake, SessionCookie cookie, IngestOptions options, TimeProvider time)
{
    public const string Path = "/px.gif";
    private const string MetricName = "pixel";

    public async Task HandleAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var started = Stopwatch.GetTimestamp();
        var request = context.Request;
        var response = context.Response;
        var metrics = intake.Metrics;

        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method))
        {
            response.Headers.Allow = HttpAnswers.GetHead;
            await HttpAnswers.WriteError(response, StatusCodes.Status405MethodNotAllowed, "method not allowed; use GET or HEAD").ConfigureAwait(false);
            metrics.Request(MetricName, StatusCodes.Status405MethodNotAllowed, started);
            return;
        }

        if (options.DntRespect && IsDoNotTrack(request))
        {
            metrics.Events(EventOutcomes.DoNotTrack);
            await HttpAnswers.WriteGif(response, StatusCodes.Status200OK).ConfigureAwait(false);
            metrics.Request(MetricName, StatusCodes.Status200OK, started);
            return;
        }

        // A new session's value lives inside its Set-Cookie header: one allocation for both.
        var session = cookie.Read(request.Headers.Cookie);
        var setCookie = session.IsEmpty ? cookie.NewSetCookieHeader(request.IsHttps) : null;
        if (setCookie is not null)
        {
            session = cookie.ValueOf(setCookie);
        }

        var (record, error) = Encode(context, session);
        int status;
        if (record is null)
        {
            metrics.Events(EventOutcomes.Invalid);
            status = StatusCodes.Status400BadRequest;
            response.Headers["X-GoTrack-Error"] = error;
        }
        else
        {
            var result = await intake.AppendAsync(record, context.RequestAborted).ConfigureAwait(false);
            if (result == AppendResult.Accepted)
            {
                status = StatusCodes.Status200OK;
                if (setCookie is not null)
                {
                    response.Headers.SetCookie = setCookie;
                }
            }
            else
            {
                status = StatusCodes.Status503ServiceUnavailable;
                HttpAnswers.RetryAfter(response, options.RetryAfterSeconds);
            }
        }

        await HttpAnswers.WriteGif(response, status).ConfigureAwait(false);
        metrics.Request(MetricName, status, started);
    }

    private (Record? Record, string? Error) Encode(HttpContext context, ReadOnlySpan<char> session)
    {
        var request = context.Request;
        var query = request.QueryString.Value.AsSpan();
        var referer = request.Headers.Referer.ToString();
        var size = PixelQueryParser.ScratchSize(query.Length) + Scratch.Worst(Math.Min(referer.Length, FieldLimits.Url)) + RequestFacts.ScratchSize(request);
        var rented = ArrayPool<byte>.Shared.Rent(size);
        var ranges = ArrayPool<Range>.Shared.Rent(2 * FieldLimits.Props);
        try
        {
            var scratch = new Scratch(rented.AsSpan(0, size));
            var props = new EventProps(ranges.AsSpan(0, FieldLimits.Props), ranges.AsSpan(FieldLimits.Props, FieldLimits.Props));
            var fields = default(EventFields);
            var error = PixelQueryParser.Parse(query, ref scratch, ref fields, ref props, out var hasEventId);
            if (fields.Ref.IsEmpty && referer.Length is > 0 and <= FieldLimits.Url)
            {
                // No ref parameter: the Referer header is the page that loaded the pixel.
                fields.Ref = Utf8Text.Clean(scratch.Utf8(referer));
            }

            error ??= FieldRules.Validate(fields);
            if (error is not null)
            {
                return (null, error);
            }

            RequestFacts.Fill(context, ref scratch, ref fields, hasEventId, Rfc3339.TruncateToMilliseconds(time.GetUtcNow()), session);
            props.Bind(scratch.Written, []);
            return (EventEncoder.Encode(fields, props), null);
        }
        finally
        {
            ArrayPool<Range>.Shared.Return(ranges);
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    internal static bool IsDoNotTrack(HttpRequest request)
    {
        var dnt = request.Headers["DNT"];
        return dnt.Count == 1 && dnt[0] == "1";
    }
}
