using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace GoTrack.Tests.Support;

/// <summary>
/// What one host's instrument reports now, read from that host's own <see cref="IMeterFactory"/>.
/// </summary>
/// <remarks>
/// In a test process several hosts live side by side, and OpenTelemetry's /metrics is not theirs alone: its
/// listener takes every meter of the name, identical instruments of two hosts feed one series, and disposing
/// one host's meter stops the series for all of them (open-telemetry/opentelemetry-dotnet#6412). So a test
/// that needs this host's exact value reads it here; /metrics in a process of its own (the published binary)
/// is where the exported names are checked.
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
