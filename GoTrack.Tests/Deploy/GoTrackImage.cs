extern alias sinkworker;

using GoTrack.Core.Configuration;
using GoTrack.Ingest.Configuration;
using GoTrack.Tests.EndToEnd;
using Microsoft.Extensions.Configuration;
using Worker = sinkworker::GoTrack.SinkWorker;

namespace GoTrack.Tests.Deploy;

/// <summary>
/// One of GoTrack's two container images: the project that builds it, the repository it is published as,
/// the variables its <c>--help</c> lists, and what its own settings make of a set of values. The deploy
/// tests share this table, so the images, the compose file and the dashboards are checked against one fact.
/// <see cref="MetricsAddress"/>: where /metrics listens under a set of values (OPS_ADDR, else SERVER_ADDR).
/// </summary>
public sealed record GoTrackImage(
    string Name,
    string Project,
    string Repository,
    string DefaultServerAddress,
    IReadOnlySet<string> Settings,
    Func<IConfiguration, IReadOnlyList<string>> Validate,
    Func<IConfiguration, IReadOnlyList<string>> DataPaths,
    Func<IConfiguration, string> MetricsAddress)
{
    public static GoTrackImage Ingest { get; } = new(
        "ingest",
        "GoTrack.Ingest",
        "gotrack-ingest",
        IngestSettings.DefaultServerAddress,
        Names(IngestSettings.Docs),
        config =>
        {
            IngestSettings.Load(config, out var errors);
            return errors;
        },
        config =>
        {
            var o = IngestSettings.Load(config, out _);
            return [o.Ndjson.Path, o.Wal?.Directory ?? "(no WAL)", o.Postgres.DeadLetterPath];
        },
        config =>
        {
            var o = IngestSettings.Load(config, out _);
            return o.OpsAddress ?? o.ServerAddress ?? IngestSettings.DefaultServerAddress;
        });

    public static GoTrackImage SinkWorker { get; } = new(
        "sinkworker",
        "GoTrack.SinkWorker",
        "gotrack-sinkworker",
        Worker.SinkWorkerSettings.DefaultServerAddress,
        Names(Worker.SinkWorkerSettings.Docs),
        config =>
        {
            Worker.SinkWorkerSettings.Load(config, out var errors);
            return errors;
        },
        config => [Worker.SinkWorkerSettings.Load(config, out _).DeadLetterFallbackPath],
        config => Worker.SinkWorkerSettings.Load(config, out _).ServerAddress ?? Worker.SinkWorkerSettings.DefaultServerAddress);

    public static IReadOnlyList<GoTrackImage> All { get; } = [Ingest, SinkWorker];

    public static GoTrackImage Named(string name) => All.Single(i => i.Name == name);

    /// <summary>The image a compose <c>image:</c> value names (<c>gotrack-ingest:latest</c>), or null when it is none of ours.</summary>
    public static GoTrackImage? ForImage(string image)
    {
        var repository = image.Split(':')[0];
        return All.SingleOrDefault(i => i.Repository == repository);
    }

    public string ProjectFile => Path.Combine(PublishedIngest.RepoRoot(), Project, Project + ".csproj");

    public int DefaultPort => ListenAddress.PortOf(DefaultServerAddress)!.Value;

    public static IConfiguration Configuration(IEnumerable<KeyValuePair<string, string>> values) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(values.Select(kv => new KeyValuePair<string, string?>(kv.Key, kv.Value)))
            .Build();

    private static HashSet<string> Names(IEnumerable<(string Section, SettingDoc[] Settings)> docs) =>
        docs.SelectMany(d => d.Settings).Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
}
