using System.Buffers;
using System.Diagnostics;
using System.Text.Json;
using GoTrack.Core.Events;
using GoTrack.Core.Queue;
using GoTrack.Core.Telemetry;
using GoTrack.Ingest.Configuration;
using GoTrack.Ingest.Intake;
using GoTrack.Ingest.Parsing;
using GoTrack.Ingest.Privacy;
using GoTrack.Ingest.Session;
using Microsoft.AspNetCore.Http;

namespace GoTrack.Ingest.Endpoints;

/// <summary>
/// <c>POST /collect</c>: JSON (application/json, or text/plain as navigator.sendBeacon sends it), one event
/// or an array. Results are per event: valid events are appended together (all or none, so a 503 means
/// "send it all again"), invalid ones are listed with their index and reason. With CORS_ALLOWED_ORIGINS set,
/// preflights are answered and a browser request from another origin is refused with 403.
/// </summary>
public sealed class CollectEndpoint(EventIntake intake, SessionCookie cookie, IngestOptions options, PrivacyPolicy policy, IntakeGate gate, TimeProvider time)
{
    public const string Path = "/collect";
    private const string MetricName = "collect";

    public async Task HandleAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var started = Stopwatch.GetTimestamp();
        var status = await AnswerAsync(context).ConfigureAwait(false);
        intake.Metrics.Request(MetricName, status, started);
    }

    private async Task<int> AnswerAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        if (await HttpAnswers.PostPreambleAsync(context, intake, MetricName, policy.Options.CorsOrigins, segment: false).ConfigureAwait(false) is { } answered)
        {
            return answered;
        }

        if (!IsAcceptedMediaType(request.ContentType))
        {
            return await Error(response, StatusCodes.Status415UnsupportedMediaType, "content type must be application/json or text/plain").ConfigureAwait(false);
        }

        string? key = null;
        string? source = null;
        if (gate.KeysRequired)
        {
            key = WriteKeys.FromRequest(request.Headers.Authorization, request.Query);
            if (!gate.TryKey(key, 1, out source))
            {
                return await Error(response, StatusCodes.Status401Unauthorized, "missing or unknown write key (WRITE_KEYS): send ?write_key= or Basic auth").ConfigureAwait(false);
            }
        }

        if (request.ContentLength > options.MaxBodyBytes)
        {
            return await Error(response, StatusCodes.Status413PayloadTooLarge, $"body is larger than {options.MaxBodyBytes} bytes (MAX_BODY_BYTES)").ConfigureAwait(false);
        }

        var body = await RequestBody.ReadAsync(request, options.MaxBodyBytes, context.RequestAborted).ConfigureAwait(false);
        if (body.Buffer is null)
        {
            var (code, reason) = RequestBody.Refusal(body.Status, options.MaxBodyBytes);
            return await Error(response, code, reason).ConfigureAwait(false);
        }

        try
        {
            return await AnswerBodyAsync(context, body.Buffer.AsMemory(0, body.Length), key, source).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(body.Buffer);
        }
    }

    private async Task<int> AnswerBodyAsync(HttpContext context, ReadOnlyMemory<byte> body, string? key, string? source)
    {
        var request = context.Request;
        var response = context.Response;
        var elements = new List<Range>();
        var split = CollectBodyParser.Split(body.Span, options.MaxBatchEvents, elements, out var splitError);
        if (split != CollectBodyParser.SplitResult.Ok)
        {
            var code = split == CollectBodyParser.SplitResult.TooManyEvents ? StatusCodes.Status413PayloadTooLarge : StatusCodes.Status400BadRequest;
            return await Error(response, code, splitError!).ConfigureAwait(false);
        }

        // The privacy decisions, in one place (IntakeRequest); kept as plain values, since they live across awaits.
        var intakeRequest = IntakeRequest.Read(context, policy, cookie, time.GetUtcNow(), factsWhenOptedOut: true);
        var optOut = intakeRequest.OptOut;
        var anonymize = intakeRequest.Anonymize;
        var info = source is null ? intakeRequest.Info : intakeRequest.Info with { Source = source };
        var session = intakeRequest.Session.ToString();
        var setCookie = intakeRequest.SetCookie;
        var droppedOutcome = intakeRequest.Dropped;
        var referer = request.Headers.Referer.Count > 0 ? request.Headers.Referer[0] : null;
        if (droppedOutcome is null && !gate.TryRate(info.RemoteIp, key, elements.Count))
        {
            IntakeGate.RetryAfter(response);
            return await Error(response, StatusCodes.Status429TooManyRequests, "rate limit exceeded; retry later").ConfigureAwait(false);
        }

        var records = ArrayPool<Record>.Shared.Rent(Math.Max(1, elements.Count));
        var rejected = new List<(int Index, string Reason)>();
        var accepted = 0;
        try
        {
            for (var i = 0; i < elements.Count; i++)
            {
                var (record, error) = EventBuilder.FromJson(body.Span[elements[i]], referer, info, session);
                if (record is null)
                {
                    rejected.Add((i, error!));
                }
                else
                {
                    records[accepted++] = record;
                }
            }

            intake.Metrics.Events(EventOutcomes.Invalid, rejected.Count);
            foreach (var (index, reason) in rejected)
            {
                intake.Debug.Refused(MetricName, EventOutcomes.Invalid, $"event {index}: {reason}");
            }

            var dropped = droppedOutcome;
            if (accepted > 0 && dropped is not null)
            {
                intake.Refused(MetricName, dropped, null, accepted);
                return await Summary(response, StatusCodes.Status202Accepted, 0, rejected, (dropped, accepted)).ConfigureAwait(false);
            }

            if (accepted == 0)
            {
                var code = rejected.Count == 0 ? StatusCodes.Status202Accepted : StatusCodes.Status400BadRequest;
                return await Summary(response, code, 0, rejected, default).ConfigureAwait(false);
            }

            var result = await intake.AppendAsync(records.AsMemory(0, accepted), context.RequestAborted, MetricName).ConfigureAwait(false);
            if (result != AppendResult.Accepted)
            {
                HttpAnswers.RetryAfter(response, options.RetryAfterSeconds);
                return await Error(response, StatusCodes.Status503ServiceUnavailable, HttpAnswers.Unavailable(result)).ConfigureAwait(false);
            }

            if (setCookie is not null)
            {
                response.Headers.SetCookie = setCookie;
            }

            if (anonymize)
            {
                intake.Metrics.Events(optOut.AnonymizedOutcome(), accepted);
            }

            return await Summary(response, StatusCodes.Status202Accepted, accepted, rejected, default).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<Record>.Shared.Return(records, clearArray: true);
        }
    }

    internal static bool IsAcceptedMediaType(string? contentType)
    {
        if (string.IsNullOrEmpty(contentType))
        {
            return false;
        }

        var media = contentType.AsSpan();
        var semi = media.IndexOf(';');
        if (semi >= 0)
        {
            media = media[..semi];
        }

        media = media.Trim();
        return media.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || media.Equals("text/plain", StringComparison.OrdinalIgnoreCase);
    }

    private static async Task<int> Error(HttpResponse response, int statusCode, string message)
    {
        await HttpAnswers.WriteError(response, statusCode, message).ConfigureAwait(false);
        return statusCode;
    }

    /// <param name="dropped">Events deliberately not recorded, and why: the key is the outcome (dropped_dnt, dropped_gpc, dropped_bot).</param>
    internal static async Task<int> Summary(HttpResponse response, int statusCode, int accepted, List<(int Index, string Reason)> rejected, (string? Outcome, int Count) dropped, bool segment = false)
    {
        response.StatusCode = statusCode;
        response.Headers.ContentType = HttpAnswers.Json;
        response.Headers.CacheControl = HttpAnswers.NoStore;
        using (var json = new Utf8JsonWriter(response.BodyWriter, HttpAnswers.JsonOptions))
        {
            json.WriteStartObject();
            if (segment)
            {
                json.WriteBoolean("success"u8, statusCode < 400); // Segment's own answer, which its SDKs know
            }
            else if (statusCode >= 400)
            {
                json.WriteString("error"u8, "no valid events");
            }

            json.WriteNumber("accepted"u8, accepted);
            if (dropped.Outcome is not null && dropped.Count > 0)
            {
                json.WriteNumber(dropped.Outcome, dropped.Count);
            }

            json.WriteStartArray("rejected"u8);
            foreach (var (index, reason) in rejected)
            {
                json.WriteStartObject();
                json.WriteNumber("index"u8, index);
                json.WriteString("reason"u8, reason);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        await response.BodyWriter.FlushAsync().ConfigureAwait(false);
        return statusCode;
    }
}
