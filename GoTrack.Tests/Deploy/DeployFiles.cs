using System.Text.Json;
using GoTrack.Tests.EndToEnd;
using YamlDotNet.RepresentationModel;

namespace GoTrack.Tests.Deploy;

/// <summary>A PromQL expression in a deploy file, with where it is (a panel's title, an alert's name).</summary>
public sealed record DeployQuery(string Where, string Expression);

/// <summary>A Prometheus scrape job: the names it resolves (compose services) and the port it scrapes.</summary>
public sealed record ScrapeJob(string Name, IReadOnlyList<string> Hosts, int Port, string MetricsPath);

/// <summary>The files under deploy/, read the way Prometheus, Grafana and Compose read them.</summary>
public static class DeployFiles
{
    public static string Root { get; } = Path.Combine(PublishedIngest.RepoRoot(), "deploy");

    public static string PrometheusDir => Path.Combine(Root, "prometheus");

    public static string GrafanaDir => Path.Combine(Root, "grafana");

    public static string ComposeFile => Path.Combine(Root, "local", "docker-compose.yml");

    public static YamlMappingNode Yaml(string path)
    {
        var yaml = new YamlStream();
        using var reader = File.OpenText(path);
        yaml.Load(reader);
        return (YamlMappingNode)yaml.Documents[0].RootNode;
    }

    public static IEnumerable<string> Dashboards() =>
        Directory.EnumerateFiles(Path.Combine(GrafanaDir, "dashboards"), "*.json").Order(StringComparer.Ordinal);

    /// <summary>Every target expression of every panel of every dashboard (rows' nested panels included).</summary>
    public static IReadOnlyList<DeployQuery> DashboardQueries()
    {
        var queries = new List<DeployQuery>();
        foreach (var file in Dashboards())
        {
            using var json = JsonDocument.Parse(File.ReadAllText(file));
            foreach (var panel in Panels(json.RootElement))
            {
                if (panel.TryGetProperty("targets", out var targets))
                {
                    foreach (var target in targets.EnumerateArray())
                    {
                        queries.Add(new DeployQuery(
                            $"{Path.GetFileName(file)}: {panel.GetProperty("title").GetString()} ({target.GetProperty("refId").GetString()})",
                            target.GetProperty("expr").GetString()!));
                    }
                }
            }
        }

        return queries;
    }

    public static IEnumerable<JsonElement> Panels(JsonElement dashboard)
    {
        foreach (var panel in dashboard.GetProperty("panels").EnumerateArray())
        {
            yield return panel;
            if (panel.TryGetProperty("panels", out var nested))
            {
                foreach (var inner in nested.EnumerateArray())
                {
                    yield return inner;
                }
            }
        }
    }

    /// <summary>The rule files prometheus.yml loads.</summary>
    public static IReadOnlyList<string> RuleFiles() =>
        [.. ((YamlSequenceNode)Yaml(Path.Combine(PrometheusDir, "prometheus.yml"))["rule_files"]).Children
            .Select(f => Path.Combine(PrometheusDir, f.ToString()))];

    /// <summary>Every rule of every rule file, as (alert or record name, rule mapping).</summary>
    public static IReadOnlyList<(string Name, YamlMappingNode Rule)> Rules() =>
        [.. RuleFiles()
            .SelectMany(f => ((YamlSequenceNode)Yaml(f)["groups"]).Children.Cast<YamlMappingNode>())
            .SelectMany(g => ((YamlSequenceNode)g["rules"]).Children.Cast<YamlMappingNode>())
            .Select(r => (Text(r, "alert") ?? Text(r, "record")!, r))];

    public static IReadOnlyList<DeployQuery> RuleQueries() =>
        [.. Rules().Select(r => new DeployQuery("alert " + r.Name, r.Rule["expr"].ToString()))];

    public static IReadOnlyList<ScrapeJob> ScrapeJobs()
    {
        var jobs = new List<ScrapeJob>();
        foreach (var job in ((YamlSequenceNode)Yaml(Path.Combine(PrometheusDir, "prometheus.yml"))["scrape_configs"]).Children.Cast<YamlMappingNode>())
        {
            var sd = Assert.Single(((YamlSequenceNode)job["dns_sd_configs"]).Children.Cast<YamlMappingNode>());
            jobs.Add(new ScrapeJob(
                job["job_name"].ToString(),
                [.. ((YamlSequenceNode)sd["names"]).Children.Select(n => n.ToString())],
                int.Parse(sd["port"].ToString(), System.Globalization.CultureInfo.InvariantCulture),
                Text(job, "metrics_path") ?? "/metrics"));
        }

        return jobs;
    }

    public static YamlMappingNode ComposeServices() => (YamlMappingNode)Yaml(ComposeFile)["services"];

    public static Dictionary<string, string> Environment(YamlMappingNode service) =>
        service.Children.TryGetValue("environment", out var env)
            ? ((YamlMappingNode)env).Children.ToDictionary(e => e.Key.ToString(), e => e.Value.ToString(), StringComparer.Ordinal)
            : [];

    /// <summary>The GoTrack image that each scrape job's hosts run, through the compose file.</summary>
    public static IReadOnlyDictionary<string, GoTrackImage> JobImages()
    {
        var services = ComposeServices();
        return ScrapeJobs().ToDictionary(
            j => j.Name,
            j => Assert.Single(j.Hosts.Select(h => GoTrackImage.ForImage(((YamlMappingNode)services[h])["image"].ToString())).Distinct())!);
    }

    public static string? Text(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value.ToString() : null;
}
