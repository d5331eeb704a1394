using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text;
using GoTrack.Tests.Support;

namespace GoTrack.Tests.Http;

/// <summary>
/// The privacy promise, end to end: when IP_MODE (or an anonymizing opt-out) removes the raw client
/// address, it appears in no sink output, no log line (message, structured state or scope), no trace
/// (span names, attributes, events, baggage) and no metric label. Tracing is switched on (an OTLP
/// endpoint is configured) so the ASP.NET Core instrumentation adds its attributes too.
/// </summary>
[Collection(nameof(RawIpNeverStoredTests))]
public sealed class RawIpNeverStoredTests
{
    private const string Chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

    private sealed class Capture : IDisposable
    {
        private readonly ActivityListener _activities;
        private readonly MeterListener _meters = new();

        public Capture()
        {
            _activities = new ActivityListener
            {
                ShouldListenTo = _ => true,
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = a => Traces.Enqueue(Describe(a)),
            };
            ActivitySource.AddActivityListener(_activities);
            _meters.InstrumentPublished = (instrument, listener) => listener.EnableMeasurementEvents(instrument);
            _meters.SetMeasurementEventCallback<long>((i, _, tags, _) => Record(i, tags));
            _meters.SetMeasurementEventCallback<double>((i, _, tags, _) => Record(i, tags));
            _meters.SetMeasurementEventCallback<int>((i, _, tags, _) => Record(i, tags));
            _meters.Start();
        }

        public ConcurrentQueue<string> Traces { get; } = new();

        public ConcurrentQueue<string> MetricTags { get; } = new();

        public CapturingLoggerProvider Logs { get; } = new();

        private void Record(Instrument instrument, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var sb = new StringBuilder(instrument.Name);
            foreach (var tag in tags)
            {
                sb.Append(' ').Append(tag.Key).Append('=').Append(tag.Value);
            }

            MetricTags.Enqueue(sb.ToString());
        }

        private static string Describe(Activity a)
        {
            var sb = new StringBuilder($"{a.TraceId} {a.Source.Name} {a.OperationName} {a.DisplayName} status={a.StatusDescription}");
            foreach (var tag in a.TagObjects)
            {
                sb.Append(' ').Append(tag.Key).Append('=').Append(tag.Value);
            }

            foreach (var e in a.Events)
            {
                sb.Append(" event ").Append(e.Name);
                foreach (var tag in e.Tags)
                {
                    sb.Append(' ').Append(tag.Key).Append('=').Append(tag.Value);
                }
            }

            foreach (var b in a.Baggage)
            {
                sb.Append(" baggage ").Append(b.Key).Append('=').Append(b.Value);
            }

            return sb.ToString();
        }

        /// <summary>Has the observable instruments report now, so their tags are captured too.</summary>
        public void ObserveNow() => _meters.RecordObservableInstruments();

        public void Dispose()
        {
            _activities.Dispose();
            _meters.Dispose();
        }
    }

    /// <summary>Sends pixel and collect traffic from <paramref name="ip"/> (as TCP peer, and behind a trusted proxy) and returns everything that came out.</summary>
    private static async Task<(string Ndjson, string Logs, string Traces, string Metrics, int Lines)> RunAsync(string ipMode, string ip, string privacyMode = "drop")
    {
        using var capture = new Capture();
        var settings = new Dictionary<string, string?>
        {
            ["OUTPUTS"] = "log",
            ["IP_MODE"] = ipMode,
            ["TRUST_PROXY"] = "true",
            ["COOKIE_MODE"] = "off",
            ["PRIVACY_MODE"] = privacyMode,
            ["IP_HASH_SECRET"] = "a-secret-for-the-privacy-tests",
            ["CORS_ALLOWED_ORIGINS"] = "https://shop.example.com",
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:9",
            ["OTEL_TRACES_SAMPLER"] = "always_on",
        };
        using var factory = new IngestFactory(settings, logs: capture.Logs);
        using var client = factory.CreateClient(new() { HandleCookies = false });

        async Task Send(HttpMethod method, string path, string peer, HttpContent? content = null, params (string, string)[] headers)
        {
            using var request = new HttpRequestMessage(method, path) { Content = content };
            request.Headers.Add(IngestFactory.PeerHeader, peer);
            request.Headers.TryAddWithoutValidation("User-Agent", Chrome);
            foreach (var (name, value) in headers)
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }

            using var response = await client.SendAsync(request);
            await response.Content.ReadAsByteArrayAsync();
        }

        static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

        // As the TCP peer, and behind a trusted proxy with a spoofed entry in front.
        await Send(HttpMethod.Get, "/px.gif?e=view&uid=u1&url=https%3A%2F%2Fshop.example.com%2F", ip);
        await Send(HttpMethod.Head, "/px.gif?e=head", ip);
        await Send(HttpMethod.Get, "/px.gif?e=proxied", "10.0.0.5", null, ("X-Forwarded-For", $"6.6.6.6, {ip}"));
        await Send(HttpMethod.Post, "/collect", ip, Json("[{\"e\":\"signup\"},{\"event_id\":\"bad\"}]"), ("Origin", "https://shop.example.com"));
        await Send(HttpMethod.Post, "/collect", "10.0.0.5", Json("{\"e\":\"proxied\"}"), ("X-Forwarded-For", ip));
        // Paths that answer errors, refusals and opt-outs.
        await Send(HttpMethod.Get, "/px.gif?event_id=not-a-uuid", ip);
        await Send(HttpMethod.Post, "/collect", ip, Json("{"));
        await Send(HttpMethod.Post, "/collect", ip, Json("{}"), ("Origin", "https://evil.example"));
        await Send(HttpMethod.Put, "/collect", ip);
        await Send(HttpMethod.Get, "/px.gif?e=optout&uid=u2", ip, null, ("DNT", "1"));
        await Send(HttpMethod.Post, "/collect", ip, Json("{\"e\":\"optout\"}"), ("Sec-GPC", "1"));

        await factory.WaitDeliveredAsync();
        capture.ObserveNow();
        var metrics = await client.GetStringAsync("/metrics");
        var lines = factory.Lines();
        return (string.Join('\n', lines), string.Join('\n', capture.Logs.Lines), string.Join('\n', capture.Traces),
            metrics + "\n" + string.Join('\n', capture.MetricTags), lines.Length);
    }

    private static void AssertAbsent(string ip, (string Ndjson, string Logs, string Traces, string Metrics, int Lines) output)
    {
        Assert.DoesNotContain(ip, output.Ndjson, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(ip, output.Logs, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(ip, output.Traces, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(ip, output.Metrics, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("hash", "81.2.69.160")]
    [InlineData("truncate", "81.2.69.160")]
    [InlineData("drop", "81.2.69.160")]
    [InlineData("hash", "2001:db8:cafe:1::17")]
    [InlineData("truncate", "2001:db8:cafe:1::17")]
    [InlineData("drop", "2001:db8:cafe:1::17")]
    public async Task The_raw_ip_is_nowhere(string mode, string ip)
    {
        var output = await RunAsync(mode, ip);
        Assert.Equal(mode == "drop" ? 0 : 5, output.Ndjson.Split('\n').Count(l => l.Contains("\"ip\"", StringComparison.Ordinal)));
        Assert.Equal(5, output.Lines);
        Assert.NotEmpty(output.Traces);
        Assert.Contains("http.request.method=GET", output.Traces, StringComparison.Ordinal);
        Assert.NotEmpty(output.Logs);
        AssertAbsent(ip, output);
        if (ip.Contains(':', StringComparison.Ordinal))
        {
            // Not even the /64 of an IPv6 address (truncate keeps the /48).
            AssertAbsent("2001:db8:cafe:1:", output);
        }
    }

    [Theory]
    [InlineData("81.2.69.160")]
    [InlineData("2001:db8:cafe:1::17")]
    public async Task An_anonymized_opt_out_stores_no_ip_even_in_raw_mode_and_its_span_keeps_no_user_agent(string ip)
    {
        using var capture = new Capture();
        using var factory = new IngestFactory(new() { ["PRIVACY_MODE"] = "anonymize", ["IP_MODE"] = "raw", ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:9" }, logs: capture.Logs);
        // Our own trace id, so that spans of tests running in parallel are told apart.
        var traceId = ActivityTraceId.CreateRandom().ToHexString();
        var (_, line) = await PrivacyHttpTests.PixelAsync(factory, "uid=u1", peer: ip, headers: [("Sec-GPC", "1"), ("traceparent", $"00-{traceId}-0102030405060708-01")]);
        Assert.NotNull(line);

        // The server's span stops once the response is complete, which can be just after the client has it.
        bool IsOurSpan(string t) => t.Contains(traceId, StringComparison.Ordinal) && t.Contains("HttpRequestIn", StringComparison.Ordinal);
        for (var i = 0; i < 100 && !capture.Traces.Any(IsOurSpan); i++)
        {
            await Task.Delay(50);
        }

        Assert.DoesNotContain(ip, string.Join('\n', factory.Lines()), StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(ip, string.Join('\n', capture.Logs.Lines), StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(ip, string.Join('\n', capture.Traces), StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(ip, string.Join('\n', capture.MetricTags), StringComparison.OrdinalIgnoreCase);
        var span = Assert.Single(capture.Traces, IsOurSpan);
        Assert.Contains("http.request.method=GET", span, StringComparison.Ordinal);
        Assert.DoesNotContain("user_agent.original", span, StringComparison.Ordinal);
        Assert.DoesNotContain("Chrome/131", span, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_search_finds_the_ip_when_it_is_stored_raw()
    {
        // The control: the same traffic in raw mode puts the address in the sink output, so the
        // searches above would have found a leak.
        var output = await RunAsync("raw", "81.2.69.160");
        Assert.Contains("\"ip\":\"81.2.69.160\"", output.Ndjson, StringComparison.Ordinal);
        Assert.DoesNotContain("6.6.6.6", output.Ndjson, StringComparison.Ordinal);
    }
}
