using GoTrack.Core.Queue;
using GoTrack.Core.Sinks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GoTrack.Tests.Support;

/// <summary>An <see cref="EventPipeline"/> in a bare container, for sink tests without HTTP.</summary>
public static class TestPipeline
{
    /// <summary>Short retry delays; <paramref name="addSinks"/> registers the sinks named in <paramref name="sinkNames"/>.</summary>
    public static (ServiceProvider Services, EventPipeline Pipeline) Build(
        SinkRunnerOptions runner, string[] sinkNames, Action<IServiceCollection> addSinks, EventLogOptions? log = null)
    {
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Critical));
        services.AddMetrics();
        services.AddEventPipeline(log ?? new EventLogOptions(), runner, sinkNames);
        addSinks(services);
        var sp = services.BuildServiceProvider();
        return (sp, sp.GetRequiredService<EventPipeline>());
    }

    public static SinkRunnerOptions FastRetries() => new()
    {
        BatchSize = 10,
        FlushInterval = TimeSpan.FromMilliseconds(5),
        RetryBaseDelay = TimeSpan.FromMilliseconds(1),
        RetryMaxDelay = TimeSpan.FromMilliseconds(20),
    };
}
