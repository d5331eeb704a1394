namespace GoTrack.Ingest.Privacy;

/// <summary>Start-up lines about privacy settings. Nothing here ever takes a value from a request.</summary>
internal static partial class PrivacyLog
{
    [LoggerMessage(1, LogLevel.Warning,
        "IP_HASH_SECRET is not set: IP_MODE=hash and COOKIE_MODE=off use a random secret for this process only, so hashes and cookieless sessions change on restart and differ between instances. Set the same IP_HASH_SECRET on every instance.")]
    public static partial void RandomSecret(ILogger logger);

    [LoggerMessage(2, LogLevel.Information, "GeoIP database {Path} loaded: {DatabaseType} built {BuildDate:u}")]
    public static partial void GeoIpLoaded(ILogger logger, string path, string databaseType, DateTime buildDate);
}
