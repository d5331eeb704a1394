using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using GoTrack.Core.Telemetry;
using Microsoft.Extensions.DependencyInjection;

namespace GoTrack.Tests.Support;

/// <summary>
/// A <see cref="GoTrackMetrics"/> of its own meter factory, and a listener on exactly that factory's
/// instruments, so counts are exact however many other hosts run in the test process.
/// </summary>
public sealed class MetricsCapture : IDisposable
{
    private readonly ServiceProvider _services;
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _sums = new();
    private readonly ConcurrentDictionary<string, long> _counts = new();

    public MetricsCapture()
    {
        _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = _services.GetRequiredService<IMeterFactory>();
        Metrics = new GoTrackMetrics(factory);
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter.Scope, factory))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            if (instrument.IsObservable)
            {
                _observed += instrument.Name == _observing ? value : 0;
            }
            else
            {
                Add(instrument.Name, value);
            }
        });
        _listener.SetMeasurementEventCallback<double>((instrument, _, _, _) => Add(instrument.Name, 0));
        _listener.Start();
    }

    public GoTrackMetrics Metrics { get; }

    private void Add(string name, long value)
    {
        _sums.AddOrUpdate(name, value, (_, v) => v + value);
        _counts.AddOrUpdate(name, 1, (_, v) => v + 1);
    }

    /// <summary>
    /// The sum of a counter's measurements; for an observable counter, the sum of its series' totals now
    /// (asked for on each call).
    /// </summary>
    public long Counter(string name)
    {
        lock (_observeGate)
        {
            _observing = name;
            _observed = 0;
            _listener.RecordObservableInstruments();
            _observing = null;
            return _observed > 0 ? _observed : _sums.GetValueOrDefault(name);
        }
    }

    private readonly Lock _observeGate = new();
    private string? _observing;
    private long _observed;

    /// <summary>How many measurements an instrument took (a histogram's count).</summary>
    public long Measurements(string name) => _counts.GetValueOrDefault(name);

    public void Dispose()
    {
        _listener.Dispose();
        _services.Dispose();
    }
}
