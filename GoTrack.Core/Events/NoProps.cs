using System.Text.Json;

namespace GoTrack.Core.Events;

/// <summary>An event without props.</summary>
public readonly struct NoProps : IPropsWriter
{
    public bool HasProps => false;

    public void WriteProps(Utf8JsonWriter writer)
    {
    }
}
