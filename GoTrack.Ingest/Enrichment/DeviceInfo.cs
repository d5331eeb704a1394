namespace GoTrack.Ingest.Enrichment;

/// <summary>
/// What the user agent says, as indexes into <see cref="UserAgentParser"/>'s name tables: no strings are
/// made per request. The default value means "no user agent".
/// </summary>
public readonly record struct DeviceInfo(byte Browser, byte Os, DeviceType Type, bool IsBot)
{
    public bool IsKnown => Type != DeviceType.None;

    public ReadOnlySpan<byte> BrowserName => IsBot ? UserAgentParser.BotNameUtf8(Browser) : UserAgentParser.BrowserNameUtf8(Browser);

    public ReadOnlySpan<byte> OsName => UserAgentParser.OsNameUtf8(Os);

    public ReadOnlySpan<byte> TypeName => Type switch
    {
        DeviceType.Desktop => "desktop"u8,
        DeviceType.Mobile => "mobile"u8,
        DeviceType.Tablet => "tablet"u8,
        DeviceType.Tv => "tv"u8,
        DeviceType.Console => "console"u8,
        DeviceType.Bot => "bot"u8,
        _ => [],
    };

    public override string ToString() =>
        $"{System.Text.Encoding.UTF8.GetString(BrowserName)}|{System.Text.Encoding.UTF8.GetString(OsName)}|{System.Text.Encoding.UTF8.GetString(TypeName)}";
}
