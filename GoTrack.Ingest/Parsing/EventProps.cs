using System.Text.Json;
using GoTrack.Core.Events;

namespace GoTrack.Ingest.Parsing;

/// <summary>
/// The props of one event as ranges: names in the scratch buffer; values either decoded text in the
/// scratch buffer (pixel) or raw JSON in the request body (collect). The first occurrence of a name wins.
/// </summary>
internal ref struct EventProps : IPropsWriter
{
    private readonly Span<Range> _names;
    private readonly Span<Range> _values;
    private ReadOnlySpan<byte> _scratch;
    private ReadOnlySpan<byte> _json;
    private int _count;

    public EventProps(Span<Range> names, Span<Range> values)
    {
        _names = names;
        _values = values;
    }

    public readonly bool HasProps => _count > 0;

    /// <summary>The scratch buffer the ranges point into (set once parsing is done).</summary>
    public void Bind(ReadOnlySpan<byte> scratch, ReadOnlySpan<byte> json)
    {
        _scratch = scratch;
        _json = json;
    }

    /// <summary>Adds a prop unless its name is already there. False when there is no room left.</summary>
    public bool TryAdd(ReadOnlySpan<byte> scratch, Range name, Range value)
    {
        var n = scratch[name];
        for (var i = 0; i < _count; i++)
        {
            if (scratch[_names[i]].SequenceEqual(n))
            {
                return true;
            }
        }

        if (_count == _names.Length)
        {
            return false;
        }

        _names[_count] = name;
        _values[_count] = value;
        _count++;
        return true;
    }

    public readonly void WriteProps(Utf8JsonWriter writer)
    {
        for (var i = 0; i < _count; i++)
        {
            writer.WritePropertyName(_scratch[_names[i]]);
            if (_json.IsEmpty)
            {
                writer.WriteStringValue(_scratch[_values[i]]);
            }
            else
            {
                var reader = new Utf8JsonReader(_json[_values[i]], new JsonReaderOptions { MaxDepth = FieldLimits.JsonDepth });
                reader.Read();
                JsonCopier.CopyValue(ref reader, writer);
            }
        }
    }
}
