using GoTrack.Core.Events;

namespace GoTrack.Core.Sinks;

/// <summary>A record a sink can never write, with the reason (for the dead-letter file).</summary>
public sealed record RejectedRecord(Record Record, string Error);
