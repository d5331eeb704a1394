namespace GoTrack.Ingest.Privacy;

/// <summary>COOKIE_MODE: a session cookie, or cookieless sessions from the daily hash.</summary>
public enum CookieMode
{
    On,
    Off,
}
