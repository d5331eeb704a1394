using System.Buffers;
using GoTrack.Core.Events;
using GoTrack.Ingest.Parsing;

namespace GoTrack.Ingest.Intake;

/// <summary>
/// Request to <see cref="Record"/>: parse the client's fields, validate, add the server's facts,
/// encode once. Pure functions of their inputs, so tests and benchmarks call them without HTTP.
/// </summary>
internal static class EventBuilder
{
    /// <summary>One pixel request. <paramref name="referer"/> is the request's header, used as <see cref="ReferrerRule"/> says.</summary>
    public static (Record? Record, string? Error) FromPixel(ReadOnlySpan<char> query, string? referer, in RequestInfo info, ReadOnlySpan<char> session)
    {
        var size = PixelQueryParser.ScratchSize(query.Length) + ReferrerRule.ScratchSize(referer)
            + UrlCampaign.ScratchSize(Scratch.Worst(query.Length) + ReferrerRule.ScratchSize(referer)) + RequestFacts.ScratchSize(info, session);
        var rented = ArrayPool<byte>.Shared.Rent(size);
        var ranges = ArrayPool<Range>.Shared.Rent(2 * FieldLimits.Props);
        try
        {
            var scratch = new Scratch(rented.AsSpan(0, size));
            var props = new EventProps(ranges.AsSpan(0, FieldLimits.Props), ranges.AsSpan(FieldLimits.Props, FieldLimits.Props));
            var fields = default(EventFields);
            var error = PixelQueryParser.Parse(query, ref scratch, ref fields, ref props, out var hasEventId);
            return Finish(error, referer, ref scratch, ref fields, ref props, hasEventId, info, session, []);
        }
        finally
        {
            ArrayPool<Range>.Shared.Return(ranges);
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>One element of a /collect body; <paramref name="referer"/> is the request's header, used as <see cref="ReferrerRule"/> says.</summary>
    public static (Record? Record, string? Error) FromJson(ReadOnlySpan<byte> element, string? referer, in RequestInfo info, ReadOnlySpan<char> session)
    {
        var size = CollectBodyParser.ScratchSize(element.Length) + ReferrerRule.ScratchSize(referer)
            + UrlCampaign.ScratchSize(element.Length + ReferrerRule.ScratchSize(referer)) + RequestFacts.ScratchSize(info, session);
        var rented = ArrayPool<byte>.Shared.Rent(size);
        var ranges = ArrayPool<Range>.Shared.Rent(2 * FieldLimits.Props);
        try
        {
            var scratch = new Scratch(rented.AsSpan(0, size));
            var props = new EventProps(ranges.AsSpan(0, FieldLimits.Props), ranges.AsSpan(FieldLimits.Props, FieldLimits.Props));
            var fields = default(EventFields);
            var error = CollectBodyParser.ParseEvent(element, ref scratch, ref fields, ref props, out var hasEventId);
            return Finish(error, referer, ref scratch, ref fields, ref props, hasEventId, info, session, element);
        }
        finally
        {
            ArrayPool<Range>.Shared.Return(ranges);
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>The steps both intakes share once the client's fields are read: validate, add the server's facts, encode.</summary>
    private static (Record? Record, string? Error) Finish(
        string? parseError, string? referer, ref Scratch scratch, ref EventFields fields, ref EventProps props, bool hasEventId,
        in RequestInfo info, ReadOnlySpan<char> session, ReadOnlySpan<byte> jsonProps)
    {
        if (parseError is not null)
        {
            return (null, parseError);
        }

        ReferrerRule.Apply(ref fields, fields.RefSent, referer, ref scratch);
        var error = FieldRules.Validate(ref fields);
        if (error is not null)
        {
            return (null, error);
        }

        RequestFacts.Fill(info, ref scratch, ref fields, hasEventId, session);
        props.Bind(scratch.Written, jsonProps);
        var record = EventEncoder.Encode(fields, props);
        return record.Json.Length > FieldLimits.EventBytes
            ? (null, $"the event is larger than {FieldLimits.EventBytes} bytes as JSON")
            : (record, null);
    }
}
