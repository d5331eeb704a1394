using System.Buffers;
using System.Globalization;
using GoTrack.Core.Configuration;
using GoTrack.Core.Kafka;
using GoTrack.Core.Postgres;
using GoTrack.Core.Queue.Wal;
using GoTrack.Core.Sinks;
using Microsoft.Extensions.Configuration;

namespace GoTrack.Ingest.Configuration;

/// <summary>
/// GoTrack.Ingest's settings: the seed's environment variables with the seed's defaults, plus ours in
/// the same style. This table is the single source for binding, validation and <c>--help</c>.
/// </summary>
public static class IngestSettings
{
    public const string DefaultServerAddress = ":19890";

    public static readonly string[] KnownOutputs = ["log", "kafka", "postgres"];

    public static readonly SearchValues<char> CookieNameChars =
        SearchValues.Create("!#$%&'*+-.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ^_`abcdefghijklmnopqrstuvwxyz|~");

    public static IReadOnlyList<(string Section, SettingDoc[] Settings)> Docs { get; } =
    [
        ("General",
        [
            new("SERVER_ADDR", DefaultServerAddress, "Listen address, host:port; ':port' listens on every interface. When unset and the AppHost (ASPNETCORE_URLS, HTTP_PORTS) says where to listen, that wins."),
            new("OPS_ADDR", "", "Management listener, host:port or :port: /healthz, /readyz and /metrics move there (404 on the public port), and the public port serves intake only. Unset: everything on SERVER_ADDR, as in the seed."),
            new("TLS_CERT_FILE", "", "PEM certificate (chain) for HTTPS on SERVER_ADDR, with TLS_KEY_FILE; for development and small installs (in production a load balancer usually ends TLS). The management port (OPS_ADDR) stays HTTP. Needs SERVER_ADDR when ASPNETCORE_URLS or ASPNETCORE_HTTP_PORTS is set. A relative path is relative to the working directory, which under dotnet run --project is the project's folder: give absolute paths."),
            new("TLS_KEY_FILE", "", "PEM private key of TLS_CERT_FILE."),
            new("DEBUG_UI", "false", "true: a live event debugger at /debug on the management port (OPS_ADDR; without it, on the public port to clients on this machine only, not through a proxy): the last events as stored, and rejections, drops and refused requests with their reasons."),
            new("OUTPUTS", "log", "Comma-separated sinks every event goes to: log, kafka, postgres."),
            new("ACK_MODE", "memory", "memory: a 2xx means the event is in the bounded in-memory log (lost if the process dies). wal: a 2xx means it is fsynced to the write-ahead log in WAL_DIR; after a crash every sink gets it on the next start."),
            new("WAL_DIR", "<LOG_PATH's folder>/wal", "ACK_MODE=wal: folder of the write-ahead log's segments and the sinks' cursors. Give it a persistent volume in a container."),
            new("WAL_MAX_BYTES", "1G", "ACK_MODE=wal: disk the log may use (K, M, G suffixes); past it intake answers 503. At least 1M, two segments and four MAX_BODY_BYTES requests (checked whenever set). Replaces QUEUE_MAX_EVENTS and QUEUE_MAX_MB as the log's bound; QUEUE_MAX_MB still caps the Kafka producer's buffer."),
            new("WAL_SEGMENT_MB", "64", "ACK_MODE=wal: segment file size, 1 to 4096; a segment every sink has delivered is reused for a new one, or deleted."),
            new("BATCH_SIZE", "100", "Events per sink batch."),
            new("FLUSH_INTERVAL_MS", "250", "How long a sink waits to fill a batch before writing a partial one."),
            new("WORKER_CONCURRENCY", "4", "Batches in flight per sink (the NDJSON sink always uses 1, to keep lines in order)."),
            new("QUEUE_MAX_EVENTS", "100000", "ACK_MODE=memory: events the log holds at most, at least MAX_BATCH_EVENTS; when full, intake answers 503."),
            new("QUEUE_MAX_MB", "128", "ACK_MODE=memory: megabytes of event JSON the log holds at most, at least one MAX_BODY_BYTES request; when full, intake answers 503. In both modes also the most the Kafka producer buffers."),
            new("SINK_RETRY_BASE_MS", "100", "First delay before a failed batch is retried; doubles per attempt, with jitter."),
            new("SINK_RETRY_MAX_MS", "30000", "Cap on the delay between retries. A batch is retried until it succeeds, never skipped."),
            new("SINK_TIMEOUT_MS", "30000", "One write attempt is abandoned (and retried) after this long."),
            new("MAX_BODY_BYTES", "1048576", "Largest /collect or /v1/* body after decompression, 64 bytes to 256 MiB; larger answers 413."),
            new("MAX_BATCH_EVENTS", "500", "Most events in one /collect request; more answers 413."),
            new("RETRY_AFTER_SECONDS", "1", "The Retry-After a 503 carries."),
            new("READY_SINK_GRACE_MS", "60000", "How long a sink may fail (or be unreachable) before /readyz turns not ready; before that it shows as Degraded and the answer stays 200. A full log turns it not ready at once."),
            new("COOKIE_NAME", "gt_sid", "Name of the session cookie."),
            new("COOKIE_MAX_AGE", "0", "Session cookie lifetime in seconds, at most 400 days; 0 means until the browser session ends."),
            new("COOKIE_DOMAIN", "", "Domain attribute of the session cookie; empty means the host that served it."),
            new("SESSION_JOIN_WINDOW", "2s", "Requests without a cookie from one client address and user agent within one such time bucket get the same new session (a page's first requests leave together); 0 gives each its own random one; otherwise 100ms to 1m. Default 0 under IP_MODE=drop (no address to tell visitors apart: the join would merge them site-wide)."),
            new("WRITE_KEYS", "", "Accepted write keys, 'key:source,key2:source2' or '@/path/to/file' (one key:source per line). Set: /v1/* refuses a missing or unknown key with 401, the pixel and /collect take it as ?write_key= (or Basic auth), and each event records its source. Unset: intake is open. A key identifies a source; it is not a secret."),
            new("RATE_LIMIT_IP_PER_SEC", "0", "Events per second one client address may send (a second's worth may come at once); more answers 429 with Retry-After. 0: no limit."),
            new("RATE_LIMIT_KEY_PER_SEC", "0", "Events per second one write key may send; more answers 429 with Retry-After. 0: no limit. Set, it needs WRITE_KEYS (the start fails without it: without keys there is nothing to limit per key)."),
            new("TRACKER_PATH", IntakePaths.DefaultTrackerPath, "Path of the tracker script (cached an hour, ETag); it is also served at its hashed URL, /t.<hash>.js for /t.js, cached a year, immutable."),
            new("PIXEL_PATHS", "", "More paths the pixel answers at, comma-separated (/px.gif stays): names ad-block lists don't know. The tracker's last fallback uses the first."),
            new("COLLECT_PATHS", "", "More paths /collect answers at, comma-separated (/collect stays). The tracker sends to the first."),
            new("SHUTDOWN_TIMEOUT", "20s", "How long a stop may take (1s to 1h): finish requests, then deliver every accepted event."),
        ]),
        ("Privacy and enrichment", PrivacySettings.Docs),
        ("NDJSON log sink (OUTPUTS=log)",
        [
            new("LOG_PATH", "./data/events.ndjson", "The NDJSON file; one event per line."),
            new("LOG_ROTATE_MB", "100", "Rotate the file once it has reached this many megabytes (checked between batches)."),
            new("LOG_BACKUPS", "10", "Rotated files to keep; 0 keeps all."),
            new("LOG_MAX_AGE_DAYS", "30", "Delete rotated files older than this; 0 keeps them regardless of age."),
            new("LOG_FSYNC", "false", "fdatasync the file after every batch, and its folder after it is created or rotated. Under ACK_MODE=wal the file is synced anyway before the log saves the sink's cursor, so a power cut loses no line whose segment was freed."),
        ]),
        ("Kafka sink (OUTPUTS=kafka; read only then)", KafkaSettings.Docs),
        ("Postgres sink (OUTPUTS=postgres)", PostgresSettings.Docs),
        ("Telemetry",
        [
            new("OTEL_EXPORTER_OTLP_ENDPOINT", "", "Send logs, metrics and traces over OTLP (the Aspire dashboard sets this). /metrics serves Prometheus text regardless."),
            new("OTEL_SERVICE_NAME", "GoTrack.Ingest", "Service name in telemetry."),
        ]),
    ];

    /// <summary>Reads and validates every setting. The errors name the variable; an empty list means the options are good.</summary>
    public static IngestOptions Load(IConfiguration configuration, out IReadOnlyList<string> errors)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var r = new SettingsReader(configuration);
        var o = new IngestOptions();

        o.ServerAddress = ListenAddress.Resolve(configuration, r, DefaultServerAddress);
        o.Outputs = ParseOutputs(r);
        if (r.Raw("OPS_ADDR") is { } ops)
        {
            if (ListenAddress.ToUrl(ops) is null || ListenAddress.PortOf(ops) is null or 0)
            {
                r.Error("OPS_ADDR", $"must be host:port or :port with a port from 1 to 65535 (got '{ops}')");
            }
            else if (o.ServerAddress is { } server && ListenAddress.PortOf(server) == ListenAddress.PortOf(ops))
            {
                r.Error("OPS_ADDR", $"must use another port than SERVER_ADDR ({server})");
            }
            else
            {
                o.OpsAddress = ops;
            }
        }
        LoadTls(r, o);
        if (o.TlsCertificate is not null && o.ServerAddress is null && r.Raw("SERVER_ADDR") is null)
        {
            // ASP.NET's own settings (ASPNETCORE_URLS, ASPNETCORE_HTTP_PORTS: the image and the AppHost set them)
            // chose a plain-HTTP listener; serving it with a certificate loaded would look like TLS and not be.
            r.Error("TLS_CERT_FILE", "needs SERVER_ADDR (e.g. :19890), the listener HTTPS applies to; ASPNETCORE_URLS or ASPNETCORE_HTTP_PORTS name plain-HTTP listeners");
        }

        o.DebugUi = r.Bool("DEBUG_UI", false);
        o.AckMode = r.OneOf("ACK_MODE", "memory", "memory", "wal");

        o.Runner.BatchSize = r.Number("BATCH_SIZE", 100, 1, 100_000);
        o.Runner.FlushInterval = r.Milliseconds("FLUSH_INTERVAL_MS", 250, 0, 60_000);
        o.Runner.WorkerConcurrency = r.Number("WORKER_CONCURRENCY", 4, 1, 256);
        o.Runner.RetryBaseDelay = r.Milliseconds("SINK_RETRY_BASE_MS", 100, 1, 60_000);
        o.Runner.RetryMaxDelay = r.Milliseconds("SINK_RETRY_MAX_MS", 30_000, 1, 3_600_000);
        o.Runner.AttemptTimeout = r.Milliseconds("SINK_TIMEOUT_MS", 30_000, 10, 3_600_000);
        o.Runner.ShutdownTimeout = r.Duration("SHUTDOWN_TIMEOUT", TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(1), TimeSpan.FromHours(1));
        if (o.Runner.RetryMaxDelay < o.Runner.RetryBaseDelay)
        {
            r.Error("SINK_RETRY_MAX_MS", "must not be below SINK_RETRY_BASE_MS");
        }

        o.Log.MaxEvents = r.Number("QUEUE_MAX_EVENTS", 100_000, 1, 100_000_000);
        o.Log.MaxBytes = r.Number("QUEUE_MAX_MB", 128, 1, 1024 * 1024) * 1024L * 1024;
        o.MaxBodyBytes = r.Number("MAX_BODY_BYTES", 1024 * 1024, 64, 256 * 1024 * 1024);
        o.MaxBatchEvents = r.Number("MAX_BATCH_EVENTS", 500, 1, 100_000);
        o.RetryAfterSeconds = r.Number("RETRY_AFTER_SECONDS", 1, 1, 3600);
        o.ReadySinkGrace = r.Milliseconds("READY_SINK_GRACE_MS", 60_000, 0, 86_400_000);
        if (o.AckMode == "memory" && o.Log.MaxEvents < o.MaxBatchEvents)
        {
            // A /collect batch is stored whole or not at all: a log smaller than one batch refuses it forever.
            r.Error("QUEUE_MAX_EVENTS", $"must be at least MAX_BATCH_EVENTS ({o.MaxBatchEvents}), or a full /collect batch would answer 503 forever");
        }

        if (o.AckMode == "memory" && o.Log.MaxBytes < o.MaxBodyBytes)
        {
            // Under ACK_MODE=wal the disk log has its own bound (WAL_MAX_BYTES, checked below).
            r.Error("QUEUE_MAX_MB", "must hold at least one MAX_BODY_BYTES request");
        }

        PrivacySettings.Load(r, o.Privacy);

        o.Cookie.Name = r.Text("COOKIE_NAME", "gt_sid");
        if (o.Cookie.Name.AsSpan().ContainsAnyExcept(CookieNameChars) || o.Cookie.Name.Length > 64)
        {
            r.Error("COOKIE_NAME", $"must be 1 to 64 cookie token characters (got '{o.Cookie.Name}')");
        }

        o.Cookie.MaxAgeSeconds = r.Number("COOKIE_MAX_AGE", 0, 0, 400 * 24 * 3600);
        // Under IP_MODE=drop there is no address to tell visitors apart: the join would give one browser build's
        // concurrent first visits across the whole site one session, so it is off unless asked for.
        var joinDefault = o.Privacy.IpMode == Privacy.IpMode.Drop ? TimeSpan.Zero : TimeSpan.FromSeconds(2);
        o.Cookie.JoinWindow = r.Duration("SESSION_JOIN_WINDOW", joinDefault, TimeSpan.Zero, TimeSpan.FromMinutes(1));
        if (o.Cookie.JoinWindow > TimeSpan.Zero && o.Cookie.JoinWindow < TimeSpan.FromMilliseconds(100))
        {
            r.Error("SESSION_JOIN_WINDOW", "must be 0 (off) or between 100ms and 1m");
        }

        o.WriteKeys = Intake.WriteKeys.Parse(r.Raw("WRITE_KEYS"), out var keysError);
        if (keysError is not null)
        {
            r.Error("WRITE_KEYS", keysError);
        }

        o.RateLimitIpPerSecond = r.Number("RATE_LIMIT_IP_PER_SEC", 0, 0, 10_000_000);
        o.RateLimitKeyPerSecond = r.Number("RATE_LIMIT_KEY_PER_SEC", 0, 0, 10_000_000);
        if (o.RateLimitKeyPerSecond > 0 && !o.WriteKeys.Required)
        {
            r.Error("RATE_LIMIT_KEY_PER_SEC", "needs WRITE_KEYS: without keys there is nothing to limit per key");
        }

        o.Paths = IntakePaths.Load(r);

        o.Cookie.Domain = r.Raw("COOKIE_DOMAIN");
        if (o.Cookie.Domain is { } domain && (domain.AsSpan().ContainsAny(";, \t\"") || domain.Length > 253))
        {
            r.Error("COOKIE_DOMAIN", $"must be a domain name (got '{domain}')");
        }

        o.Ndjson.Path = r.Text("LOG_PATH", "./data/events.ndjson");
        o.Ndjson.RotateBytes = r.Number("LOG_ROTATE_MB", 100, 1, 1024 * 1024) * 1024L * 1024;
        o.Ndjson.Backups = r.Number("LOG_BACKUPS", 10, 0, 100_000);
        o.Ndjson.MaxAgeDays = r.Number("LOG_MAX_AGE_DAYS", 30, 0, 36_500);
        // Under wal the file is synced anyway before the log saves its cursor (IOutputSync), every 200 ms.
        o.Ndjson.Fsync = r.Bool("LOG_FSYNC", false);

        // WAL_* values are validated whenever they are set, and used with ACK_MODE=wal.
        var walDir = r.Text("WAL_DIR", Path.Combine(Path.GetDirectoryName(o.Ndjson.Path) is { Length: > 0 } logDir ? logDir : ".", "wal"));
        var segmentBytes = r.Number("WAL_SEGMENT_MB", 64, 1, 4096) * 1024L * 1024;
        var walMax = r.Size("WAL_MAX_BYTES", 1L << 30, 1L << 20, long.MaxValue / 2);
        if (walMax < 2 * segmentBytes)
        {
            r.Error("WAL_MAX_BYTES", $"must hold at least two segments of WAL_SEGMENT_MB ({segmentBytes / (1024 * 1024)} MB each)");
        }
        else if (walMax < 4L * o.MaxBodyBytes)
        {
            r.Error("WAL_MAX_BYTES", "must hold at least four MAX_BODY_BYTES requests");
        }

        if (o.AckMode == "wal")
        {
            o.Wal = new WalOptions { Directory = walDir, MaxBytes = walMax, SegmentBytes = segmentBytes };
        }

        if (o.Outputs.Contains(KafkaEventSink.SinkName))
        {
            o.Kafka = KafkaSettings.Load(r, "gotrack-ingest");

            o.Runner.Overrides[KafkaEventSink.SinkName] = new SinkOverrides { BatchSize = o.Kafka.SinkBatchSize };

            // librdkafka holds at most what the sink can have in flight, and those records are still in
            // the event log until acknowledged: its buffer is inside the log's bound, not beside it.
            o.Kafka.ProducerQueueMaxMessages = o.Runner.WorkerConcurrency * o.Kafka.SinkBatchSize;
            o.Kafka.ProducerQueueMaxKbytes = (int)Math.Min(int.MaxValue, o.Log.MaxBytes / 1024);
            if (o.Kafka.MessageTimeoutMs >= o.Runner.AttemptTimeout.TotalMilliseconds)
            {
                r.Error("KAFKA_MESSAGE_TIMEOUT_MS", $"must be below SINK_TIMEOUT_MS ({o.Runner.AttemptTimeout.TotalMilliseconds:0}), so a batch's every report is in before its attempt times out");
            }
        }

        // PG_* values are validated whenever they are set; PG_DSN is required only with OUTPUTS=postgres.
        var usesPostgres = o.Outputs.Contains(PostgresSink.SinkName);
        o.Postgres = PostgresSettings.Load(r, configuration, usesPostgres, Path.GetDirectoryName(o.Ndjson.Path) ?? "");
        if (usesPostgres)
        {
            o.Runner.Overrides[PostgresSink.SinkName] = new SinkOverrides
            {
                BatchSize = o.Postgres.BatchSize,
                FlushInterval = o.Postgres.FlushInterval,
                CircuitBreaker = SinkResilience.BatchSinkBreaker(o.Runner),
            };
        }

        errors = r.Errors;
        return o;
    }

    private static string[] ParseOutputs(SettingsReader r)
    {
        var raw = r.Text("OUTPUTS", NdjsonFileSink.SinkName);
        var outputs = new List<string>();
        foreach (var part in raw.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var name = part.ToLowerInvariant();
            if (!KnownOutputs.Contains(name))
            {
                r.Error("OUTPUTS", $"unknown output '{part}'; known: {string.Join(", ", KnownOutputs)}");
            }
            else if (!outputs.Contains(name))
            {
                outputs.Add(name);
            }
        }

        if (outputs.Count == 0 && r.Errors.Count == 0)
        {
            r.Error("OUTPUTS", "names no output; use log, kafka, postgres or a comma-separated list");
        }

        return [.. outputs];
    }

    /// <summary>The text of <c>--help</c>.</summary>
    public static string HelpText() => SettingsHelp.Render(
        """
        GoTrack.Ingest: tracking pixel and event collector.

        Usage: GoTrack.Ingest [--help]

        Endpoints: GET|HEAD /px.gif, POST /collect, GET /t.js (the tracker), POST /v1/* (Segment's API),
        GET /healthz, GET /readyz, GET /metrics.
        """,
        Docs);

    private static void LoadTls(SettingsReader r, IngestOptions o)
    {
        var cert = r.Raw("TLS_CERT_FILE");
        var key = r.Raw("TLS_KEY_FILE");
        if (cert is null && key is null)
        {
            return;
        }

        if (cert is null || key is null)
        {
            r.Error(cert is null ? "TLS_CERT_FILE" : "TLS_KEY_FILE", "TLS_CERT_FILE and TLS_KEY_FILE go together");
            return;
        }

        foreach (var (name, path) in new[] { ("TLS_CERT_FILE", cert), ("TLS_KEY_FILE", key) })
        {
            if (!File.Exists(path))
            {
                r.Error(name, $"file '{path}' does not exist");
                return;
            }
        }

        try
        {
            o.TlsCertificate = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(cert, key);
        }
        catch (System.Security.Cryptography.CryptographicException ex)
        {
            r.Error("TLS_CERT_FILE", $"'{cert}' with '{key}' is not a PEM certificate and its private key: {ex.Message}");
        }
    }
}
