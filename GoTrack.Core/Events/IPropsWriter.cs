using System.Text.Json;

namespace GoTrack.Core.Events;

/// <summary>
/// Writes the members of an event's <c>props</c> object. Implemented by each intake parser over its
/// own input, so props are copied straight from the request into the JSON without an intermediate map.
/// </summary>
public interface IPropsWriter
{
    /// <summary>True when at least one prop will be written, so the encoder can leave the key out.</summary>
    bool HasProps { get; }

    /// <summary>Writes the properties (names and values) into the already open <c>props</c> object.</summary>
    void WriteProps(Utf8JsonWriter writer);
}
