using GoTrack.Tests.EndToEnd;
using GoTrack.Tests.Support;
using YamlDotNet.RepresentationModel;

namespace GoTrack.Tests.Deploy;

/// <summary>
/// deploy/prometheus and the dashboards' queries through promtool (Debian's prometheus package): the config
/// and every expression parse, and each alert rule fires in its unit test when it should and only then.
/// </summary>
public sealed class AlertRuleTests
{
    [Fact]
    public async Task The_alert_rules_pass_their_promtool_unit_tests()
    {
        var (code, output) = await PromtoolAsync($"test rules \"{Path.Combine(DeployFiles.PrometheusDir, "alerts.test.yml")}\"");
        Assert.True(code == 0, output);
    }

    [Fact]
    public void Every_alert_has_a_severity_a_summary_a_description_and_a_unit_test_where_it_fires()
    {
        var tests = (YamlSequenceNode)DeployFiles.Yaml(Path.Combine(DeployFiles.PrometheusDir, "alerts.test.yml"))["tests"];
        var fired = tests.Children.Cast<YamlMappingNode>()
            .SelectMany(t => ((YamlSequenceNode)t["alert_rule_test"]).Children.Cast<YamlMappingNode>())
            .Where(a => ((YamlSequenceNode)a["exp_alerts"]).Children.Count > 0)
            .Select(a => a["alertname"].ToString())
            .ToHashSet();
        var alerts = DeployFiles.Rules();
        Assert.NotEmpty(alerts);
        Assert.All(alerts, a =>
        {
            Assert.Contains(((YamlMappingNode)a.Rule["labels"])["severity"].ToString(), new[] { "warning", "critical" });
            var annotations = (YamlMappingNode)a.Rule["annotations"];
            Assert.False(string.IsNullOrWhiteSpace(DeployFiles.Text(annotations, "summary")), a.Name);
            Assert.False(string.IsNullOrWhiteSpace(DeployFiles.Text(annotations, "description")), a.Name);
            Assert.Contains(a.Name, fired);
        });
    }

    [Fact]
    public async Task The_prometheus_config_and_every_dashboard_query_pass_promtool_check()
    {
        var (code, output) = await PromtoolAsync($"check config \"{Path.Combine(DeployFiles.PrometheusDir, "prometheus.yml")}\"");
        Assert.True(code == 0, output);

        // promtool checks expressions in rule files: each dashboard query becomes a recording rule.
        using var dir = new TempDir();
        var rules = new System.Text.StringBuilder("groups:\n  - name: dashboards\n    rules:\n");
        var queries = DeployFiles.DashboardQueries();
        for (var i = 0; i < queries.Count; i++)
        {
            var expr = PromQl.WithoutGrafanaVariables(queries[i].Expression).Replace("'", "''", StringComparison.Ordinal);
            rules.Append(System.Globalization.CultureInfo.InvariantCulture, $"      - record: dashboard_query_{i}\n        expr: '{expr}'\n");
        }

        var file = dir.File("dashboard-queries.yml");
        await File.WriteAllTextAsync(file, rules.ToString());
        (code, output) = await PromtoolAsync($"check rules \"{file}\"");
        Assert.True(code == 0, output);
        Assert.Contains($"SUCCESS: {queries.Count} rules found", output, StringComparison.Ordinal);
    }

    private static async Task<(int Code, string Output)> PromtoolAsync(string args)
    {
        Assert.True(DebianPackage.Ensure("prometheus", () => File.Exists("/usr/bin/promtool") || File.Exists("/usr/local/bin/promtool")),
            "promtool is missing: install Debian's prometheus package (.ci/run does)");
        return await PublishedIngest.RunAsync("promtool", args, TimeSpan.FromMinutes(1));
    }
}
