using GoTrack.Core.Events;
using GoTrack.Core.Telemetry;
using GoTrack.Ingest.Privacy;
using GoTrack.Ingest.Session;

namespace GoTrack.Ingest.Intake;

/// <summary>
/// What both intake endpoints decide about a request before its events are read, made in one place so
/// the pixel and /collect cannot drift apart. The order is the privacy policy's:
/// 1. opt-outs (DNT, GPC): under PRIVACY_MODE=drop nothing more is read, not even the client IP;
///    under anonymize the request's span loses its identifying attributes;
/// 2. the request's facts (client IP behind trusted proxies, IP_MODE, user agent, bots, GeoIP): <see cref="RequestInfo"/>;
/// 3. bots under BOT_MODE=drop;
/// 4. the session: the cookie is read or set only for a request that is recorded, not anonymized, and not cookieless.
/// </summary>
internal readonly ref struct IntakeRequest
{
    private IntakeRequest(OptOut optOut, bool anonymize, string? dropped, RequestInfo info, ReadOnlySpan<char> session, string? setCookie)
    {
        OptOut = optOut;
        Anonymize = anonymize;
        Dropped = dropped;
        Info = info;
        Session = session;
        SetCookie = setCookie;
    }

    public OptOut OptOut { get; }

    /// <summary>An opt-out under PRIVACY_MODE=anonymize: recorded without identifiers.</summary>
    public bool Anonymize { get; }

    /// <summary>The outcome when the events are deliberately not recorded (dropped_dnt, dropped_gpc, dropped_bot); null when they are.</summary>
    public string? Dropped { get; }

    /// <summary>The request's facts; for an opt-out drop, only when the caller asked for them (see <see cref="Read"/>).</summary>
    public RequestInfo Info { get; }

    /// <summary>The session id (the cookie's, or a new one's inside <see cref="SetCookie"/>); empty when there is none.</summary>
    public ReadOnlySpan<char> Session { get; }

    /// <summary>The Set-Cookie header for a new session; null when none is set.</summary>
    public string? SetCookie { get; }

    /// <param name="factsWhenOptedOut">
    /// /collect still validates the events of an opted-out request, to answer which were valid, with facts
    /// that hold no address, user agent or location; the pixel has nothing to answer and reads nothing more.
    /// </param>
    /// <param name="sessions">False for the Segment API: its SDKs keep their own identity (anonymousId), so no cookie is read or set.</param>
    public static IntakeRequest Read(HttpContext context, PrivacyPolicy policy, SessionCookie cookie, DateTimeOffset now, bool factsWhenOptedOut, bool sessions = true)
    {
        var request = context.Request;
        var optOut = OptOuts.Of(request, policy.Options);
        var anonymize = optOut != OptOut.None && policy.Options.PrivacyMode == PrivacyMode.Anonymize;
        if (anonymize)
        {
            OptOuts.ScrubRequestSpan();
        }

        var optedOut = optOut != OptOut.None && !anonymize;
        if (optedOut && !factsWhenOptedOut)
        {
            return new IntakeRequest(optOut, anonymize, optOut.DroppedOutcome(), default, default, null);
        }

        // An opted-out request's events are only checked, never stored: its address, user agent and location
        // are not read at all (the answer does not depend on them).
        var info = optedOut
            ? RequestInfo.Create(Rfc3339.TruncateToMilliseconds(now), userAgent: null, clientIp: null, policy)
            : RequestInfo.From(context, Rfc3339.TruncateToMilliseconds(now), policy, anonymize);
        var dropped = optedOut ? optOut.DroppedOutcome()
            : info.Device.IsBot && policy.BotMode == BotMode.Drop ? EventOutcomes.Bot
            : null;

        // A new session's value lives inside its Set-Cookie header: one allocation for both.
        ReadOnlySpan<char> session = default;
        string? setCookie = null;
        if (sessions && dropped is null && !anonymize && !policy.Cookieless)
        {
            session = cookie.Read(request.Headers.Cookie);
            if (session.IsEmpty)
            {
                setCookie = cookie.NewSetCookieHeader(request.IsHttps, info);
                session = cookie.ValueOf(setCookie);
            }
        }

        return new IntakeRequest(optOut, anonymize, dropped, info, session, setCookie);
    }
}
