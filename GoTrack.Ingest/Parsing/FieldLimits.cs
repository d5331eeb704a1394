namespace GoTrack.Ingest.Parsing;

/// <summary>Bounds on what one event may carry, in UTF-8 bytes. An event over a bound is rejected with the reason.</summary>
internal static class FieldLimits
{
    public const int Type = 128;
    public const int Id = 256;
    public const int Url = 8192;
    public const int Utm = 512;
    public const int UserAgent = 1024;
    public const int PropName = 128;
    public const int PropValue = 8192;
    public const int Props = 64;
    public const int JsonDepth = 16;

    /// <summary>
    /// The whole event as encoded JSON. The field limits alone allow more once escaping has grown the
    /// text (a character outside the BMP becomes a 12-byte surrogate pair), and an event over a Kafka
    /// broker's message.max.bytes (1 MB by default) could never be delivered: refuse it here instead.
    /// </summary>
    public const int EventBytes = 512 * 1024;
}
