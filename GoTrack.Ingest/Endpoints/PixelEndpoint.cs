using System.Diagnostics;
using GoTrack.Core.Events;
using GoTrack.Core.Queue;
using GoTrack.Core.Telemetry;
using GoTrack.Ingest.Configuration;
using GoTrack.Ingest.Intake;
using GoTrack.Ingest.Privacy;
using GoTrack.Ingest.Session;
using Microsoft.AspNetCore.Http;

namespace GoTrack.Ingest.Endpoints;

/// <summary>
/// <c>GET|HEAD /px.gif</c>. The hot path: the query is decoded into one rented buffer, the event is
/// encoded once, appended, and the pre-encoded GIF goes back. HEAD records the event too.
/// </summary>
/// <remarks>
/// Answers: 200 with the GIF when the event is in the log (or deliberately not recorded: an opt-out under
/// PRIVACY_MODE=drop, or a bot under BOT_MODE=drop). When the
/// event is invalid, 400 - still with the GIF, so the page shows nothing broken. When the log is full or
/// the service is stopping, 503 with Retry-After and the GIF: the browser is never told an event was
/// kept when it was not, and <c>gotrack_events_total{outcome="rejected_overload"}</c> counts it.
/// </remarks>
public sealed class PixelEndpoint(EventIntake intake, SessionCookie cookie, IngestOptions options, PrivacyPolicy policy, TimeProvider time)
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

        var optOut = OptOuts.Of(request, policy.Options);
        var anonymize = optOut != OptOut.None && policy.Options.PrivacyMode == PrivacyMode.Anonymize;
        if (anonymize)
        {
            OptOuts.ScrubRequestSpan();
        }
        if (optOut != OptOut.None && !anonymize)
        {
            await NotRecorded(context, optOut.DroppedOutcome(), started).ConfigureAwait(false);
            return;
        }

        var info = RequestInfo.From(context, Rfc3339.TruncateToMilliseconds(time.GetUtcNow()), policy, anonymize);
        if (info.Device.IsBot && policy.BotMode == BotMode.Drop)
        {
            await NotRecorded(context, EventOutcomes.Bot, started).ConfigureAwait(false);
            return;
        }

        // A new session's value lives inside its Set-Cookie header: one allocation for both. Opted-out
        // (anonymized) and cookieless requests neither read nor set the cookie.
        ReadOnlySpan<char> session = default;
        string? setCookie = null;
        if (!anonymize && !policy.Cookieless)
        {
            session = cookie.Read(request.Headers.Cookie);
            setCookie = session.IsEmpty ? cookie.NewSetCookieHeader(request.IsHttps) : null;
            if (setCookie is not null)
            {
                session = cookie.ValueOf(setCookie);
            }
        }

        var (record, error) = EventBuilder.FromPixel(request.QueryString.Value, request.Headers.Referer.ToString(), info, session);
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
                if (anonymize)
                {
                    metrics.Events(optOut.AnonymizedOutcome());
                }

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

    /// <summary>A request deliberately not recorded still gets the GIF (and no cookie), and is counted.</summary>
    private async Task NotRecorded(HttpContext context, string outcome, long started)
    {
        intake.Metrics.Events(outcome);
        await HttpAnswers.WriteGif(context.Response, StatusCodes.Status200OK).ConfigureAwait(false);
        intake.Metrics.Request(MetricName, StatusCodes.Status200OK, started);
    }
}
