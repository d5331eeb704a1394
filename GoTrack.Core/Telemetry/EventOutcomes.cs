namespace GoTrack.Core.Telemetry;

/// <summary>The values of <c>gotrack_events_total{outcome}</c>.</summary>
public static class EventOutcomes
{
    /// <summary>Every outcome, so each series exists (at zero) from the start.</summary>
    public static IReadOnlyList<string> All { get; } =
    [
        Accepted, Delivered, Invalid, Overload, StorageFailed, Closed, DoNotTrack, GlobalPrivacyControl,
        AnonymizedDoNotTrack, AnonymizedGlobalPrivacyControl, Bot, DisallowedOrigin, LostAtShutdown,
        RateLimited, UnknownWriteKey,
    ];

    /// <summary>In the log; the client got a 2xx.</summary>
    public const string Accepted = "accepted";

    /// <summary>Written by a sink (counted once per sink).</summary>
    public const string Delivered = "delivered";

    /// <summary>Refused because it failed validation; the client was told why.</summary>
    public const string Invalid = "rejected_invalid";

    /// <summary>Refused with 503 because the log was full.</summary>
    public const string Overload = "rejected_overload";

    /// <summary>Refused with 503 because the write-ahead log's write or fsync failed (ACK_MODE=wal; logged).</summary>
    public const string StorageFailed = "rejected_storage";

    /// <summary>Refused with 503 because the service was stopping.</summary>
    public const string Closed = "rejected_closed";

    /// <summary>Not recorded because the browser sent DNT: 1, DNT_RESPECT is on and PRIVACY_MODE=drop.</summary>
    public const string DoNotTrack = "dropped_dnt";

    /// <summary>Not recorded because the browser sent Sec-GPC: 1, GPC_RESPECT is on and PRIVACY_MODE=drop.</summary>
    public const string GlobalPrivacyControl = "dropped_gpc";

    /// <summary>Of the accepted: recorded without identifiers because of DNT: 1 (PRIVACY_MODE=anonymize).</summary>
    public const string AnonymizedDoNotTrack = "anonymized_dnt";

    /// <summary>Of the accepted: recorded without identifiers because of Sec-GPC: 1 (PRIVACY_MODE=anonymize).</summary>
    public const string AnonymizedGlobalPrivacyControl = "anonymized_gpc";

    /// <summary>Not recorded because the user agent is a bot and BOT_MODE=drop.</summary>
    public const string Bot = "dropped_bot";

    /// <summary>A /collect request refused with 403 because its Origin is not in CORS_ALLOWED_ORIGINS (counted per request).</summary>
    public const string DisallowedOrigin = "rejected_origin";

    /// <summary>Accepted but not delivered to a sink before SHUTDOWN_TIMEOUT ran out (logged as an error).</summary>
    public const string LostAtShutdown = "lost_shutdown";

    /// <summary>Refused with 429: over RATE_LIMIT_IP_PER_SEC or RATE_LIMIT_KEY_PER_SEC.</summary>
    public const string RateLimited = "rejected_rate";

    /// <summary>Refused with 401: WRITE_KEYS is set and the request has no key, or one not in it.</summary>
    public const string UnknownWriteKey = "rejected_key";
}
