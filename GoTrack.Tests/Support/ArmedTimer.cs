namespace GoTrack.Tests.Support;

/// <summary>A timer as armed: its delay, and the fake time it is due at.</summary>
public readonly record struct ArmedTimer(TimeSpan Delay, DateTimeOffset Due);
