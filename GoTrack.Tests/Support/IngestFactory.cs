using GoTrack.Core.Sinks;
using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace GoTrack.Tests.Support;

/// <summary>GoTrack.Ingest in process, with its NDJSON file in a temp dir and settings given per test.</summary>
/// <remarks>
/// TestServer has no TCP peer (RemoteIpAddress is null). Requests here may name one in the
/// <see cref="PeerHeader"/> header; a startup filter, in tests only, makes it the connection's address
/// and removes the header before the app sees the request. The same filter notes every request the host
/// is sent (<see cref="Requests"/>), as it arrived, before the app reads it.
/// </remarks>
public sealed class IngestFactory : WebApplicationFactory<Program>
{
    public const string PeerHeader = "X-Test-Peer";

    private readonly Dictionary<string, string?> _settings;
    private readonly TimeProvider? _clock;
    private readonly TempDir _dir = new();

    public IngestFactory(Dictionary<string, string?>? settings = null, TimeProvider? clock = null, CapturingLoggerProvider? logs = null)
    {
        _logs = logs;
        _settings = new Dictionary<string, string?>
        {
            ["LOG_PATH"] = _dir.File("events.ndjson"),
            // 0: a sink takes what is there at once (ReaderWait.ShouldTake), so no test waits on a real-clock linger.
            ["FLUSH_INTERVAL_MS"] = "0",
            ["SERVER_ADDR"] = null,
        };
        foreach (var (k, v) in settings ?? [])
        {
            _settings[k] = v;
        }

        _clock = clock;
    }

    private readonly CapturingLoggerProvider? _logs;

    public string LogPath => _settings["LOG_PATH"]!;

    /// <summary>A file next to the NDJSON log, deleted with it.</summary>
    public string TempFile(string name) => _dir.File(name);

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        foreach (var (k, v) in _settings)
        {
            if (v is not null)
            {
                builder.UseSetting(k, v);
            }
        }

        if (_logs is not null)
        {
            builder.ConfigureLogging(logging => logging.AddProvider(_logs).SetMinimumLevel(Microsoft.Extensions.Logging.LogLevel.Trace));
        }

        builder.ConfigureTestServices(services =>
        {
            services.AddSingleton<IStartupFilter>(new TestPeerFilter(_requests, this));
            if (_clock is not null)
            {
                services.AddSingleton(_clock);
            }
        });
    }

    private readonly ConcurrentQueue<RecordedRequest> _requests = new();

    /// <summary>A request as it reached the host: its method, path and Content-Type header (null without one).</summary>
    public sealed record RecordedRequest(string Method, string Path, string? ContentType);

    /// <summary>Every request the host was sent so far, in order of arrival, noted before the app handled it.</summary>
    public RecordedRequest[] Requests => [.. _requests];

    /// <summary>Awaited before the app handles each request, as it arrived: a test can hold requests here.</summary>
    public Func<HttpContext, Task>? BeforeApp { get; set; }

    private sealed class TestPeerFilter(ConcurrentQueue<RecordedRequest> requests, IngestFactory factory) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use(async (context, nextMiddleware) =>
            {
                var request = context.Request;
                requests.Enqueue(new RecordedRequest(request.Method, request.Path.Value ?? "", request.ContentType));
                if (context.Request.Headers.Remove(PeerHeader, out var peer))
                {
                    context.Connection.RemoteIpAddress = IPAddress.Parse(peer.ToString());
                }

                if (factory.BeforeApp is { } before)
                {
                    await before(context);
                }

                await nextMiddleware(context);
            });
            next(app);
        };
    }

    private CounterTotals? _counters;

    /// <summary>
    /// gotrack_events_total{outcome} of this host alone, read from its own meter factory (<see cref="HostMeter"/>),
    /// so counts are exact whatever other hosts run in the same process.
    /// </summary>
    public long Outcome(string outcome) =>
        (long)(HostMeter.Observe(Services, "gotrack.events", ("outcome", outcome)) ?? 0);

    /// <summary>
    /// A counter of this host alone, summed over its measurements with the tag sink=<paramref name="sink"/>:
    /// for example gotrack.sink_failures (gotrack_sink_failures_total{sink}). /metrics may also show other
    /// hosts of the same process, this does not.
    /// </summary>
    public long SinkCounter(string instrument, string sink)
    {
        _ = Services; // builds the host (and the listener) if nothing has yet
        return _counters!.Sum(instrument, sink);
    }

    /// <summary>A counter of this host alone, summed over all its measurements (for example gotrack.client_ts_clamped).</summary>
    public long Counter(string instrument)
    {
        _ = Services;
        return _counters!.Sum(instrument, null);
    }

    protected override IHost CreateHost(IHostBuilder builder)
    {
        var host = base.CreateHost(builder);
        _counters = new CounterTotals(host.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());
        return host;
    }

    /// <summary>
    /// The host's synchronous counters, summed as they are added to: a listener on its own meter factory,
    /// attached as the host is built, since a counter's past additions cannot be asked for later (observable
    /// instruments can: <see cref="HostMeter"/>).
    /// </summary>
    private sealed class CounterTotals : IDisposable
    {
        private readonly System.Diagnostics.Metrics.MeterListener _listener = new();
        private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Instrument, string? Sink), long> _sums = new();

        public CounterTotals(System.Diagnostics.Metrics.IMeterFactory factory)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, factory) && instrument is System.Diagnostics.Metrics.Counter<long>)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            {
                _sums.AddOrUpdate((instrument.Name, null), value, (_, v) => v + value);
                foreach (var tag in tags)
                {
                    if (tag.Key == "sink" && tag.Value is string sink)
                    {
                        _sums.AddOrUpdate((instrument.Name, sink), value, (_, v) => v + value);
                    }
                }
            });
            _listener.Start();
        }

        public long Sum(string instrument, string? sink) => _sums.GetValueOrDefault((instrument, sink));

        public void Dispose() => _listener.Dispose();
    }

    /// <summary>Waits until every accepted event has been written by every sink.</summary>
    public async Task WaitDeliveredAsync(TimeSpan? timeout = null)
    {
        var pipeline = Services.GetRequiredService<EventPipeline>();
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (pipeline.Runners.Any(r => r.Reader.Pending > 0))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("events were not delivered in time");
            }

            await Task.Delay(10);
        }
    }

    /// <summary>
    /// Serves on Kestrel at 127.0.0.1 on a free port instead of TestServer, for clients that need a real
    /// socket (a browser, an SDK in another process). Returns the base address, without a trailing slash.
    /// </summary>
    /// <remarks>
    /// The port comes from SERVER_ADDR (127.0.0.1:0), not from <c>UseKestrel(0)</c>: that one rewrites the
    /// server's addresses after the host is built, while Program's own thread goes on to <c>app.Run()</c>, and
    /// under load Kestrel had started first ("Addresses cannot be modified after the server has started", one
    /// CI run in many).
    /// </remarks>
    public string StartOnKestrel()
    {
        _settings["SERVER_ADDR"] ??= "127.0.0.1:0";
        UseKestrel();
        StartServer();
        var addresses = Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses;
        return addresses.First().TrimEnd('/').Replace("localhost", "127.0.0.1", StringComparison.Ordinal);
    }

    /// <summary>The NDJSON lines written so far.</summary>
    public string[] Lines() => File.Exists(LogPath) ? File.ReadAllLines(LogPath) : [];

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            _counters?.Dispose();
            _dir.Dispose();
        }
    }
}
