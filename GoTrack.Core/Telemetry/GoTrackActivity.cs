using System.Diagnostics;

namespace GoTrack.Core.Telemetry;

/// <summary>The activity source for sink batches. Each batch span links to the request spans of its events.</summary>
public static class GoTrackActivity
{
    public const string SinksSourceName = "GoTrack.Sinks";

    public static readonly ActivitySource Sinks = new(SinksSourceName);
}
