using GoTrack.Core.Sinks;

namespace GoTrack.Core.Postgres;

/// <summary>What a batch write did: rows new to the table, and the rows Postgres refused for good.</summary>
public sealed record WriteResult(int Inserted, IReadOnlyList<RejectedRecord> Rejected);
