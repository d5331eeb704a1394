namespace GoTrack.Tests.Aspire;

/// <summary>
/// The tests that run the AppHost with DCP, one at a time: each starts a DCP, the services and (from the
/// launch profile) a dashboard on fixed ports, which two at once on two cores would only slow down.
/// </summary>
[CollectionDefinition(Name)]
public sealed class AppHostGroup
{
    public const string Name = "AppHost with DCP";
}
