namespace GoTrack.Tests.Deploy;

/// <summary>The metric-name reader the monitoring tests rely on: if it saw nothing, they would pass on nothing.</summary>
public sealed class PromQlTests
{
    [Theory]
    [InlineData("histogram_quantile(0.99, sum by (le, sink) (rate(gotrack_batch_flush_seconds_bucket[$__rate_interval])))",
        "gotrack_batch_flush_seconds_bucket", "le,sink")]
    [InlineData("sum(rate(a_total{code=\"503\"}[5m])) / sum(rate(a_total[5m])) > 0.01", "a_total,a_total", "")]
    [InlineData("max by (job, instance) (predict_linear(fill_ratio[10m], 1800)) >= 1 and max by (job, instance) (fill_ratio) > 0.05",
        "fill_ratio,fill_ratio", "instance,job")]
    [InlineData("deriv(sum by (job) (lag{job=\"w\", reason=~\"a|b\"})[15m:1m]) > 1e+3", "lag", "job")]
    [InlineData("up{job=~\"x|y\"} == 0 offset 5m", "up", "")]
    [InlineData("sum without (instance) (x) * on (job) group_left (team) y", "x,y", "instance,job,team")]
    [InlineData("label_replace(x, \"dst\", \"$1\", \"src\", \"(.*)\")", "x", "")]
    public void It_finds_every_metric_and_the_labels_grouped_on(string expression, string metrics, string grouping)
    {
        var query = PromQl.Parse(expression);
        Assert.Equal(metrics.Split(','), query.Selectors.Select(s => s.Metric));
        Assert.Equal(grouping.Split(',', StringSplitOptions.RemoveEmptyEntries), query.GroupingLabels.Order());
    }

    [Fact]
    public void It_reads_matchers()
    {
        var selector = Assert.Single(PromQl.Parse("rate(gotrack_requests_total{code=\"503\", endpoint!~'px.*'}[1m])").Selectors);
        Assert.Equal([new PromMatcher("code", "=", "503"), new PromMatcher("endpoint", "!~", "px.*")], selector.Matchers);
    }

    [Theory]
    [InlineData("sum(rate({__name__=\"x\"}[5m]))")]
    [InlineData("rate(x[$interval])")]
    public void It_refuses_what_it_cannot_see_through(string expression) =>
        Assert.Throws<FormatException>(() => PromQl.Parse(expression));
}
