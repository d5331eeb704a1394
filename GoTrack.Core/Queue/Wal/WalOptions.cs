namespace GoTrack.Core.Queue.Wal;

/// <summary>ACK_MODE=wal: where the write-ahead log lives and how large it may grow.</summary>
public sealed class WalOptions
{
    /// <summary>WAL_DIR: segments and the sinks' cursors.</summary>
    public string Directory { get; set; } = "./data/wal";

    /// <summary>WAL_MAX_BYTES: segments on disk at most; past it intake answers 503.</summary>
    public long MaxBytes { get; set; } = 1L << 30;

    /// <summary>WAL_SEGMENT_MB, in bytes: a segment is closed and a new one begun once it reaches this size.</summary>
    public long SegmentBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>How often cursors are written when sinks move (and at shutdown): after a crash, at most this much delivered traffic is sent again.</summary>
    public TimeSpan CursorInterval { get; set; } = TimeSpan.FromMilliseconds(200);
}
