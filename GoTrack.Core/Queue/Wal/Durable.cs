using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace GoTrack.Core.Queue.Wal;

/// <summary>
/// fdatasync(2) on Linux: the data and the metadata needed to read it back (the file's size), without the
/// timestamps fsync(2) also writes. .NET's <see cref="RandomAccess.FlushToDisk"/> is fsync; elsewhere it is used.
/// A directory is fsynced after a segment is created (and after the cursors file is replaced), so the new name
/// survives a power cut too. Deletions are not synced: a deleted segment that comes back is behind every
/// cursor and is deleted again.
/// </summary>
internal static partial class Durable
{
    public static void DataSync(SafeFileHandle handle)
    {
        if (OperatingSystem.IsLinux())
        {
            var added = false;
            handle.DangerousAddRef(ref added);
            try
            {
                if (fdatasync((int)handle.DangerousGetHandle()) != 0)
                {
                    throw new IOException("fdatasync failed: errno " + Marshal.GetLastPInvokeError());
                }
            }
            finally
            {
                if (added)
                {
                    handle.DangerousRelease();
                }
            }
        }
        else
        {
            RandomAccess.FlushToDisk(handle);
        }
    }

    public static void SyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var fd = open(directory, 0 /* O_RDONLY */);
        if (fd < 0)
        {
            throw new IOException($"open({directory}) failed: errno {Marshal.GetLastPInvokeError()}");
        }

        try
        {
            if (fsync(fd) != 0)
            {
                throw new IOException($"fsync({directory}) failed: errno {Marshal.GetLastPInvokeError()}");
            }
        }
        finally
        {
            _ = close(fd);
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fdatasync(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fsync(int fd);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);
}
