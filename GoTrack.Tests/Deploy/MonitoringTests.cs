extern alias sinkworker;

using System.Text.RegularExpressions;
using GoTrack.Tests.EndToEnd;
using Worker = sinkworker::GoTrack.SinkWorker;

namespace GoTrack.Tests.Deploy;

/// <summary>
/// The dashboards (deploy/grafana) and alert rules (deploy/prometheus) query metrics by name; a name that no
/// service serves gives an empty panel and an alert that never fires, silently. Every metric and label they
/// read is checked against what a running Ingest and SinkWorker serve on /metrics (<see cref="AlertRuleTests"/>
/// checks the syntax and the rules' behaviour with promtool).
/// </summary>
public sealed class MonitoringTests(RunningServices services) : IClassFixture<RunningServices>
{
    /// <summary>Labels Prometheus adds to every series it scrapes, and a histogram's bucket bound.</summary>
    private static readonly HashSet<string> AddedLabels = ["job", "instance", "le"];

    /// <summary>
    /// Series Prometheus makes itself, with the labels they are sure to have: up (0 when a target's scrape
    /// fails) and ALERTS (one per pending or firing alert, with its rule's labels: every rule has a severity).
    /// </summary>
    private static readonly Dictionary<string, string[]> PrometheusSeries = new(StringComparer.Ordinal)
    {
        ["up"] = [],
        ["ALERTS"] = ["alertname", "alertstate", "severity"],
    };

    public static TheoryData<string> Sources() => ["dashboards", "alerts"];

    private static IReadOnlyList<DeployQuery> Queries(string source) =>
        source == "dashboards" ? DeployFiles.DashboardQueries() : DeployFiles.RuleQueries();

    [Theory]
    [MemberData(nameof(Sources))]
    public void Every_query_reads_at_least_one_metric_the_parser_can_see(string source)
    {
        var queries = Queries(source);
        Assert.NotEmpty(queries);
        Assert.All(queries, q => Assert.True(PromQl.Parse(q.Expression).Selectors.Count > 0, q.Where));
    }

    [Theory]
    [MemberData(nameof(Sources))]
    public void Every_metric_and_label_queried_is_served_by_the_service_its_job_scrapes(string source)
    {
        var jobs = DeployFiles.JobImages();
        var problems = new List<string>();
        foreach (var query in Queries(source))
        {
            var parsed = PromQl.Parse(query.Expression);
            var read = new List<PrometheusSample>();
            foreach (var selector in parsed.Selectors)
            {
                if (PrometheusSeries.TryGetValue(selector.Metric, out var made))
                {
                    var labels = made.ToDictionary(l => l, _ => "", StringComparer.Ordinal);
                    problems.AddRange(selector.Matchers.Where(m => !AddedLabels.Contains(m.Label) && !labels.ContainsKey(m.Label))
                        .Select(m => $"{query.Where}: Prometheus' {selector.Metric} has no label '{m.Label}'"));
                    read.Add(new PrometheusSample(selector.Metric, labels, 1));
                    continue;
                }

                // A job matcher names the service the series must come from; without one, either will do.
                var jobMatcher = selector.Matchers.SingleOrDefault(m => m.Label == "job");
                var inJobs = jobs.Keys.Where(j => jobMatcher is null || Matches(jobMatcher, j)).ToList();
                if (inJobs.Count == 0)
                {
                    problems.Add($"{query.Where}: job matcher {jobMatcher} selects no job of prometheus.yml ({string.Join(", ", jobs.Keys)})");
                    continue;
                }

                var samples = inJobs.SelectMany(j => services.Of(jobs[j])).Where(s => s.Name == selector.Metric).ToList();
                if (samples.Count == 0)
                {
                    problems.Add($"{query.Where}: {selector.Metric} is not on /metrics of {string.Join(", ", inJobs)}");
                    continue;
                }

                read.AddRange(samples);
                foreach (var matcher in selector.Matchers.Where(m => !AddedLabels.Contains(m.Label)))
                {
                    if (!samples.Any(s => s.Labels.ContainsKey(matcher.Label)))
                    {
                        problems.Add($"{query.Where}: {selector.Metric} has no label '{matcher.Label}'");
                    }
                }
            }

            foreach (var label in parsed.GroupingLabels.Where(l => !AddedLabels.Contains(l)))
            {
                if (!read.Any(s => s.Labels.ContainsKey(label)))
                {
                    problems.Add($"{query.Where}: groups by '{label}', a label none of its metrics has");
                }
            }
        }

        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Fact]
    public void SinkWorker_serves_every_counter_at_zero_before_the_first_message_so_a_first_dead_letter_alerts()
    {
        var atStart = services.SinkWorkerAtStart;
        foreach (var reason in Worker.SinkWorkerMetrics.DeadLetterReasons)
        {
            Assert.Equal(0, Assert.Single(atStart, s => s.Name == "gotrack_sinkworker_dead_letters_total" && s.Labels["reason"] == reason).Value);
        }

        foreach (var name in new[]
        {
            "gotrack_sinkworker_retries_total", "gotrack_sinkworker_events_total", "gotrack_sinkworker_commit_failures_total",
            "gotrack_sinkworker_partitions_revoked_total",
        })
        {
            Assert.Equal(0, Assert.Single(atStart, s => s.Name == name).Value);
        }

        // And then the events went through: all of them written, each once.
        Assert.Equal(RunningServices.Events, Assert.Single(services.SinkWorker, s => s.Name == "gotrack_sinkworker_events_total").Value);
    }

    private static bool Matches(PromMatcher matcher, string value) => matcher.Op switch
    {
        "=" => value == matcher.Value,
        "!=" => value != matcher.Value,
        "=~" => Regex.IsMatch(value, $"^(?:{matcher.Value})$"),
        _ => !Regex.IsMatch(value, $"^(?:{matcher.Value})$"),
    };
}
