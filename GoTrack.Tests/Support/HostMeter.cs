using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace GoTrack.Tests.Support;

/// <summary>
/// What one host's instrument reports now, read from that host's own <see cref="IMeterFactory"/>.
/// </summary>
/// <remarks>
/// In a test process several hosts live side by side, and /metrics there is not reliably one host's own:
/// OpenTelemetry's listener takes meters by name, process-wide. Full-suite runs showed another host's 0
/// where this one's 1 belonged (KafkaFatalErrorTests) and a series missing altogether (LogFillMetricTests;
/// open-telemetry/opentelemetry-dotnet#6412 is one way that happens: disposing one meter stops the
/// instruments of every meter of its name). So a test that needs this host's exact value reads it here, and
/// the exported names are checked on a host that has its process to itself (the published binary, the
/// AppHost's services).
/// </remarks>
internal static class HostMeter
{
    /// <summary>
    /// The sum of what <paramref name="instrument"/> reports now over the measurements carrying every tag in
    /// <paramref name="tags"/>; null when this host has no such instrument or it reported nothing.
    /// </summary>
    public static double? Observe(IServiceProvider services, string instrument, params (string Key, string Value)[] tags)
    {
        var factory = services.GetRequiredService<IMeterFactory>();
        double? total = null;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (published, l) =>
        {
            if (ReferenceEquals(published.Meter.Scope, factory) && published.Name == instrument)
            {
                l.EnableMeasurementEvents(published);
            }
        };

        void Add(double value, ReadOnlySpan<KeyValuePair<string, object?>> measured)
        {
            foreach (var (key, wanted) in tags)
            {
                var found = false;
                foreach (var tag in measured)
                {
                    found |= tag.Key == key && Equals(tag.Value?.ToString(), wanted);
                }

                if (!found)
                {
                    return;
                }
            }

            total = (total ?? 0) + value;
        }

        listener.SetMeasurementEventCallback<long>((_, value, measured, _) => Add(value, measured));
        listener.SetMeasurementEventCallback<int>((_, value, measured, _) => Add(value, measured));
        listener.SetMeasurementEventCallback<double>((_, value, measured, _) => Add(value, measured));
        listener.Start();
        listener.RecordObservableInstruments();
        return total;
    }
}
