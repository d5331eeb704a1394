namespace GoTrack.Core.Sinks;

public sealed class NdjsonSinkOptions
{
    /// <summary>LOG_PATH: the live file. Backups sit beside it.</summary>
    public string Path { get; set; } = "./data/events.ndjson";

    /// <summary>LOG_ROTATE_MB, in bytes: the file is rotated once it has reached this size.</summary>
    public long RotateBytes { get; set; } = 100L * 1024 * 1024;

    /// <summary>LOG_BACKUPS: rotated files kept; 0 keeps all.</summary>
    public int Backups { get; set; } = 10;

    /// <summary>LOG_MAX_AGE_DAYS: rotated files older than this are deleted; 0 keeps them regardless of age.</summary>
    public int MaxAgeDays { get; set; } = 30;

    /// <summary>LOG_FSYNC: fdatasync after every batch, not only hand it to the OS (by default under ACK_MODE=wal).</summary>
    public bool Fsync { get; set; }
}
