namespace GoTrack.Core.Queue;

/// <summary>How full the log is: the records and bytes that at least one sink still has to deliver.</summary>
public readonly record struct LogUsage(long Events, long MaxEvents, long Bytes, long MaxBytes)
{
    /// <summary>The larger of the two fill ratios, 0..1.</summary>
    public double Fill => Math.Max((double)Events / MaxEvents, (double)Bytes / MaxBytes);
}
