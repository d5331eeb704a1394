using System.Buffers.Text;
using System.Net;
using System.Net.Sockets;
using GoTrack.Core.Events;
using GoTrack.Ingest.Parsing;

namespace GoTrack.Ingest.Intake;

/// <summary>What the server knows of an event, whatever the client says: time, id, user agent, peer address.</summary>
internal static class RequestFacts
{
    /// <summary>Scratch bytes the server-side facts of a request can need.</summary>
    public static int ScratchSize(in RequestInfo info, ReadOnlySpan<char> sessionId) =>
        Scratch.Worst(Math.Min(info.UserAgent?.Length ?? 0, FieldLimits.UserAgent) + sessionId.Length) + 128;

    /// <summary>Fills the fields the server owns. Call after the client's fields are parsed.</summary>
    public static void Fill(in RequestInfo info, ref Scratch scratch, ref EventFields f, bool hasEventId, ReadOnlySpan<char> sessionId)
    {
        var now = info.Now;
        f.Timestamp = now;
        if (!hasEventId)
        {
            f.EventId = Uuid7.Create(now);
        }

        if (f.Type.IsEmpty)
        {
            f.Type = FieldRules.DefaultType;
        }

        if (f.Sid.IsEmpty && !sessionId.IsEmpty)
        {
            f.Sid = scratch.Utf8(sessionId);
        }

        if (!string.IsNullOrEmpty(info.UserAgent))
        {
            var text = info.UserAgent.AsSpan();
            f.Ua = Utf8Text.Clean(Utf8Text.Truncate(scratch.Utf8(text[..Math.Min(text.Length, FieldLimits.UserAgent)]), FieldLimits.UserAgent));
        }

        var ip = info.RemoteIp;
        if (ip is not null)
        {
            var n = FormatIp(ip, scratch.Free);
            f.Ip = scratch.Commit(n);
        }
    }

    /// <summary>The address as text; IPv4 clients of a dual-stack socket show as IPv4, not ::ffff:a.b.c.d.</summary>
    public static int FormatIp(IPAddress ip, Span<byte> destination)
    {
        if (ip.AddressFamily == AddressFamily.InterNetworkV6 && ip.IsIPv4MappedToIPv6)
        {
            Span<byte> bytes = stackalloc byte[16];
            ip.TryWriteBytes(bytes, out _);
            var n = 0;
            for (var i = 12; i < 16; i++)
            {
                if (i > 12)
                {
                    destination[n++] = (byte)'.';
                }

                Utf8Formatter.TryFormat(bytes[i], destination[n..], out var w);
                n += w;
            }

            return n;
        }

        return ip.TryFormat(destination, out var written) ? written : 0;
    }
}
