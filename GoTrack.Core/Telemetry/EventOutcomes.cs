namespace GoTrack.Core.Telemetry;

/// <summary>The values of <c>gotrack_events_total{outcome}</c>.</summary>
public static class EventOutcomes
{
    /// <summary>In the log; the client got a 2xx.</summary>
    public const string Accepted = "accepted";

    /// <summary>Written by a sink (counted once per sink).</summary>
    public const string Delivered = "delivered";

    /// <summary>Refused because it failed validation; the client was told why.</summary>
    public const string Invalid = "rejected_invalid";

    /// <summary>Refused with 503 because the log was full.</summary>
    public const string Overload = "rejected_overload";

    /// <summary>Refused with 503 because the service was stopping.</summary>
    public const string Closed = "rejected_closed";

    /// <summary>Not recorded because the browser sent DNT: 1 and DNT_RESPECT is on.</summary>
    public const string DoNotTrack = "dropped_dnt";

    /// <summary>Accepted but not delivered to a sink before SHUTDOWN_TIMEOUT ran out (logged as an error).</summary>
    public const string LostAtShutdown = "lost_shutdown";
}
