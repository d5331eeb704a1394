namespace GoTrack.Ingest.Privacy;

/// <summary>What happens to an event whose browser opted out (DNT: 1 or Sec-GPC: 1, when respected).</summary>
public enum PrivacyMode
{
    Drop,
    Anonymize,
}
