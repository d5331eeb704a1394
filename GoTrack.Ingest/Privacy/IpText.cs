using System.Buffers.Binary;
using System.Buffers.Text;
using System.Net;
using System.Net.Sockets;

namespace GoTrack.Ingest.Privacy;

/// <summary>Writes what IP_MODE keeps of an address, as UTF-8, without allocating.</summary>
public static class IpText
{
    /// <summary>Longest text any mode writes (a full IPv6 address with zone is 65 chars).</summary>
    public const int MaxLength = 72;

    /// <summary>
    /// Writes the stored form of <paramref name="ip"/> and returns its length; 0 means no <c>ip</c> key.
    /// raw: the address; truncate: the IPv4 /24 or IPv6 /48 network address; hash: the daily keyed hash;
    /// drop: nothing.
    /// </summary>
    public static int Write(IPAddress ip, IpMode mode, DailyKey? key, DateTimeOffset now, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(ip);
        ip = ClientIpResolver.Normalize(ip);
        switch (mode)
        {
            case IpMode.Raw:
                return ip.TryFormat(destination, out var written) ? written : 0;
            case IpMode.Truncate:
                return WriteTruncated(ip, destination);
            case IpMode.Hash:
                ArgumentNullException.ThrowIfNull(key);
                Span<byte> input = stackalloc byte[3 + 16];
                var n = WriteHashInput(ip, input);
                key.Hash(now, input[..n], destination);
                return DailyKey.TextLength;
            default:
                return 0;
        }
    }

    /// <summary>"ip" + the 4 or 16 address bytes: domain-separated from the session hash's input.</summary>
    public static int WriteHashInput(IPAddress ip, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(ip);
        "ip:"u8.CopyTo(destination);
        ip.TryWriteBytes(destination[3..], out var n);
        return 3 + n;
    }

    private static int WriteTruncated(IPAddress ip, Span<byte> destination)
    {
        Span<byte> bytes = stackalloc byte[16];
        ip.TryWriteBytes(bytes, out var length);
        if (ip.AddressFamily == AddressFamily.InterNetwork || length == 4)
        {
            var n = 0;
            for (var i = 0; i < 3; i++)
            {
                Utf8Formatter.TryFormat(bytes[i], destination[n..], out var w);
                n += w;
                destination[n++] = (byte)'.';
            }

            destination[n++] = (byte)'0';
            return n;
        }

        // The /48: three groups, then zeros. The trailing zero run is the longest, so RFC 5952's "::"
        // replaces it, together with any zero groups just before it.
        Span<ushort> groups = stackalloc ushort[3];
        for (var i = 0; i < 3; i++)
        {
            groups[i] = BinaryPrimitives.ReadUInt16BigEndian(bytes[(2 * i)..]);
        }

        var last = 2;
        while (last >= 0 && groups[last] == 0)
        {
            last--;
        }

        var m = 0;
        for (var i = 0; i <= last; i++)
        {
            if (i > 0)
            {
                destination[m++] = (byte)':';
            }

            Utf8Formatter.TryFormat(groups[i], destination[m..], out var w, new System.Buffers.StandardFormat('x'));
            m += w;
        }

        destination[m++] = (byte)':';
        destination[m++] = (byte)':';
        return m;
    }
}
