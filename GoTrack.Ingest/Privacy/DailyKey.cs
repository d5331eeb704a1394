using System.Buffers.Binary;
using System.Security.Cryptography;

namespace GoTrack.Ingest.Privacy;

/// <summary>
/// The keyed hash behind IP_MODE=hash and cookieless sessions (COOKIE_MODE=off). Each UTC day has its own
/// key, HMAC-SHA256(IP_HASH_SECRET, "gotrack-day-key" + day number), so the same input hashes differently
/// on different days and values cannot be joined across days without the secret. Instances that share
/// IP_HASH_SECRET derive the same keys. The current day's key is cached: one derivation per day.
/// </summary>
public sealed class DailyKey
{
    /// <summary>Bytes of a hash as stored: 128 bits, written as 22 base64url characters.</summary>
    public const int HashBytes = 16;

    public const int TextLength = 22;

    private readonly byte[] _secret;
    private volatile DayKey? _current;

    /// <param name="secret">IP_HASH_SECRET; null draws a random per-process secret (instances then disagree).</param>
    public DailyKey(byte[]? secret)
    {
        IsRandomSecret = secret is null;
        _secret = secret ?? RandomNumberGenerator.GetBytes(32);
    }

    /// <summary>True when no IP_HASH_SECRET was given: values change on restart and differ between instances.</summary>
    public bool IsRandomSecret { get; }

    /// <summary>Writes HMAC-SHA256(day key, <paramref name="input"/>) cut to 128 bits as 22 base64url chars.</summary>
    public void Hash(DateTimeOffset now, ReadOnlySpan<byte> input, Span<byte> utf8Destination)
    {
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(KeyFor(now), input, mac);
        System.Buffers.Text.Base64Url.EncodeToUtf8(mac[..HashBytes], utf8Destination);
    }

    /// <summary>The key of the UTC day <paramref name="now"/> falls in.</summary>
    public ReadOnlySpan<byte> KeyFor(DateTimeOffset now)
    {
        var day = now.UtcTicks / TimeSpan.TicksPerDay;
        var current = _current;
        if (current is null || current.Day != day)
        {
            Span<byte> label = stackalloc byte[15 + 8];
            "gotrack-day-key"u8.CopyTo(label);
            BinaryPrimitives.WriteInt64BigEndian(label[15..], day);
            current = new DayKey(day, HMACSHA256.HashData(_secret, label));
            _current = current;
        }

        return current.Key;
    }

    private sealed record DayKey(long Day, byte[] Key);
}
