namespace GoTrack.Core.Queue.Wal;

/// <summary>One segment file, named after the sequence number of its first record.</summary>
internal sealed class WalSegment(long firstSeq, string path)
{
    public const string Extension = ".wal";

    public long FirstSeq { get; } = firstSeq;

    public string Path { get; } = path;

    /// <summary>Bytes written and fsynced; readers read up to here. Changed under the log's lock.</summary>
    public long DurableLength { get; set; }

    /// <summary>No more records will be appended (a newer segment exists).</summary>
    public bool Sealed { get; set; }

    private int _corrupt;

    /// <summary>Marks the segment damaged; true only the first time, so it is counted once.</summary>
    public bool MarkCorrupt() => Interlocked.Exchange(ref _corrupt, 1) == 0;

    public static string FileName(long firstSeq) => firstSeq.ToString("D20", System.Globalization.CultureInfo.InvariantCulture) + Extension;

    public static bool TryParseName(string fileName, out long firstSeq)
    {
        firstSeq = 0;
        return fileName.EndsWith(Extension, StringComparison.Ordinal)
            && fileName.Length == 20 + Extension.Length
            && long.TryParse(fileName.AsSpan(0, 20), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out firstSeq);
    }
}
