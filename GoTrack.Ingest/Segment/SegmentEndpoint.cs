using System.Buffers;
using System.Diagnostics;
using System.Text.Json;
using GoTrack.Core.Events;
using GoTrack.Core.Queue;
using GoTrack.Core.Telemetry;
using GoTrack.Ingest.Configuration;
using GoTrack.Ingest.Endpoints;
using GoTrack.Ingest.Intake;
using GoTrack.Ingest.Privacy;
using GoTrack.Ingest.Session;
using Microsoft.AspNetCore.Http;

namespace GoTrack.Ingest.Segment;

/// <summary>
/// Segment's HTTP tracking API: <c>POST /v1/{track|page|screen|identify|group|alias|batch}</c> and the
/// browser SDK's short paths (<c>/v1/t</c>, <c>/v1/p</c>, ..., <c>/v1/b</c>). Each message becomes one event
/// (<see cref="SegmentMessage"/>) and goes through /collect's parser and the privacy policy. Answers are the
/// SDKs' contract: 200 when the request is taken (with GoTrack's per-event rejections in the body, which the
/// SDKs ignore), 400 for a request that can never succeed (they drop it), 401 for a write key not in
/// WRITE_KEYS, 429 and 503 with Retry-After (they retry).
/// </summary>
public sealed class SegmentEndpoint(EventIntake intake, SessionCookie cookie, IngestOptions options, PrivacyPolicy policy, IntakeGate gate, TimeProvider time)
{
    public const string Pattern = "/v1/{kind}";
    private const string MetricName = "segment";

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
        var kind = context.Request.RouteValues["kind"] as string ?? string.Empty;
        var pathType = SegmentMessage.TypeOfPath(kind);
        var isBatch = SegmentMessage.IsBatchPath(kind);
        var isSdkMetrics = kind == "m";
        if (pathType is null && !isBatch && !isSdkMetrics)
        {
            return await Error(response, StatusCodes.Status404NotFound, $"unknown Segment API path /v1/{kind}").ConfigureAwait(false);
        }

        if (await HttpAnswers.PostPreambleAsync(context, intake, MetricName, policy.Options.CorsOrigins, segment: true).ConfigureAwait(false) is { } answered)
        {
            return answered;
        }

        if (isSdkMetrics)
        {
            // analytics-next's own telemetry (/v1/m, sent when apiHost is set): taken, not stored.
            return await CollectEndpoint.Summary(response, StatusCodes.Status200OK, 0, [], default, segment: true).ConfigureAwait(false);
        }

        if (!string.IsNullOrEmpty(request.ContentType) && !CollectEndpoint.IsAcceptedMediaType(request.ContentType))
        {
            return await Error(response, StatusCodes.Status415UnsupportedMediaType, "content type must be application/json or text/plain").ConfigureAwait(false);
        }

        // A key in Basic auth (where Segment's SDKs send it, and which wins over the body's writeKey) is checked
        // before the body is read, so an unknown one costs no reading or inflating of up to MAX_BODY_BYTES.
        if (gate.KeysRequired && WriteKeys.FromBasicAuth(request.Headers.Authorization) is { } basicKey && !gate.TryKey(basicKey, 1, out _))
        {
            return await Error(response, StatusCodes.Status401Unauthorized, "missing or unknown write key (WRITE_KEYS)").ConfigureAwait(false);
        }

        var body = await RequestBody.ReadAsync(request, options.MaxBodyBytes, context.RequestAborted).ConfigureAwait(false);
        if (body.Buffer is null)
        {
            var (code, reason) = RequestBody.Refusal(body.Status, options.MaxBodyBytes);
            return await Error(response, code, reason).ConfigureAwait(false);
        }

        try
        {
            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(body.Buffer.AsMemory(0, body.Length), new JsonDocumentOptions { MaxDepth = 64 });
            }
            catch (JsonException)
            {
                return await Error(response, StatusCodes.Status400BadRequest, "malformed JSON").ConfigureAwait(false);
            }

            using (document)
            {
                return await AnswerDocumentAsync(context, document.RootElement, pathType, isBatch).ConfigureAwait(false);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(body.Buffer);
        }
    }

    private async Task<int> AnswerDocumentAsync(HttpContext context, JsonElement root, string? pathType, bool isBatch)
    {
        var request = context.Request;
        var response = context.Response;
        if (root.ValueKind != JsonValueKind.Object)
        {
            return await Error(response, StatusCodes.Status400BadRequest, "the body must be a JSON object").ConfigureAwait(false);
        }

        var key = WriteKeys.FromBasicAuth(request.Headers.Authorization)
            ?? (root.TryGetProperty("writeKey", out var bodyKey) && bodyKey.ValueKind == JsonValueKind.String ? bodyKey.GetString() : null)
            ?? WriteKeys.FromRequest(default, request.Query);
        JsonElement batch = default;
        var messages = new List<JsonElement>();
        if (isBatch)
        {
            if (!root.TryGetProperty("batch", out var array) || array.ValueKind != JsonValueKind.Array)
            {
                return await Error(response, StatusCodes.Status400BadRequest, "a batch body is {\"batch\": [messages]}").ConfigureAwait(false);
            }

            batch = root;
            messages.AddRange(array.EnumerateArray());
        }
        else
        {
            messages.Add(root);
        }

        if (!gate.TryKey(key, messages.Count, out var source))
        {
            return await Error(response, StatusCodes.Status401Unauthorized, "missing or unknown write key (WRITE_KEYS)").ConfigureAwait(false);
        }

        if (messages.Count > options.MaxBatchEvents)
        {
            return await Error(response, StatusCodes.Status413PayloadTooLarge, $"more than {options.MaxBatchEvents} messages (MAX_BATCH_EVENTS)").ConfigureAwait(false);
        }

        var now = time.GetUtcNow();
        var intakeRequest = IntakeRequest.Read(context, policy, cookie, now, factsWhenOptedOut: true, sessions: false);
        var anonymize = intakeRequest.Anonymize;
        var optOut = intakeRequest.OptOut;
        var info = intakeRequest.Info with { Source = source };
        var dropped = intakeRequest.Dropped;
        if (dropped is null && !gate.TryRate(info.RemoteIp, key, messages.Count))
        {
            IntakeGate.RetryAfter(response);
            return await Error(response, StatusCodes.Status429TooManyRequests, "rate limit exceeded; retry later").ConfigureAwait(false);
        }

        var referer = request.Headers.Referer.Count > 0 ? request.Headers.Referer[0] : null;
        var records = new List<Record>(messages.Count);
        var rejected = new List<(int Index, string Reason)>();
        var bots = 0;
        var element = new ArrayBufferWriter<byte>(1024);
        for (var i = 0; i < messages.Count; i++)
        {
            element.ResetWrittenCount();
            var error = SegmentMessage.Write(messages[i], batch, pathType, key, info.Now, anonymize, element, out var facts);
            if (error is not null)
            {
                rejected.Add((i, error));
                continue;
            }

            var messageInfo = Facts(info, facts);
            if (facts.Clamped)
            {
                intake.Metrics.ClientClockClamped();
            }

            if (dropped is null && messageInfo.Device.IsBot && policy.BotMode == BotMode.Drop)
            {
                bots++;
                continue;
            }

            var (record, reason) = EventBuilder.FromJson(element.WrittenSpan, referer, messageInfo, []);
            if (record is null)
            {
                rejected.Add((i, reason!));
            }
            else
            {
                records.Add(record);
            }
        }

        intake.Metrics.Events(EventOutcomes.Invalid, rejected.Count);
        foreach (var (index, reason) in rejected)
        {
            intake.Debug.Refused(MetricName, EventOutcomes.Invalid, $"message {index}: {reason}");
        }

        intake.Refused(MetricName, EventOutcomes.Bot, null, bots);
        if (dropped is not null)
        {
            intake.Refused(MetricName, dropped, null, records.Count);
            return await CollectEndpoint.Summary(response, StatusCodes.Status200OK, 0, rejected, (dropped, records.Count), segment: true).ConfigureAwait(false);
        }

        if (records.Count == 0)
        {
            var code = rejected.Count == 0 ? StatusCodes.Status200OK : StatusCodes.Status400BadRequest;
            return await CollectEndpoint.Summary(response, code, 0, rejected, (EventOutcomes.Bot, bots), segment: true).ConfigureAwait(false);
        }

        var result = await intake.AppendAsync(records.ToArray(), context.RequestAborted, MetricName).ConfigureAwait(false);
        if (result != AppendResult.Accepted)
        {
            HttpAnswers.RetryAfter(response, options.RetryAfterSeconds);
            return await Error(response, StatusCodes.Status503ServiceUnavailable, HttpAnswers.Unavailable(result)).ConfigureAwait(false);
        }

        if (anonymize)
        {
            intake.Metrics.Events(optOut.AnonymizedOutcome(), records.Count);
        }

        return await CollectEndpoint.Summary(response, StatusCodes.Status200OK, records.Count, rejected, (EventOutcomes.Bot, bots), segment: true).ConfigureAwait(false);
    }

    /// <summary>The request's facts with what the message itself says of its sender: context.userAgent and context.ip.</summary>
    private RequestInfo Facts(in RequestInfo info, SegmentMessage.Facts facts)
    {
        var result = facts.UserAgent is null && facts.Ip is null
            ? info
            : RequestInfo.Create(info.Now, facts.UserAgent ?? info.UserAgent, facts.Ip ?? info.RemoteIp, policy, info.Host, info.Anonymize) with { Source = info.Source };
        return result with { ClientTs = facts.ClientTs };
    }

    private static async Task<int> Error(HttpResponse response, int statusCode, string message)
    {
        await HttpAnswers.WriteError(response, statusCode, message, segment: true).ConfigureAwait(false);
        return statusCode;
    }
}
