namespace GoTrack.Ingest.Privacy;

/// <summary>A browser's opt-out signal, when the settings honour it: DNT: 1 (DNT_RESPECT) or Sec-GPC: 1 (GPC_RESPECT).</summary>
internal enum OptOut
{
    None,
    DoNotTrack,
    GlobalPrivacyControl,
}
