using System.Net;
using GoTrack.Core.Telemetry;
using GoTrack.Ingest.Configuration;
using Microsoft.AspNetCore.Http;

namespace GoTrack.Ingest.Intake;

/// <summary>
/// Who may send, and how much: WRITE_KEYS (401 for a missing or unknown key) and the rate limits (429),
/// the same for the pixel, /collect and the Segment API. A refusal is counted in
/// <c>gotrack_events_total</c> as <c>rejected_key</c> or <c>rejected_rate</c>.
/// </summary>
public sealed class IntakeGate(IngestOptions options, IntakeRateLimits limits, EventIntake intake)
{
    public bool KeysRequired => options.WriteKeys.Required;

    /// <summary>True when keys are not required, or <paramref name="key"/> is one: then <paramref name="source"/> is its source (null when not required).</summary>
    public bool TryKey(string? key, int events, out string? source)
    {
        source = null;
        if (!options.WriteKeys.Required)
        {
            return true;
        }

        if (key is not null && options.WriteKeys.TryGetSource(key, out var found))
        {
            source = found;
            return true;
        }

        intake.Refused("intake", EventOutcomes.UnknownWriteKey, key is null ? "no write key" : "unknown write key", Math.Max(1, events));
        return false;
    }

    /// <summary>False (and counted) when the address or the key is over its rate; the caller answers 429.</summary>
    public bool TryRate(IPAddress? address, string? key, int events)
    {
        if (limits.TryAcquire(address, key, events))
        {
            return true;
        }

        intake.Refused("intake", EventOutcomes.RateLimited, "over RATE_LIMIT_IP_PER_SEC or RATE_LIMIT_KEY_PER_SEC", Math.Max(1, events));
        return false;
    }

    /// <summary>Retry-After for a 429: the buckets refill once a second.</summary>
    public static void RetryAfter(HttpResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        response.Headers.RetryAfter = "1";
    }
}
