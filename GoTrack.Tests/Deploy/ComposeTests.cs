using GoTrack.Ingest.Configuration;
using GoTrack.Tests.EndToEnd;
using Microsoft.Extensions.Configuration;
using YamlDotNet.RepresentationModel;

namespace GoTrack.Tests.Unit;

/// <summary>
/// deploy/local/docker-compose.yml cannot be started here (no Docker engine), so its contract is
/// checked: KRaft without ZooKeeper, Postgres 16 with init.sql, and a GoTrack service that only uses
/// settings GoTrack knows.
/// </summary>
public sealed class DockerComposeTests
{
    private static readonly string Dir = Path.Combine(PublishedIngest.RepoRoot(), "deploy", "local");

    private static YamlMappingNode Services()
    {
        var yaml = new YamlStream();
        using var reader = File.OpenText(Path.Combine(Dir, "docker-compose.yml"));
        yaml.Load(reader);
        return (YamlMappingNode)((YamlMappingNode)yaml.Documents[0].RootNode)["services"];
    }

    private static Dictionary<string, string> Environment(YamlMappingNode service) =>
        ((YamlMappingNode)service["environment"]).Children.ToDictionary(e => e.Key.ToString(), e => e.Value.ToString());

    [Fact]
    public void Kafka_runs_in_KRaft_mode_without_ZooKeeper_and_without_auto_created_topics()
    {
        var services = Services();
        Assert.DoesNotContain(services.Children.Keys, k => k.ToString().Contains("zookeeper", StringComparison.OrdinalIgnoreCase));
        var kafka = (YamlMappingNode)services["kafka"];
        var env = Environment(kafka);
        Assert.Equal("broker,controller", env["KAFKA_PROCESS_ROLES"]);
        Assert.Contains("CONTROLLER", env["KAFKA_CONTROLLER_LISTENER_NAMES"], StringComparison.Ordinal);
        Assert.Equal("false", env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"]);
        Assert.Contains("localhost:9092", env["KAFKA_ADVERTISED_LISTENERS"], StringComparison.Ordinal);
    }

    [Fact]
    public void Postgres_16_loads_init_sql()
    {
        var postgres = (YamlMappingNode)Services()["postgres"];
        Assert.StartsWith("postgres:16", postgres["image"].ToString(), StringComparison.Ordinal);
        var volumes = ((YamlSequenceNode)postgres["volumes"]).Children.Select(v => v.ToString()).ToList();
        var init = Assert.Single(volumes, v => v.StartsWith("./init.sql:/docker-entrypoint-initdb.d/", StringComparison.Ordinal));
        Assert.True(File.Exists(Path.Combine(Dir, "init.sql")), init);
    }

    [Fact]
    public void The_gotrack_service_uses_only_documented_settings_and_they_are_valid()
    {
        var env = Environment((YamlMappingNode)Services()["gotrack"]);
        var known = IngestSettings.Docs.SelectMany(d => d.Settings).Select(s => s.Name).ToHashSet();
        Assert.All(env.Keys, k => Assert.Contains(k, known));

        var config = new ConfigurationBuilder()
            .AddInMemoryCollection(env.Select(e => new KeyValuePair<string, string?>(e.Key, e.Value)))
            .Build();
        IngestSettings.Load(config, out var errors);
        Assert.Empty(errors);
    }
}
