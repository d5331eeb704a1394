namespace GoTrack.Core.Queue;

public sealed class EventLogOptions
{
    /// <summary>QUEUE_MAX_EVENTS: records held at most.</summary>
    public int MaxEvents { get; set; } = 100_000;

    /// <summary>QUEUE_MAX_MB, in bytes: JSON bytes held at most.</summary>
    public long MaxBytes { get; set; } = 128L * 1024 * 1024;
}
