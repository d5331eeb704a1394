using System.Buffers;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace GoTrack.Ingest.Segment;

/// <summary>
/// One message of Segment's tracking API, rewritten as a GoTrack event in /collect's JSON (so it goes
/// through the same parser, limits and privacy policy as every other event), plus what the server takes
/// from it: the user agent and address the sender reports, and the client's event time. README, "Use your
/// existing SDK", has the table.
/// </summary>
internal static class SegmentMessage
{
    /// <summary>The namespace of the name-based (v5) event_id for a messageId that is not a UUID.</summary>
    internal static readonly Guid IdNamespace = new("6f4a1f3e-8a52-4c37-9d0e-5b2f1c7e9a10");

    /// <summary>The oldest client time taken as it is; anything earlier (a clock at 1970) is clamped.</summary>
    private static readonly DateTimeOffset Floor = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// How far ahead of the receive time a client time may be and still count as ordinary skew (a clock a little
    /// fast, timestamp and sentAt read at different moments): it is set to the receive time, not counted.
    /// Further ahead is a broken clock, clamped and counted in gotrack_client_ts_clamped_total.
    /// </summary>
    public static readonly TimeSpan FutureTolerance = TimeSpan.FromMinutes(5);

    public readonly record struct Facts(string? UserAgent, IPAddress? Ip, DateTimeOffset? ClientTs, bool Clamped);

    /// <summary>The message type a path names: /v1/track or /v1/t, and so on; null for batch or an unknown path.</summary>
    public static string? TypeOfPath(string kind) => kind switch
    {
        "track" or "t" => "track",
        "page" or "p" => "page",
        "screen" or "s" => "screen",
        "identify" or "i" => "identify",
        "group" or "g" => "group",
        "alias" or "a" => "alias",
        _ => null,
    };

    public static bool IsBatchPath(string kind) => kind is "batch" or "b";

    /// <summary>
    /// Writes the event for <paramref name="message"/> into <paramref name="output"/>; returns the reason to
    /// reject it, or null. <paramref name="batch"/> is the enclosing /v1/batch body (its sentAt, context and
    /// integrations apply to every message), or default.
    /// </summary>
    public static string? Write(
        JsonElement message, JsonElement batch, string? pathType, string? writeKey, DateTimeOffset receivedAt, bool anonymize,
        IBufferWriter<byte> output, out Facts facts)
    {
        try
        {
            return WriteMessage(message, batch, pathType, writeKey, receivedAt, anonymize, output, out facts);
        }
        catch (InvalidOperationException)
        {
            // JSON may escape a lone UTF-16 surrogate ("\ud800"); System.Text.Json refuses to read such a
            // string or compare such a name. Found by SegmentPropertyTests: without this, a 500.
            facts = default;
            return "the message has text that is not valid Unicode (a lone surrogate)";
        }
    }

    private static string? WriteMessage(
        JsonElement message, JsonElement batch, string? pathType, string? writeKey, DateTimeOffset receivedAt, bool anonymize,
        IBufferWriter<byte> output, out Facts facts)
    {
        facts = default;
        if (message.ValueKind != JsonValueKind.Object)
        {
            return "a message must be a JSON object";
        }

        var type = Text(message, "type") ?? pathType;
        var e = type switch
        {
            "track" => Text(message, "event") is { Length: > 0 } name ? name : null, // "" would become /collect's default, a pageview
            "page" => "pageview",
            "screen" => "screen",
            "identify" => "identify",
            "group" => "group",
            "alias" => "alias",
            null => null,
            _ => null,
        };
        if (type is null)
        {
            return "a message needs a type (track, page, screen, identify, group, alias)";
        }

        if (e is null)
        {
            return type == "track" ? "a track message needs an event name" : $"unknown message type '{type}'";
        }

        // A batch's context and integrations apply to a message that has none of its own; what of the batch
        // does not apply is kept under props.segment.batch (below).
        var ownContext = message.TryGetProperty("context", out var messageContext);
        var context = ownContext ? (messageContext.ValueKind == JsonValueKind.Object ? messageContext : null) : Member(batch, "context");
        var batchContextApplied = !ownContext && context is not null;
        var batchIntegrationsApplied = !message.TryGetProperty("integrations", out _) && Member(batch, "integrations") is not null;
        var page = context is { } c ? Member(c, "page") : null;
        var mappedProps = type is "identify" or "group" ? "traits" : "properties";
        var properties = Member(message, mappedProps);

        using var w = new Utf8JsonWriter(output);
        w.WriteStartObject();
        if (Text(message, "messageId") is { Length: > 0 } messageId)
        {
            w.WriteString("event_id"u8, Guid.TryParseExact(messageId, "D", out var id) && id != Guid.Empty ? id : NameBased(writeKey, messageId));
        }

        w.WriteString("e"u8, e);
        var uidWritten = false;
        if (!anonymize && Text(message, "userId") is { Length: > 0 } userId)
        {
            w.WriteString("uid"u8, userId);
            uidWritten = true;
        }

        var url = (page is { } p ? Text(p, "url") : null) ?? (properties is { } pr && type == "page" ? Text(pr, "url") : null);
        if (url is not null)
        {
            w.WriteString("url"u8, url);
        }

        // context.page.referrer present, even empty, is the client's word on the referrer (README, "The referrer").
        if ((page is { } pg && pg.TryGetProperty("referrer", out var referrer)) || (type == "page" && properties is { } pp && pp.TryGetProperty("referrer", out referrer)))
        {
            w.WriteString("ref"u8, referrer.ValueKind == JsonValueKind.String ? referrer.GetString() : string.Empty);
        }

        if (context is { } ctx && Member(ctx, "campaign") is { } campaign)
        {
            w.WriteStartObject("utm"u8);
            WriteText(w, "source"u8, campaign, "source");
            WriteText(w, "medium"u8, campaign, "medium");
            WriteText(w, "campaign"u8, campaign, "name");
            WriteText(w, "term"u8, campaign, "term");
            WriteText(w, "content"u8, campaign, "content");
            w.WriteEndObject();
        }

        w.WriteStartObject("props"u8);
        var ownSegmentKey = false;
        if (properties is { } props)
        {
            foreach (var member in props.EnumerateObject())
            {
                ownSegmentKey |= member.NameEquals("segment"u8);
                member.WriteTo(w);
            }
        }

        // Everything else of the message, so nothing is dropped: only what became a field above is not repeated
        // (event of a track, a userId that is the uid, the properties or traits that are props), and what the
        // privacy policy keeps out: the write key, the sender's address and user agent (they are the event's, as
        // IP_MODE says), and under PRIVACY_MODE=anonymize the identifiers (README, "What is mapped where").
        var hasOwnBatchMember = message.TryGetProperty("batch", out _);
        w.WriteStartObject(ownSegmentKey ? "segment_message"u8 : "segment"u8);
        foreach (var member in message.EnumerateObject())
        {
            if ((member.NameEquals("event"u8) && type == "track")
                || (member.NameEquals("userId"u8) && (uidWritten || anonymize))
                || (member.NameEquals("properties"u8) && mappedProps == "properties" && properties is not null)
                || (member.NameEquals("traits"u8) && (mappedProps == "traits" ? properties is not null : anonymize))
                || (member.NameEquals("context"u8) && context is not null)
                || member.NameEquals("writeKey"u8)
                || (anonymize && (member.NameEquals("anonymousId"u8) || member.NameEquals("previousId"u8))))
            {
                continue;
            }

            member.WriteTo(w);
        }

        if (!message.TryGetProperty("type", out _))
        {
            w.WriteString("type"u8, type);
        }

        if (context is { } kept)
        {
            w.WritePropertyName("context"u8);
            WriteContext(w, kept, anonymize);
        }

        if (batchIntegrationsApplied && Member(batch, "integrations") is { } integrations)
        {
            w.WritePropertyName("integrations"u8);
            integrations.WriteTo(w);
        }

        // The rest of a /v1/batch envelope: its sentAt, a context or integrations the message overrode, any
        // other member. Never the batch array itself or the write key.
        if (batch.ValueKind == JsonValueKind.Object)
        {
            var started = false;
            foreach (var member in batch.EnumerateObject())
            {
                if (member.NameEquals("batch"u8) || member.NameEquals("writeKey"u8)
                    || (member.NameEquals("context"u8) && batchContextApplied)
                    || (member.NameEquals("integrations"u8) && batchIntegrationsApplied))
                {
                    continue;
                }

                if (!started)
                {
                    w.WriteStartObject(hasOwnBatchMember ? "segment_batch"u8 : "batch"u8);
                    started = true;
                }

                if (member.NameEquals("context"u8) && member.Value.ValueKind == JsonValueKind.Object)
                {
                    w.WritePropertyName("context"u8);
                    WriteContext(w, member.Value, anonymize);
                }
                else
                {
                    member.WriteTo(w);
                }
            }

            if (started)
            {
                w.WriteEndObject();
            }
        }

        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndObject();
        w.Flush();

        var ua = context is { } uc ? Text(uc, "userAgent") : null;
        var ip = context is { } ic && Text(ic, "ip") is { } ipText && IPAddress.TryParse(ipText, out var parsed) ? parsed : null;
        var (clientTs, clamped) = ClientTime(Time(message, "timestamp"), Time(message, "sentAt") ?? Time(batch, "sentAt"), receivedAt);
        facts = new Facts(ua, ip, clientTs, clamped);
        return null;
    }

    /// <summary>
    /// A context as stored under props.segment: without the sender's address (never stored as sent: a parsed
    /// one is the event's ip under IP_MODE, an unparseable one is not kept) and its user agent when that is
    /// the event's ua; under PRIVACY_MODE=anonymize also without the user agent and the user's traits.
    /// </summary>
    private static void WriteContext(Utf8JsonWriter w, JsonElement context, bool anonymize)
    {
        w.WriteStartObject();
        foreach (var member in context.EnumerateObject())
        {
            if (member.NameEquals("ip"u8)
                || (member.NameEquals("userAgent"u8) && (anonymize || member.Value.ValueKind is JsonValueKind.String or JsonValueKind.Number))
                || (anonymize && member.NameEquals("traits"u8)))
            {
                continue;
            }

            member.WriteTo(w);
        }

        w.WriteEndObject();
    }

    /// <summary>
    /// The client's event time on the server's clock, as Segment and RudderStack correct it:
    /// receivedAt − (sentAt − timestamp). Without sentAt the timestamp is taken as it is. A result after the
    /// receive time becomes the receive time (client_ts never follows ts); more than <see cref="FutureTolerance"/>
    /// after it, or before 2000, is a broken clock, and that is counted as a clamp.
    /// </summary>
    internal static (DateTimeOffset? Time, bool Clamped) ClientTime(DateTimeOffset? timestamp, DateTimeOffset? sentAt, DateTimeOffset receivedAt)
    {
        if (timestamp is not { } ts)
        {
            return (null, false);
        }

        DateTimeOffset corrected;
        try
        {
            corrected = sentAt is { } sent ? receivedAt - (sent - ts) : ts;
        }
        catch (ArgumentOutOfRangeException)
        {
            return (receivedAt, true);
        }

        if (corrected < Floor)
        {
            return (receivedAt, true);
        }

        return corrected > receivedAt ? (receivedAt, corrected - receivedAt > FutureTolerance) : (corrected, false);
    }

    /// <summary>A UUID v5 (RFC 9562, SHA-1) of the write key and the messageId: an SDK's retry gets the same event_id.</summary>
    internal static Guid NameBased(string? writeKey, string messageId) => NameBased(IdNamespace, (writeKey ?? string.Empty) + "\n" + messageId);

    /// <summary>RFC 9562 UUID version 5: SHA-1 of the namespace's bytes and the UTF-8 name.</summary>
    internal static Guid NameBased(Guid ns, string nameText)
    {
        var name = Encoding.UTF8.GetBytes(nameText);
        var input = new byte[16 + name.Length];
        ns.TryWriteBytes(input, bigEndian: true, out _);
        name.CopyTo(input.AsSpan(16));
        Span<byte> hash = stackalloc byte[20];
#pragma warning disable CA5350 // SHA-1 is what RFC 9562 names for v5: an identifier, not a security boundary.
        SHA1.HashData(input, hash);
#pragma warning restore CA5350
        hash[6] = (byte)((hash[6] & 0x0F) | 0x50);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash[..16], bigEndian: true);
    }

    private static JsonElement? Member(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Object ? value : null;

    /// <summary>A string member, or a number's text (userId may be numeric); null otherwise.</summary>
    private static string? Text(JsonElement element, string name)
    {
        if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(name, out var value))
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Number => value.GetRawText(),
            _ => null,
        };
    }

    private static DateTimeOffset? Time(JsonElement element, string name) =>
        Text(element, name) is { } text && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t : null;

    private static void WriteText(Utf8JsonWriter w, ReadOnlySpan<byte> name, JsonElement element, string member)
    {
        if (Text(element, member) is { } text)
        {
            w.WriteString(name, text);
        }
    }
}
