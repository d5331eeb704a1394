using GoTrack.Core.Queue;
using GoTrack.Core.Queue.Wal;
using GoTrack.Core.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Polly;

namespace GoTrack.Core.Sinks;

public static class PipelineServiceCollectionExtensions
{
    /// <summary>
    /// Registers the event log, a runner per sink, the named resilience pipeline of each sink
    /// (<see cref="SinkResilience.PipelineKey"/>) and the hosted service that runs and drains them.
    /// Register the <see cref="IEventSink"/>s themselves beside it.
    /// </summary>
    public static IServiceCollection AddEventPipeline(
        this IServiceCollection services,
        EventLogOptions logOptions,
        SinkRunnerOptions runnerOptions,
        IEnumerable<string> sinkNames,
        WalOptions? wal = null)
    {
        ArgumentNullException.ThrowIfNull(sinkNames);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<GoTrackMetrics>();
        services.AddSingleton(runnerOptions);
        if (wal is null)
        {
            services.AddSingleton<IEventLog>(sp => new MemoryEventLog(logOptions, sp.GetRequiredService<TimeProvider>()));
        }
        else
        {
            services.AddSingleton<IEventLog>(sp => new WriteAheadLog(
                wal,
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILogger<WriteAheadLog>>(),
                sp.GetRequiredService<GoTrackMetrics>()));
        }

        services.AddSingleton<EventPipeline>();
        services.AddHostedService(sp => sp.GetRequiredService<EventPipeline>());
        foreach (var name in sinkNames)
        {
            services.AddResiliencePipeline(SinkResilience.PipelineKey(name), (builder, context) =>
                builder.AddSinkStrategies(runnerOptions, args =>
                {
                    context.ServiceProvider.GetRequiredService<EventPipeline>().Runner(name)
                        .OnFailedAttempt(args.Outcome.Exception, args.AttemptNumber, args.RetryDelay);
                    return ValueTask.CompletedTask;
                },
                runnerOptions.CircuitBreakerFor(name)));
        }

        return services;
    }
}
