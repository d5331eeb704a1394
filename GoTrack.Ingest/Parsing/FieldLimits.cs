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
}
