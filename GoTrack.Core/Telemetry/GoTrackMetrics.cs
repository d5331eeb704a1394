using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;

namespace GoTrack.Core.Telemetry;

/// <summary>
/// GoTrack's instruments, on one meter named <c>GoTrack</c>. The Prometheus exporter turns the names into
/// the seed's: <c>gotrack_requests_total</c>, <c>gotrack_ingest_latency_seconds</c>, <c>gotrack_queue_depth</c>,
/// <c>gotrack_sink_failures_total</c>, <c>gotrack_batch_flush_seconds</c> and <c>gotrack_events_total</c>, plus
/// <c>gotrack_dead_letters_total{sink}</c>.
/// Tag values are a closed set (endpoint, status code, sink, outcome): never anything from the request.
/// </summary>
/// <remarks>
/// The two counters every request moves, <c>gotrack.requests</c> and <c>gotrack.events</c>, are observable
/// counters over our own interlocked totals: a request costs an increment, and OpenTelemetry reads the
/// totals when it exports. As plain counters each measurement went through the SDK's tag lookup on the
/// request's thread (its aggregator was 2.9% of Ingest's CPU samples under wrk). They export the same.
/// </remarks>
public sealed class GoTrackMetrics
{
    public const string MeterName = "GoTrack";

    private static readonly double[] LatencyBuckets =
        [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

    private static readonly double[] FlushBuckets =
        [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

    private readonly ConcurrentDictionary<(string Endpoint, int Code), StrongBox<long>> _requests = new();
    private readonly Histogram<double> _ingestLatency;
    private readonly Counter<long> _sinkFailures;
    private readonly Histogram<double> _batchFlush;
    private readonly ConcurrentDictionary<string, StrongBox<long>> _events = new(StringComparer.Ordinal);
    private readonly Counter<long> _deadLetters;
    private readonly Counter<long> _clientClockClamped;
    private readonly Histogram<double> _walFsync;
    private readonly Histogram<long> _walGroup;
    private readonly Meter _meter;

    public GoTrackMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _meter = meterFactory.Create(MeterName);
        _meter.CreateObservableCounter("gotrack.requests", ObserveRequests, description: "HTTP requests to the intake endpoints, by endpoint and status code.");
        _ingestLatency = _meter.CreateHistogram("gotrack.ingest_latency", "s",
            "Time from request start to answer on the intake endpoints.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        _sinkFailures = _meter.CreateCounter<long>("gotrack.sink_failures", description: "Failed batch write attempts, by sink. Each is retried.");
        _batchFlush = _meter.CreateHistogram("gotrack.batch_flush", "s",
            "Time to deliver one batch to a sink, retries included.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = FlushBuckets });
        _meter.CreateObservableCounter("gotrack.events", ObserveEvents, description: "Events by outcome: accepted, delivered, and each reason an event was refused or dropped.");
        _deadLetters = _meter.CreateCounter<long>("gotrack.dead_letters", description: "Events a sink refused for good and wrote to its dead-letter file, by sink.");
        _clientClockClamped = _meter.CreateCounter<long>("gotrack.client_ts_clamped", description: "Segment API events whose corrected client time fell after the receive time or before 2000, and was clamped to the receive time.");
        _walFsync = _meter.CreateHistogram("gotrack.wal_fsync", "s",
            "ACK_MODE=wal: time of one fdatasync of the write-ahead log (one group commit).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        _walGroup = _meter.CreateHistogram<long>("gotrack.wal_group_events", description: "ACK_MODE=wal: events made durable by one fsync (the group commit's size).",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096] });
    }

    public void WalFsync(TimeSpan elapsed, int groupEvents)
    {
        _walFsync.Record(elapsed.TotalSeconds);
        _walGroup.Record(groupEvents);
    }

    /// <summary>
    /// Registers the write-ahead log's size gauge and its damage counters. The counters are observed from
    /// the log's own totals, so damage found while opening it, before any exporter listened, is reported,
    /// and both series exist at zero from the start.
    /// </summary>
    public void ObserveWal(Func<long> bytes, Func<long> corruptSegments, Func<long> tornTails)
    {
        _meter.CreateObservableGauge("gotrack.wal_bytes", bytes, description: "ACK_MODE=wal: bytes of segments on disk (bounded by WAL_MAX_BYTES).");
        _meter.CreateObservableCounter("gotrack.wal_corrupt_segments", corruptSegments,
            description: "ACK_MODE=wal: segments found damaged (moved aside at start, or skipped by a reader).");
        _meter.CreateObservableCounter("gotrack.wal_torn_tails", tornTails,
            description: "ACK_MODE=wal: torn tails cut off at start (writes that were never acknowledged).");
    }

    /// <summary>Registers the per-sink backlog-in-bytes gauge.</summary>
    public void ObserveQueueBytes(Func<IEnumerable<Measurement<long>>> observe) =>
        _meter.CreateObservableGauge("gotrack.queue_bytes", observe, description: "Bytes of the events accepted but not yet delivered, by sink.");

    public void Request(string endpoint, int statusCode, long startTimestamp)
    {
        Interlocked.Increment(ref _requests.GetOrAdd((endpoint, statusCode), static _ => new StrongBox<long>()).Value);
        _ingestLatency.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds, new KeyValuePair<string, object?>("endpoint", endpoint));
    }

    /// <summary>A client event time clamped to the receive time (the Segment API).</summary>
    public void ClientClockClamped() => _clientClockClamped.Add(1);

    public void Events(string outcome, long count = 1)
    {
        if (count > 0)
        {
            Interlocked.Add(ref EventTotal(outcome).Value, count);
        }
    }

    private StrongBox<long> EventTotal(string outcome) => _events.GetOrAdd(outcome, static _ => new StrongBox<long>());

    private IEnumerable<Measurement<long>> ObserveEvents()
    {
        foreach (var (outcome, total) in _events)
        {
            yield return new Measurement<long>(Volatile.Read(ref total.Value), new KeyValuePair<string, object?>("outcome", outcome));
        }
    }

    private IEnumerable<Measurement<long>> ObserveRequests()
    {
        foreach (var (key, total) in _requests)
        {
            yield return new Measurement<long>(Volatile.Read(ref total.Value),
                new KeyValuePair<string, object?>("endpoint", key.Endpoint), new KeyValuePair<string, object?>("code", StatusText(key.Code)));
        }
    }

    /// <summary>
    /// Creates every series with a known label set at zero: alerts and rate() need a series before its
    /// first event. Call once exporters listen (a measurement taken before is not seen).
    /// </summary>
    public void ExportZeros(IEnumerable<string> sinks)
    {
        ArgumentNullException.ThrowIfNull(sinks);
        foreach (var outcome in EventOutcomes.All)
        {
            EventTotal(outcome);
        }

        _clientClockClamped.Add(0);
        foreach (var sink in sinks)
        {
            _sinkFailures.Add(0, new KeyValuePair<string, object?>("sink", sink));
            _deadLetters.Add(0, new KeyValuePair<string, object?>("sink", sink));
        }
    }

    public void DeadLetters(string sink, long count) =>
        _deadLetters.Add(count, new KeyValuePair<string, object?>("sink", sink));

    public void SinkFailure(string sink) => _sinkFailures.Add(1, new KeyValuePair<string, object?>("sink", sink));

    public void BatchFlushed(string sink, TimeSpan elapsed) =>
        _batchFlush.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("sink", sink));

    /// <summary>
    /// Registers the event log's fill, 0 to 1: the larger of events and bytes against the log's bounds
    /// (QUEUE_MAX_EVENTS and QUEUE_MAX_MB, or WAL_MAX_BYTES), the figure /readyz judges. Alerts watch it
    /// without having to know the bounds; at 1 intake answers 503.
    /// </summary>
    public void ObserveLogFill(Func<double> fill) =>
        _meter.CreateObservableGauge("gotrack.log_fill_ratio", fill, "1",
            "How full the event log is, 0 to 1 (the larger of events and bytes against its bounds); /readyz is not ready from 0.95, intake answers 503 at 1.");

    /// <summary>Registers the per-sink queue depth gauge.</summary>
    public void ObserveQueueDepth(Func<IEnumerable<Measurement<long>>> observe) =>
        _meter.CreateObservableGauge("gotrack.queue_depth", observe, description: "Events accepted but not yet delivered, by sink.");

    private static string StatusText(int code) => code switch
    {
        200 => "200",
        202 => "202",
        204 => "204",
        400 => "400",
        403 => "403",
        405 => "405",
        413 => "413",
        415 => "415",
        503 => "503",
        _ => code.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
