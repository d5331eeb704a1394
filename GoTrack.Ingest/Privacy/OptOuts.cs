using GoTrack.Core.Telemetry;
using Microsoft.AspNetCore.Http;

namespace GoTrack.Ingest.Privacy;

/// <summary>Reads opt-out signals and names their outcomes.</summary>
internal static class OptOuts
{
    public static OptOut Of(HttpRequest request, PrivacyOptions options)
    {
        var headers = request.Headers;
        if (options.DntRespect && IsOne(headers["DNT"]))
        {
            return OptOut.DoNotTrack;
        }

        if (options.GpcRespect && IsOne(headers["Sec-GPC"]))
        {
            return OptOut.GlobalPrivacyControl;
        }

        return OptOut.None;
    }

    /// <summary>The gotrack_events_total outcome of an event that was not recorded because of it.</summary>
    public static string DroppedOutcome(this OptOut optOut) =>
        optOut == OptOut.DoNotTrack ? EventOutcomes.DoNotTrack : EventOutcomes.GlobalPrivacyControl;

    /// <summary>The outcome counted for an event that was recorded without identifiers because of it.</summary>
    public static string AnonymizedOutcome(this OptOut optOut) =>
        optOut == OptOut.DoNotTrack ? EventOutcomes.AnonymizedDoNotTrack : EventOutcomes.AnonymizedGlobalPrivacyControl;

    /// <summary>
    /// An anonymized request keeps no user agent in the event, so its request span must not keep one either
    /// (the ASP.NET Core instrumentation records user_agent.original when the span starts).
    /// </summary>
    public static void ScrubRequestSpan() => System.Diagnostics.Activity.Current?.SetTag("user_agent.original", null);

    private static bool IsOne(Microsoft.Extensions.Primitives.StringValues value) =>
        value.Count == 1 && value[0].AsSpan().Trim().SequenceEqual("1");
}
