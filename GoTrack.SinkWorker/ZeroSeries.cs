namespace GoTrack.SinkWorker;

/// <summary>
/// Exports SinkWorker's counters at zero (<see cref="SinkWorkerMetrics.ExportZeros"/>) once every hosted
/// service has started, OpenTelemetry's exporters included: a measurement taken before they listen is not seen.
/// </summary>
public sealed class ZeroSeries(SinkWorkerMetrics metrics) : IHostedLifecycleService
{
    public Task StartedAsync(CancellationToken cancellationToken)
    {
        metrics.ExportZeros();
        return Task.CompletedTask;
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
