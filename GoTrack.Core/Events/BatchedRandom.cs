using System.Security.Cryptography;

namespace GoTrack.Core.Events;

/// <summary>
/// Bytes from the OS CSPRNG, drawn 4 KB at a time per thread. A call to the OS costs about a
/// microsecond whatever the size (measured: RandomNumberGenerator.Fill of 16 bytes ~1 µs), and the
/// pixel path needs random bytes for every event id and every new session cookie. Each byte is handed
/// out once and zeroed in the block as it goes.
/// </summary>
public static class BatchedRandom
{
    private const int BlockSize = 4096;
    [ThreadStatic] private static byte[]? t_block;
    [ThreadStatic] private static int t_used;

    /// <summary>Fills <paramref name="destination"/> (at most 256 bytes) with cryptographically strong random bytes.</summary>
    public static void Fill(Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(destination.Length, 256);
        var block = t_block;
        if (block is null || t_used + destination.Length > BlockSize)
        {
            block = t_block ??= new byte[BlockSize];
            RandomNumberGenerator.Fill(block);
            t_used = 0;
        }

        var taken = block.AsSpan(t_used, destination.Length);
        taken.CopyTo(destination);
        taken.Clear();
        t_used += destination.Length;
    }
}
