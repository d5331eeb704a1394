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
public sealed class PixelEndpoint(EventIntake intake, SessionCookie cookie, IngestOptions options, PrivacyPolicy policy, IntakeGate gate, TimeProvider time)
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

        // WRITE_KEYS: read only when set, so the open pixel never parses its query twice.
        string? key = null;
        string? source = null;
        if (gate.KeysRequired)
        {
            key = WriteKeys.FromRequest(request.Headers.Authorization, request.Query);
            if (!gate.TryKey(key, 1, out source))
            {
                response.Headers["X-GoTrack-Error"] = "missing or unknown write key (WRITE_KEYS)";
                await HttpAnswers.WriteGif(response, StatusCodes.Status401Unauthorized).ConfigureAwait(false);
                metrics.Request(MetricName, StatusCodes.Status401Unauthorized, started);
                return;
            }
        }

        var (record, error, dropped, anonymize, optOut, setCookie, client) = Build(context, request, source);
        if (dropped is not null)
        {
            await NotRecorded(context, dropped, started).ConfigureAwait(false);
            return;
        }

        int status;
        if (record is null)
        {
            intake.Refused(MetricName, EventOutcomes.Invalid, error);
            status = StatusCodes.Status400BadRequest;
            response.Headers["X-GoTrack-Error"] = error;
        }
        else if (!gate.TryRate(client, key, 1))
        {
            status = StatusCodes.Status429TooManyRequests;
            IntakeGate.RetryAfter(response);
        }
        else
        {
            var result = await intake.AppendAsync(record, context.RequestAborted, MetricName).ConfigureAwait(false);
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
    /// <summary>The request's privacy decisions (one place: <see cref="IntakeRequest"/>) and, when it is recorded, its event.</summary>
    private (Record? Record, string? Error, string? Dropped, bool Anonymize, OptOut OptOut, string? SetCookie, System.Net.IPAddress? Client) Build(
        HttpContext context, HttpRequest request, string? source)
    {
        var intakeRequest = IntakeRequest.Read(context, policy, cookie, time.GetUtcNow(), factsWhenOptedOut: false);
        if (intakeRequest.Dropped is { } dropped)
        {
            return (null, null, dropped, false, intakeRequest.OptOut, null, null);
        }

        var info = source is null ? intakeRequest.Info : intakeRequest.Info with { Source = source };
        var (record, error) = EventBuilder.FromPixel(request.QueryString.Value, request.Headers.Referer.Count > 0 ? request.Headers.Referer[0] : null, info, intakeRequest.Session);
        return (record, error, null, intakeRequest.Anonymize, intakeRequest.OptOut, intakeRequest.SetCookie, info.RemoteIp);
    }

    private async Task NotRecorded(HttpContext context, string outcome, long started)
    {
        intake.Refused(MetricName, outcome, null);
        await HttpAnswers.WriteGif(context.Response, StatusCodes.Status200OK).ConfigureAwait(false);
        intake.Metrics.Request(MetricName, StatusCodes.Status200OK, started);
    }
}
