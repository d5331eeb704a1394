using System.Text.Json;
using GoTrack.Core.Configuration;
using YamlDotNet.RepresentationModel;

namespace GoTrack.Tests.Deploy;

/// <summary>
/// deploy/local/docker-compose.yml cannot be started here (no Docker engine), so its contract is checked:
/// KRaft without ZooKeeper, Postgres 16 with init.sql, GoTrack's published images set only settings their
/// --help lists, Prometheus scrapes them where they serve /metrics, and Grafana gets the provisioning it needs.
/// </summary>
public sealed class ComposeTests
{
    private static readonly string Dir = Path.GetDirectoryName(DeployFiles.ComposeFile)!;

    private static YamlMappingNode Service(string name) => (YamlMappingNode)DeployFiles.ComposeServices()[name];

    private static List<string> Strings(YamlMappingNode service, string key) =>
        service.Children.TryGetValue(key, out var node) ? [.. ((YamlSequenceNode)node).Children.Select(n => n.ToString())] : [];

    /// <summary>A short-syntax volume's host folder (resolved against the compose file's folder) for a container path.</summary>
    private static string Mounted(YamlMappingNode service, string containerPath)
    {
        var volume = Assert.Single(Strings(service, "volumes"), v => v.Split(':')[1] == containerPath);
        return Path.GetFullPath(Path.Combine(Dir, volume.Split(':')[0]));
    }

    [Fact]
    public void Kafka_runs_in_KRaft_mode_without_ZooKeeper_and_without_auto_created_topics()
    {
        var services = DeployFiles.ComposeServices();
        Assert.DoesNotContain(services.Children.Keys, k => k.ToString().Contains("zookeeper", StringComparison.OrdinalIgnoreCase));
        var env = DeployFiles.Environment(Service("kafka"));
        Assert.Equal("broker,controller", env["KAFKA_PROCESS_ROLES"]);
        Assert.Contains("CONTROLLER", env["KAFKA_CONTROLLER_LISTENER_NAMES"], StringComparison.Ordinal);
        Assert.Equal("false", env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"]);
        Assert.Contains("localhost:9092", env["KAFKA_ADVERTISED_LISTENERS"], StringComparison.Ordinal);
    }

    [Fact]
    public void Postgres_16_loads_init_sql()
    {
        var postgres = Service("postgres");
        Assert.StartsWith("postgres:16", postgres["image"].ToString(), StringComparison.Ordinal);
        var init = Assert.Single(Strings(postgres, "volumes"), v => v.StartsWith("./init.sql:/docker-entrypoint-initdb.d/", StringComparison.Ordinal));
        Assert.True(File.Exists(Path.Combine(Dir, "init.sql")), init);
    }

    [Fact]
    public void Both_published_images_run_and_each_sets_only_variables_its_help_lists_with_values_it_accepts()
    {
        var run = new List<GoTrackImage>();
        foreach (var (key, node) in DeployFiles.ComposeServices().Children)
        {
            var service = (YamlMappingNode)node;
            var imageName = service["image"].ToString();
            var image = GoTrackImage.ForImage(imageName);
            if (image is null)
            {
                Assert.False(imageName.StartsWith("gotrack", StringComparison.OrdinalIgnoreCase), $"{key}: {imageName} is no image GoTrack publishes");
                continue;
            }

            run.Add(image);
            Assert.Equal(["app"], Strings(service, "profiles"));
            var env = DeployFiles.Environment(service);
            var unknown = env.Keys.Where(k => !image.Settings.Contains(k)).ToList();
            Assert.True(unknown.Count == 0, $"{key} sets {string.Join(", ", unknown)}, which {image.Project} --help does not list");
            Assert.Empty(image.Validate(GoTrackImage.Configuration(env)));
        }

        Assert.Equal(GoTrackImage.All.Select(i => i.Name).Order(), run.Select(i => i.Name).Order());
    }

    [Fact]
    public void Prometheus_scrapes_every_GoTrack_service_on_the_port_where_it_serves_metrics()
    {
        var jobs = DeployFiles.ScrapeJobs();
        var scraped = new List<string>();
        foreach (var job in jobs)
        {
            Assert.Equal("/metrics", job.MetricsPath);
            foreach (var host in job.Hosts)
            {
                var service = Service(host);
                var image = GoTrackImage.ForImage(service["image"].ToString());
                Assert.NotNull(image);
                var address = image.MetricsAddress(GoTrackImage.Configuration(DeployFiles.Environment(service)));
                Assert.Equal(ListenAddress.PortOf(address), job.Port);
                scraped.Add(host);
            }
        }

        var gotrackServices = DeployFiles.ComposeServices().Children
            .Where(s => GoTrackImage.ForImage(((YamlMappingNode)s.Value)["image"].ToString()) is not null)
            .Select(s => s.Key.ToString());
        Assert.Equal(gotrackServices.Order(), scraped.Order());
        Assert.Equal(["gotrack-ingest", "gotrack-sinkworker"], jobs.Select(j => j.Name).Order());
    }

    [Fact]
    public void The_prometheus_profile_loads_the_config_and_its_alert_rules()
    {
        var prometheus = Service("prometheus");
        Assert.Equal(["prometheus", "grafana"], Strings(prometheus, "profiles"));
        Assert.Equal(DeployFiles.PrometheusDir, Mounted(prometheus, "/etc/prometheus"));
        Assert.Contains("--config.file=/etc/prometheus/prometheus.yml", Strings(prometheus, "command"));
        Assert.Contains(Strings(prometheus, "ports"), p => p.EndsWith(":9090", StringComparison.Ordinal));
        Assert.All(DeployFiles.RuleFiles(), f => Assert.StartsWith(DeployFiles.PrometheusDir, f, StringComparison.Ordinal));
        Assert.All(DeployFiles.RuleFiles(), f => Assert.True(File.Exists(f), f));
    }

    [Fact]
    public void The_grafana_profile_comes_up_with_the_data_source_and_the_dashboards()
    {
        var grafana = Service("grafana");
        Assert.Equal(["grafana"], Strings(grafana, "profiles"));
        Assert.Equal(Path.Combine(DeployFiles.GrafanaDir, "provisioning"), Mounted(grafana, "/etc/grafana/provisioning"));

        // The dashboard provider reads the folder the dashboards are mounted at.
        var provider = Assert.Single(((YamlSequenceNode)DeployFiles.Yaml(Path.Combine(DeployFiles.GrafanaDir, "provisioning", "dashboards", "gotrack.yml"))["providers"]).Children.Cast<YamlMappingNode>());
        var dashboardsPath = ((YamlMappingNode)provider["options"])["path"].ToString();
        Assert.Equal(Path.Combine(DeployFiles.GrafanaDir, "dashboards"), Mounted(grafana, dashboardsPath));
        var home = DeployFiles.Environment(grafana)["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"];
        Assert.True(File.Exists(Path.Combine(DeployFiles.GrafanaDir, "dashboards", Path.GetRelativePath(dashboardsPath, home))), home);

        // The data source is the compose file's Prometheus, and it is the one every panel uses.
        var source = Assert.Single(((YamlSequenceNode)DeployFiles.Yaml(Path.Combine(DeployFiles.GrafanaDir, "provisioning", "datasources", "prometheus.yml"))["datasources"]).Children.Cast<YamlMappingNode>());
        Assert.Equal("prometheus", source["type"].ToString());
        Assert.Equal("http://prometheus:9090", source["url"].ToString());
        var uid = source["uid"].ToString();
        foreach (var file in DeployFiles.Dashboards())
        {
            using var json = JsonDocument.Parse(File.ReadAllText(file));
            var panels = DeployFiles.Panels(json.RootElement).ToList();
            Assert.Equal(panels.Count, panels.Select(p => p.GetProperty("id").GetInt32()).Distinct().Count());
            foreach (var panel in panels.Where(p => p.TryGetProperty("targets", out _)))
            {
                var title = panel.GetProperty("title").GetString();
                Assert.Equal(uid, panel.GetProperty("datasource").GetProperty("uid").GetString());
                Assert.NotEqual(0, panel.GetProperty("targets").GetArrayLength());
                Assert.All(panel.GetProperty("targets").EnumerateArray(), t => Assert.Equal(uid, t.GetProperty("datasource").GetProperty("uid").GetString()));
                Assert.False(string.IsNullOrWhiteSpace(panel.GetProperty("description").GetString()), title);
            }
        }
    }
}
