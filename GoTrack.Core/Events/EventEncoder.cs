using System.Buffers;
using System.Diagnostics;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace GoTrack.Core.Events;

/// <summary>
/// Encodes an event to its UTF-8 JSON exactly once. Hand-written over <see cref="Utf8JsonWriter"/>
/// because the fields arrive as UTF-8 spans straight from the request; a serializer would need an
/// object graph (and its allocations) first. The writer and its buffer are reused per thread, so an
/// event costs two allocations: its JSON bytes and its <see cref="Record"/>.
/// </summary>
public static class EventEncoder
{
    // Relaxed escaping: the JSON goes to files, Kafka and Postgres, never into an HTML page, so '&', '<'
    // and non-ASCII stay as they are (smaller and faster). Quotes, backslashes and controls are escaped.
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Indented = false,
    };

    [ThreadStatic] private static ArrayBufferWriter<byte>? t_buffer;
    [ThreadStatic] private static Utf8JsonWriter? t_writer;

    public static Record Encode(scoped in EventFields fields) => Encode(fields, new NoProps());

    public static Record Encode<TProps>(scoped in EventFields fields, scoped in TProps props)
        where TProps : IPropsWriter, allows ref struct
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(1024);
        buffer.ResetWrittenCount();
        var writer = t_writer;
        if (writer is null)
        {
            writer = t_writer = new Utf8JsonWriter(buffer, WriterOptions);
        }
        else
        {
            writer.Reset(buffer);
        }

        WriteEvent(writer, fields, props);
        writer.Flush();

        var json = buffer.WrittenSpan.ToArray();
        if (buffer.Capacity > 64 * 1024)
        {
            // One huge event must not pin a huge buffer to this thread for good.
            t_buffer = null;
            t_writer = null;
        }

        return new Record(fields.EventId, fields.Timestamp, EventTypeCache.Get(fields.Type), json,
            Activity.Current?.Context ?? default);
    }

    private static void WriteEvent<TProps>(Utf8JsonWriter w, scoped in EventFields f, scoped in TProps props)
        where TProps : IPropsWriter, allows ref struct
    {
        w.WriteStartObject();
        w.WriteString("event_id"u8, f.EventId);
        Span<byte> ts = stackalloc byte[Rfc3339.Length];
        Rfc3339.Format(f.Timestamp, ts);
        w.WriteString("ts"u8, ts);
        w.WriteString("e"u8, f.Type);
        WriteIfKnown(w, "uid"u8, f.Uid);
        WriteIfKnown(w, "sid"u8, f.Sid);
        WriteIfKnown(w, "url"u8, f.Url);
        WriteIfKnown(w, "ref"u8, f.Ref);
        WriteIfKnown(w, "ua"u8, f.Ua);
        WriteIfKnown(w, "ip"u8, f.Ip);
        if (f.HasDevice)
        {
            w.WriteStartObject("device"u8);
            WriteIfKnown(w, "browser"u8, f.DeviceBrowser);
            WriteIfKnown(w, "os"u8, f.DeviceOs);
            WriteIfKnown(w, "type"u8, f.DeviceType);
            w.WriteEndObject();
        }

        if (f.Bot)
        {
            w.WriteBoolean("bot"u8, true);
        }

        if (f.HasUtm)
        {
            w.WriteStartObject("utm"u8);
            WriteIfKnown(w, "source"u8, f.UtmSource);
            WriteIfKnown(w, "medium"u8, f.UtmMedium);
            WriteIfKnown(w, "campaign"u8, f.UtmCampaign);
            WriteIfKnown(w, "term"u8, f.UtmTerm);
            WriteIfKnown(w, "content"u8, f.UtmContent);
            w.WriteEndObject();
        }

        if (f.HasClick)
        {
            w.WriteStartObject("click"u8);
            WriteIfKnown(w, "gclid"u8, f.Gclid);
            WriteIfKnown(w, "fbclid"u8, f.Fbclid);
            WriteIfKnown(w, "msclkid"u8, f.Msclkid);
            w.WriteEndObject();
        }

        if (f.HasGeo)
        {
            w.WriteStartObject("geo"u8);
            WriteIfKnown(w, "country"u8, f.GeoCountry);
            WriteIfKnown(w, "region"u8, f.GeoRegion);
            WriteIfKnown(w, "city"u8, f.GeoCity);
            w.WriteEndObject();
        }

        WriteIfKnown(w, "source"u8, f.Source);
        if (f.ClientTs is { } clientTs)
        {
            Span<byte> text = stackalloc byte[Rfc3339.Length];
            Rfc3339.Format(clientTs, text);
            w.WriteString("client_ts"u8, text);
        }

        if (props.HasProps)
        {
            w.WriteStartObject("props"u8);
            props.WriteProps(w);
            w.WriteEndObject();
        }

        w.WriteEndObject();
    }

    private static void WriteIfKnown(Utf8JsonWriter w, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        if (!value.IsEmpty)
        {
            w.WriteString(name, value);
        }
    }
}
