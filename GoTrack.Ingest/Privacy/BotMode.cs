namespace GoTrack.Ingest.Privacy;

/// <summary>BOT_MODE: what happens to events from crawlers, headless browsers and HTTP libraries.</summary>
public enum BotMode
{
    Flag,
    Drop,
    Off,
}
