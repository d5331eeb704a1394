namespace GoTrack.Core.Configuration;

/// <summary>One environment variable as <c>--help</c> prints it.</summary>
public sealed record SettingDoc(string Name, string Default, string Meaning);
