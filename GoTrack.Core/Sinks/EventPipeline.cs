using System.Diagnostics.Metrics;
using GoTrack.Core.Queue;
using GoTrack.Core.Telemetry;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Polly.Registry;

namespace GoTrack.Core.Sinks;

/// <summary>
/// The log and a runner per sink. Intake appends through <see cref="Log"/>; the runners deliver.
/// Built as one singleton so every sink's cursor exists before the first append.
/// </summary>
/// <remarks>
/// The drain happens in <see cref="StoppedAsync"/>: by then the web server has stopped taking requests
/// and finished the ones in flight, so nothing can be appended behind the drain.
/// </remarks>
public sealed partial class EventPipeline : IHostedLifecycleService, IAsyncDisposable
{
    private readonly SinkRunner[] _runners;
    private readonly GoTrackMetrics _metrics;
    private readonly ILogger<EventPipeline> _logger;
    private readonly CancellationTokenSource _abort = new();
    private Task[] _running = [];
    private int _disposed;

    public EventPipeline(
        IEventLog log,
        IEnumerable<IEventSink> sinks,
        SinkRunnerOptions options,
        ResiliencePipelineProvider<string> pipelines,
        GoTrackMetrics metrics,
        TimeProvider time,
        ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(log);
        ArgumentNullException.ThrowIfNull(sinks);
        ArgumentNullException.ThrowIfNull(pipelines);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        Log = log;
        _metrics = metrics;
        _logger = loggerFactory.CreateLogger<EventPipeline>();
        _runners = [.. sinks.Select(sink => new SinkRunner(
            sink,
            log.OpenReader(sink.Name),
            options,
            pipelines.GetPipeline(SinkResilience.PipelineKey(sink.Name)),
            metrics,
            time,
            loggerFactory.CreateLogger<SinkRunner>()))];
        if (_runners.Length == 0)
        {
            throw new InvalidOperationException("At least one sink is required.");
        }

        metrics.ObserveQueueDepth(() => _runners.Select(r =>
            new Measurement<long>(r.Reader.Pending, new KeyValuePair<string, object?>("sink", r.Sink.Name))));
    }

    public IEventLog Log { get; }

    public IReadOnlyList<SinkRunner> Runners => _runners;

    /// <summary>Finds the runner of a sink, for its retry callback and health check.</summary>
    public SinkRunner Runner(string sinkName) => _runners.First(r => r.Sink.Name == sinkName);

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _running = [.. _runners.Select(r => Task.Run(() => r.RunAsync(_abort.Token), CancellationToken.None))];
        return Task.CompletedTask;
    }

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StoppedAsync(CancellationToken cancellationToken)
    {
        Log.Complete();
        long pending = 0;
        foreach (var runner in _runners)
        {
            pending += runner.Reader.Pending;
        }

        LogDraining(_logger, pending);
        try
        {
            await Task.WhenAll(_running).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            await _abort.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(_running).ConfigureAwait(false);
        }

        foreach (var runner in _runners)
        {
            var lost = runner.Reader.Pending;
            if (lost > 0)
            {
                _metrics.Events(EventOutcomes.LostAtShutdown, lost);
                LogLostAtShutdown(_logger, runner.Sink.Name, lost, runner.LastError);
                Environment.ExitCode = 3;
            }
        }

        LogDrained(_logger);
    }

    public async ValueTask DisposeAsync()
    {
        // Registered both as itself and as a hosted service, so the container disposes it twice.
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _abort.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_running).ConfigureAwait(false);
        _abort.Dispose();
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Stopping: draining {Pending} undelivered events to the sinks.")]
    private static partial void LogDraining(ILogger logger, long pending);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Drain finished.")]
    private static partial void LogDrained(ILogger logger);

    [LoggerMessage(EventId = 3, Level = LogLevel.Error,
        Message = "Sink {Sink}: {Lost} accepted events were not delivered before SHUTDOWN_TIMEOUT ran out. Last error: {LastError}")]
    private static partial void LogLostAtShutdown(ILogger logger, string sink, long lost, string? lastError);
}
