using System.Buffers.Binary;
using System.Diagnostics;
using GoTrack.Core.Events;

namespace GoTrack.Core.Queue.Wal;

/// <summary>What <see cref="WalRecordFormat.TryDecode"/> found at an offset.</summary>
internal enum WalDecode
{
    /// <summary>A whole record whose checksum holds.</summary>
    Record,

    /// <summary>The bytes end inside a record (read more, or it is a torn tail).</summary>
    Incomplete,

    /// <summary>Zeros where a record would start: the written part of the segment ends here.</summary>
    End,

    /// <summary>A header or checksum that does not hold.</summary>
    Corrupt,
}

/// <summary>
/// One record of the write-ahead log, little-endian:
/// <code>
/// u32 length of the payload   u32 CRC-32C of (length, seq, payload)   u64 seq
/// payload: 16 event_id | i64 ts (Unix ms) | u8 flags | [16 trace id, 8 span id, 1 trace flags] | u8 type length | type | JSON
/// </code>
/// The checksum covers the length, so a torn or zeroed length is caught like a torn payload. The
/// payload carries what a sink needs besides the JSON (the Kafka key and header, the Postgres columns,
/// the request's trace context for the batch span's links), so a replayed record is the record that
/// was appended.
/// </summary>
internal static class WalRecordFormat
{
    public const int HeaderSize = 16;

    /// <summary>Larger than any event GoTrack accepts (512 KiB of JSON); a larger length is corruption.</summary>
    public const int MaxPayload = 4 * 1024 * 1024;

    private const int FixedPayload = 16 + 8 + 1 + 1;
    private const int TraceSize = 16 + 8 + 1;
    private const byte HasOrigin = 1;
    private const long MinUnixMs = -62_135_596_800_000;
    private const long MaxUnixMs = 253_402_300_799_999;

    public static int SizeOf(Record record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return HeaderSize + PayloadSize(record);
    }

    private static int PayloadSize(Record record) =>
        FixedPayload + (record.Origin != default ? TraceSize : 0) + TypeByteCount(record.Type) + record.Json.Length;

    private static int TypeByteCount(string type) => Math.Min(System.Text.Encoding.UTF8.GetByteCount(type), 255);

    /// <summary>Writes the record at the start of <paramref name="destination"/>; returns the bytes written (<see cref="SizeOf"/>).</summary>
    public static int Encode(Record record, long seq, Span<byte> destination)
    {
        var payloadLength = PayloadSize(record);
        var total = HeaderSize + payloadLength;
        var d = destination[..total];
        BinaryPrimitives.WriteInt32LittleEndian(d, payloadLength);
        BinaryPrimitives.WriteInt64LittleEndian(d[8..], seq);
        var p = d[HeaderSize..];
        record.EventId.TryWriteBytes(p);
        BinaryPrimitives.WriteInt64LittleEndian(p[16..], record.Timestamp.ToUnixTimeMilliseconds());
        var at = 24;
        if (record.Origin != default)
        {
            p[at++] = HasOrigin;
            record.Origin.TraceId.CopyTo(p.Slice(at, 16));
            record.Origin.SpanId.CopyTo(p.Slice(at + 16, 8));
            p[at + 24] = (byte)record.Origin.TraceFlags;
            at += TraceSize;
        }
        else
        {
            p[at++] = 0;
        }

        var typeLength = TypeByteCount(record.Type);
        p[at++] = (byte)typeLength;
        if (typeLength > 0 && !System.Text.Encoding.UTF8.TryGetBytes(record.Type, p.Slice(at, typeLength), out _))
        {
            // A type longer than 255 bytes is cut (GoTrack's own limit is 128); the JSON keeps it whole.
            var full = System.Text.Encoding.UTF8.GetBytes(record.Type);
            full.AsSpan(0, typeLength).CopyTo(p.Slice(at, typeLength));
        }

        at += typeLength;
        record.Json.CopyTo(p[at..]);
        BinaryPrimitives.WriteUInt32LittleEndian(d[4..], Checksum(d));
        return total;
    }

    private static uint Checksum(ReadOnlySpan<byte> recordBytes)
    {
        var crc = Crc32C.Append(0xFFFFFFFFu, recordBytes[..4]);
        return ~Crc32C.Append(crc, recordBytes[8..]);
    }

    /// <summary>
    /// Reads the record at the start of <paramref name="source"/> without materializing it. Never throws:
    /// any bytes give one of the <see cref="WalDecode"/> answers, and <see cref="WalDecode.Record"/> only for
    /// a record whose checksum holds and whose payload parses.
    /// </summary>
    public static WalDecode Peek(ReadOnlySpan<byte> source, out long seq, out int size)
    {
        seq = 0;
        size = 0;
        if (source.Length < HeaderSize)
        {
            // Too short to tell: zeros here may be the first bytes of a record whose length is a multiple
            // of 256. The caller decides from what follows (more bytes, or the end of the file).
            return WalDecode.Incomplete;
        }

        var payloadLength = BinaryPrimitives.ReadInt32LittleEndian(source);
        if (payloadLength == 0 && source[..HeaderSize].IndexOfAnyExcept((byte)0) < 0)
        {
            return WalDecode.End;
        }

        if (payloadLength < FixedPayload || payloadLength > MaxPayload)
        {
            return WalDecode.Corrupt;
        }

        if (source.Length < HeaderSize + payloadLength)
        {
            return WalDecode.Incomplete;
        }

        var bytes = source[..(HeaderSize + payloadLength)];
        if (BinaryPrimitives.ReadUInt32LittleEndian(bytes[4..]) != Checksum(bytes) || !PayloadParses(bytes[HeaderSize..]))
        {
            return WalDecode.Corrupt;
        }

        seq = BinaryPrimitives.ReadInt64LittleEndian(bytes[8..]);
        size = bytes.Length;
        return seq < 0 ? WalDecode.Corrupt : WalDecode.Record;
    }

    private static bool PayloadParses(ReadOnlySpan<byte> p)
    {
        var ms = BinaryPrimitives.ReadInt64LittleEndian(p[16..]);
        if (ms < MinUnixMs || ms > MaxUnixMs)
        {
            return false;
        }

        var at = 24;
        if (p[at] > HasOrigin)
        {
            return false;
        }

        at += p[at] == HasOrigin ? 1 + TraceSize : 1;
        return at < p.Length && at + 1 + p[at] <= p.Length;
    }

    /// <summary>The event_id of a record <see cref="Peek"/> accepted, without materializing it.</summary>
    public static Guid EventIdOf(ReadOnlySpan<byte> record) => new(record.Slice(HeaderSize, 16));

    /// <summary>Materializes a record <see cref="Peek"/> accepted: one allocation for the JSON, one for the record.</summary>
    public static Record Materialize(ReadOnlySpan<byte> record)
    {
        var p = record[HeaderSize..];
        var eventId = new Guid(p[..16]);
        var ts = DateTimeOffset.FromUnixTimeMilliseconds(BinaryPrimitives.ReadInt64LittleEndian(p[16..]));
        var at = 24;
        ActivityContext origin = default;
        if (p[at++] == HasOrigin)
        {
            origin = new ActivityContext(
                ActivityTraceId.CreateFromBytes(p.Slice(at, 16)),
                ActivitySpanId.CreateFromBytes(p.Slice(at + 16, 8)),
                (ActivityTraceFlags)p[at + 24]);
            at += TraceSize;
        }

        var typeLength = p[at++];
        var type = EventTypeCache.Get(p.Slice(at, typeLength));
        at += typeLength;
        return new Record(eventId, ts, type, p[at..].ToArray(), origin);
    }
}
