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
            log.OpenReader(sink.Name, sink is IOutputSync output ? output.SyncOutput : null),
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
        metrics.ObserveQueueBytes(() => _runners.Select(r =>
            new Measurement<long>(r.Reader.PendingBytes, new KeyValuePair<string, object?>("sink", r.Sink.Name))));
        metrics.ObserveLogFill(() => log.Usage.Fill);

        if (log.IsDurable)
        {
            SkipWhatSinksHold();
        }
    }

    /// <summary>
    /// A durable log redelivers from each sink's saved cursor; a sink that can tell what it already holds
    /// is not handed that again. If it cannot tell now (its file unreadable), nothing is skipped: the
    /// worst case is a line written twice, never one lost.
    /// </summary>
    private void SkipWhatSinksHold()
    {
        foreach (var runner in _runners)
        {
            // No more lines can match than there are records to deliver again: nothing pending, nothing read.
            var window = (int)Math.Min(ResumeWindow, runner.Reader.Pending);
            if (runner.Sink is not IResumableSink resumable || window == 0)
            {
                continue;
            }

            try
            {
                if (runner.Reader.SkipThrough(resumable.LastWrittenEventIds(window)) is var skipped and > 0)
                {
                    LogResumeSkipped(_logger, runner.Sink.Name, skipped);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                LogResumeUnknown(_logger, runner.Sink.Name, ex);
            }
        }
    }

    public IEventLog Log { get; }

    /// <summary>
    /// How far back a sink's output is compared with what the log redelivers. Cursors are saved every 200 ms,
    /// so far fewer records than this can have been written past a saved cursor; past it, lines may be
    /// written twice (never lost).
    /// </summary>
    internal const int ResumeWindow = 50_000;

    public IReadOnlyList<SinkRunner> Runners => _runners;

    /// <summary>Finds the runner of a sink, for its retry callback and health check.</summary>
    public SinkRunner Runner(string sinkName) => _runners.First(r => r.Sink.Name == sinkName);

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // Every reader is open: a durable log records the set (and any sink new in OUTPUTS) before intake starts.
        Log.Checkpoint();
        _running = [.. _runners.Select(r => Task.Run(() => r.RunAsync(_abort.Token), CancellationToken.None))];
        return Task.CompletedTask;
    }

    /// <summary>Every hosted service, OpenTelemetry's exporters included, has started: the zero series are seen.</summary>
    public Task StartedAsync(CancellationToken cancellationToken)
    {
        _metrics.ExportZeros(_runners.Select(r => r.Sink.Name));
        return Task.CompletedTask;
    }

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StoppedAsync(CancellationToken cancellationToken)
    {
        Log.Complete();
        long pending = 0;
        foreach (var runner in _runners)
        {
            pending += runner.Reader.Pending;
            if (Log.IsDurable)
            {
                runner.StopOnFailure();
            }
        }

        if (Log.IsDurable)
        {
            LogStoppingDurable(_logger, pending);
        }
        else
        {
            LogDraining(_logger, pending);
        }

        try
        {
            await Task.WhenAll(_running).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            await _abort.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(_running).ConfigureAwait(false);
        }
        finally
        {
            Account();
        }
    }

    /// <summary>What each sink did not deliver: lost (memory), or left on disk for the next start (wal).</summary>
    private void Account()
    {
        foreach (var runner in _runners)
        {
            var left = runner.Reader.Pending;
            if (left <= 0)
            {
                continue;
            }

            if (Log.IsDurable)
            {
                LogLeftOnDisk(_logger, runner.Sink.Name, left, runner.LastError);
            }
            else
            {
                _metrics.Events(EventOutcomes.LostAtShutdown, left);
                LogLostAtShutdown(_logger, runner.Sink.Name, left, runner.LastError);
                Environment.ExitCode = 3;
            }
        }

        try
        {
            Log.Checkpoint();
        }
        catch (IOException ex)
        {
            LogCheckpointFailed(_logger, ex);
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

    [LoggerMessage(EventId = 4, Level = LogLevel.Information,
        Message = "Stopping (ACK_MODE=wal): {Pending} undelivered events are on disk; delivering while the sinks succeed, the rest on the next start.")]
    private static partial void LogStoppingDurable(ILogger logger, long pending);

    [LoggerMessage(EventId = 5, Level = LogLevel.Warning,
        Message = "Sink {Sink}: {Left} events stay in the write-ahead log and are delivered on the next start. Last error: {LastError}")]
    private static partial void LogLeftOnDisk(ILogger logger, string sink, long left, string? lastError);

    [LoggerMessage(EventId = 6, Level = LogLevel.Information,
        Message = "Sink {Sink}: {Skipped} events from the write-ahead log were already in its output and are not written again.")]
    private static partial void LogResumeSkipped(ILogger logger, string sink, long skipped);

    [LoggerMessage(EventId = 8, Level = LogLevel.Warning,
        Message = "Sink {Sink}: could not read what it already holds; events the write-ahead log redelivers may be written twice.")]
    private static partial void LogResumeUnknown(ILogger logger, string sink, Exception error);

    [LoggerMessage(EventId = 7, Level = LogLevel.Error, Message = "Writing the sinks' cursors at shutdown failed; the next start delivers more events again.")]
    private static partial void LogCheckpointFailed(ILogger logger, Exception error);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Drain finished.")]
    private static partial void LogDrained(ILogger logger);

    [LoggerMessage(EventId = 3, Level = LogLevel.Error,
        Message = "Sink {Sink}: {Lost} accepted events were not delivered before SHUTDOWN_TIMEOUT ran out. Last error: {LastError}")]
    private static partial void LogLostAtShutdown(ILogger logger, string sink, long lost, string? lastError);
}
