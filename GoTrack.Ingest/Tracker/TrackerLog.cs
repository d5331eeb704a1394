namespace GoTrack.Ingest.Tracker;

/// <summary>The start-up line that tells an operator the tracker's URLs (the hashed one changes with its bytes).</summary>
internal static partial class TrackerLog
{
    [LoggerMessage(1, LogLevel.Information, "Tracker script served at {Path} and {HashedPath} ({Bytes} bytes)")]
    public static partial void Served(ILogger logger, string path, string hashedPath, int bytes);
}
