using System.Buffers;
using System.Globalization;
using GoTrack.Core.Events;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace GoTrack.Core.Sinks;

/// <summary>
/// The <c>log</c> output: one event per line, appended to LOG_PATH. A batch is copied into one buffer and
/// written with one call; if anything fails, the file is cut back to where the batch began, so a retry
/// never leaves a torn or doubled line. A torn tail left by a crash is cut off when the file is opened.
/// Rotation happens between batches: the file is renamed to <c>name-yyyy-MM-ddTHH-mm-ss.fff.ext</c>
/// (UTC) once it has reached LOG_ROTATE_MB, and old backups are pruned by count and by age.
/// </summary>
public sealed class NdjsonFileSink(NdjsonSinkOptions options, TimeProvider time) : IEventSink, IResumableSink, IOutputSync, IDisposable
{
    public const string SinkName = "log";
    private const string BackupTimeFormat = "yyyy-MM-ddTHH-mm-ss.fff";

    private readonly string _path = System.IO.Path.GetFullPath(options.Path);
    private readonly string _directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(options.Path))!; // a full path always has one
    private readonly Lock _fileLock = new();
    private FileStream? _file;
    private bool _directoryChanged;
    private string? _syncFailed;
    private volatile string? _lastError;

    public string Name => SinkName;

    /// <summary>One writer: lines stay in log order and never interleave.</summary>
    public int MaxConcurrency => 1;

    public string CurrentPath => _path;

    public ValueTask WriteBatchAsync(ReadOnlyMemory<Events.Record> batch, CancellationToken cancellationToken)
    {
        var records = batch.Span;
        var total = 0;
        foreach (var r in records)
        {
            total += r.Json.Length + 1;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(total);
        try
        {
            var at = 0;
            foreach (var r in records)
            {
                r.Json.CopyTo(buffer, at);
                at += r.Json.Length;
                buffer[at++] = (byte)'\n';
            }

            Write(buffer.AsSpan(0, total));
            _lastError = null;
        }
        catch (Exception ex)
        {
            _lastError = ex.Message;
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<HealthCheckResult> CheckHealthAsync(CancellationToken cancellationToken)
    {
        var error = _lastError;
        return ValueTask.FromResult(error is null
            ? HealthCheckResult.Healthy("file writable")
            : HealthCheckResult.Unhealthy("the last write failed (see the log)"));
    }

    /// <summary>
    /// The event_ids of the file's last whole lines, oldest first (the newest backup's when the live file is
    /// empty). Every line starts with its id: <c>{"event_id":"...</c>, the encoder's fixed key order; a line
    /// that does not gives <see cref="Guid.Empty"/>, which matches nothing.
    /// </summary>
    public IReadOnlyList<Guid> LastWrittenEventIds(int max)
    {
        lock (_fileLock)
        {
            return LastWrittenEventIdsLocked(max);
        }
    }

    private List<Guid> LastWrittenEventIdsLocked(int max)
    {
        var file = _file ??= Open();
        var ids = LastLineEventIds(file, max);
        if (ids.Count > 0)
        {
            return ids;
        }

        var backups = Backups();
        if (backups.Count == 0)
        {
            return ids;
        }

        using var backup = new FileStream(backups[0], FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0);
        return LastLineEventIds(backup, max);
    }

    internal static List<Guid> LastLineEventIds(FileStream file, int max)
    {
        ReadOnlySpan<byte> prefix = "{\"event_id\":\""u8;
        const int Head = 13 + 36;
        var ids = new List<Guid>();
        var length = file.Length;
        if (length == 0 || max <= 0)
        {
            return ids;
        }

        // Walk back over the newlines before the file's last one; each is followed by the start of a line.
        var buffer = new byte[64 * 1024];
        var lineEnd = length;
        var at = length - 1;
        while (at > 0 && ids.Count < max)
        {
            var size = (int)Math.Min(buffer.Length, at);
            file.Position = at - size;
            file.ReadExactly(buffer.AsSpan(0, size));
            var upTo = size;
            while (ids.Count < max)
            {
                var nl = buffer.AsSpan(0, upTo).LastIndexOf((byte)'\n');
                if (nl < 0)
                {
                    break;
                }

                var lineStart = at - size + nl + 1;
                ids.Add(IdAt(file, lineStart, lineEnd, prefix, Head));
                lineEnd = lineStart;
                upTo = nl;
            }

            at -= size;
        }

        if (at == 0 && ids.Count < max)
        {
            ids.Add(IdAt(file, 0, lineEnd, prefix, Head));
        }

        file.Position = length;
        ids.Reverse();
        return ids;
    }

    private static Guid IdAt(FileStream file, long lineStart, long lineEnd, ReadOnlySpan<byte> prefix, int head)
    {
        if (lineEnd - lineStart < head)
        {
            return Guid.Empty;
        }

        Span<byte> bytes = stackalloc byte[head];
        file.Position = lineStart;
        file.ReadExactly(bytes);
        return bytes.StartsWith(prefix) && Guid.TryParse(System.Text.Encoding.ASCII.GetString(bytes[prefix.Length..]), out var id) ? id : Guid.Empty;
    }

    private void Write(ReadOnlySpan<byte> lines)
    {
        // The writer is one thread (MaxConcurrency 1); the lock is for SyncOutput, from the log's thread.
        lock (_fileLock)
        {
            WriteLocked(lines);
        }
    }

    /// <summary>
    /// ACK_MODE=wal, before the log saves this sink's cursor: the lines written so far, and the file's name
    /// after a creation or rotation, are made durable (fdatasync, directory fsync). LOG_FSYNC=true does the
    /// file part after every batch as well.
    /// </summary>
    public void SyncOutput()
    {
        lock (_fileLock)
        {
            ThrowIfSyncFailed();
            if (_file is { } file)
            {
                Sync(file);
            }

            SyncDirectoryIfChanged();
        }
    }

    /// <summary>fdatasync (a seam for tests, which make it fail).</summary>
    internal Action<Microsoft.Win32.SafeHandles.SafeFileHandle> DataSync { get; init; } = Queue.Wal.Durable.DataSync;

    /// <summary>
    /// Linux reports a failed write-back to one fdatasync only: a later one on the same file returns 0 with
    /// the lines lost. So one failure is final until a restart, and nothing after it is called synced; the
    /// write-ahead log keeps its cursor and delivers those lines again after the restart.
    /// </summary>
    private void Sync(FileStream file)
    {
        ThrowIfSyncFailed();
        try
        {
            DataSync(file.SafeFileHandle);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            _syncFailed = e.Message;
            _lastError = "fdatasync failed: " + e.Message;
            throw;
        }
    }

    /// <summary>The file's name (new, or the old one's after a rotation) must survive a power cut as its lines do.</summary>
    private void SyncDirectoryIfChanged()
    {
        if (_directoryChanged)
        {
            Queue.Wal.Durable.SyncDirectory(_directory);
            _directoryChanged = false;
        }
    }

    private void ThrowIfSyncFailed()
    {
        if (_syncFailed is { } earlier)
        {
            throw new IOException($"An earlier fdatasync of {_path} failed ({earlier}); what was written since the last good one may not be on disk. Restart GoTrack: the write-ahead log delivers it again.");
        }
    }

    private void WriteLocked(ReadOnlySpan<byte> lines)
    {
        var file = _file ??= Open();
        if (file.Length >= options.RotateBytes)
        {
            Rotate();
            file = _file ??= Open();
        }

        var start = file.Length;
        try
        {
            file.Position = start;
            file.Write(lines);
            if (options.Fsync)
            {
                // fdatasync: the lines and the file's new size, not its timestamps.
                Sync(file);
                SyncDirectoryIfChanged();
            }
        }
        catch
        {
            RollBack(start);
            throw;
        }
    }

    private void RollBack(long length)
    {
        try
        {
            _file?.SetLength(length);
        }
        catch (IOException)
        {
            // Cannot even truncate: reopen next time, which cuts off any torn tail.
            SyncAndClose();
        }
    }

    /// <summary>
    /// Closes the file after syncing what earlier batches wrote: SyncOutput cannot reach a closed file, and the
    /// log may save a cursor after this. A failed sync is kept (<see cref="_syncFailed"/>): SyncOutput refuses.
    /// </summary>
    private void SyncAndClose()
    {
        if (_file is { } file)
        {
            try
            {
                Sync(file);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
                // Kept in _syncFailed.
            }

            file.Dispose();
        }

        _file = null;
    }

    private FileStream Open()
    {
        Directory.CreateDirectory(_directory);
        var file = new FileStream(_path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read, bufferSize: 0);
        try
        {
            CutTornTail(file);
            file.Position = file.Length;
            Prune();
            _directoryChanged = true;
            return file;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>A crash mid-write can leave a last line without its newline; nothing after the last '\n' was acknowledged by this sink.</summary>
    internal static void CutTornTail(FileStream file)
    {
        var length = file.Length;
        if (length == 0)
        {
            return;
        }

        Span<byte> chunk = stackalloc byte[4096];
        var end = length;
        while (end > 0)
        {
            var size = (int)Math.Min(chunk.Length, end);
            file.Position = end - size;
            file.ReadExactly(chunk[..size]);
            var nl = chunk[..size].LastIndexOf((byte)'\n');
            if (nl >= 0)
            {
                var keep = end - size + nl + 1;
                if (keep != length)
                {
                    file.SetLength(keep);
                }

                return;
            }

            end -= size;
        }

        file.SetLength(0);
    }

    private void Rotate()
    {
        if (_file is { } old)
        {
            // Its last lines may not be synced yet, and SyncOutput cannot reach a closed file.
            Sync(old);
            old.Dispose();
        }

        _file = null;
        _directoryChanged = true;
        var stamp = time.GetUtcNow().UtcDateTime.ToString(BackupTimeFormat, CultureInfo.InvariantCulture);
        var backup = BackupPath(stamp);
        for (var n = 1; File.Exists(backup); n++)
        {
            backup = BackupPath(stamp + "-" + n.ToString(CultureInfo.InvariantCulture));
        }

        File.Move(_path, backup);
    }

    private string BackupPath(string stamp)
    {
        var name = System.IO.Path.GetFileNameWithoutExtension(_path);
        var ext = System.IO.Path.GetExtension(_path);
        return System.IO.Path.Combine(_directory, $"{name}-{stamp}{ext}");
    }

    /// <summary>The rotated files of this log, newest first.</summary>
    public IReadOnlyList<string> Backups()
    {
        if (!Directory.Exists(_directory))
        {
            return [];
        }

        var name = System.IO.Path.GetFileNameWithoutExtension(_path);
        var ext = System.IO.Path.GetExtension(_path);
        var found = new List<(DateTime Stamp, string Path)>();
        foreach (var file in Directory.EnumerateFiles(_directory, $"{name}-*{ext}"))
        {
            var middle = System.IO.Path.GetFileName(file)[(name.Length + 1)..^ext.Length];
            var stampText = middle.Length >= BackupTimeFormat.Length ? middle[..BackupTimeFormat.Length] : middle;
            if (DateTime.TryParseExact(stampText, BackupTimeFormat, CultureInfo.InvariantCulture,
                    DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var stamp))
            {
                found.Add((stamp, file));
            }
        }

        return [.. found.OrderByDescending(f => f.Stamp).ThenByDescending(f => f.Path, StringComparer.Ordinal).Select(f => f.Path)];
    }

    private void Prune()
    {
        var backups = Backups();
        var now = time.GetUtcNow().UtcDateTime;
        for (var i = 0; i < backups.Count; i++)
        {
            var tooMany = options.Backups > 0 && i >= options.Backups;
            var tooOld = options.MaxAgeDays > 0 && StampOf(backups[i]) < now.AddDays(-options.MaxAgeDays);
            if (tooMany || tooOld)
            {
                File.Delete(backups[i]);
            }
        }
    }

    private DateTime StampOf(string backup)
    {
        var name = System.IO.Path.GetFileNameWithoutExtension(_path);
        var text = System.IO.Path.GetFileName(backup).Substring(name.Length + 1, BackupTimeFormat.Length);
        return DateTime.ParseExact(text, BackupTimeFormat, CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
    }

    public void Dispose()
    {
        lock (_fileLock)
        {
            // The log may still save a cursor after this (its own Dispose): what it covers must be on disk.
            SyncAndClose();
        }
    }
}
