using GoTrack.Core.Kafka;
using GoTrack.Core.Postgres;
using GoTrack.Core.Queue;
using GoTrack.Core.Sinks;

namespace GoTrack.Ingest.Configuration;

/// <summary>Everything GoTrack.Ingest reads from its settings, already validated (see <see cref="IngestSettings"/>).</summary>
public sealed class IngestOptions
{
    /// <summary>SERVER_ADDR as given, or null when ASP.NET's own URL settings (the AppHost's) decide.</summary>
    public string? ServerAddress { get; set; }

    /// <summary>OPS_ADDR: the management listener for /healthz, /readyz and /metrics; null keeps them on the public port.</summary>
    public string? OpsAddress { get; set; }

    public int? OpsPort => OpsAddress is null ? null : Core.Configuration.ListenAddress.PortOf(OpsAddress);

    /// <summary>OUTPUTS, in the order given, without duplicates.</summary>
    public IReadOnlyList<string> Outputs { get; set; } = [NdjsonFileSink.SinkName];

    public string AckMode { get; set; } = "memory";

    public EventLogOptions Log { get; } = new();

    /// <summary>The write-ahead log's settings; null unless ACK_MODE=wal.</summary>
    public Core.Queue.Wal.WalOptions? Wal { get; set; }

    public SinkRunnerOptions Runner { get; } = new();

    public NdjsonSinkOptions Ndjson { get; } = new();

    /// <summary>The kafka sink's settings; null unless OUTPUTS names kafka.</summary>
    public KafkaOptions? Kafka { get; set; }
    /// <summary>The PG_* settings; used when OUTPUTS has postgres.</summary>
    public PostgresOptions Postgres { get; set; } = new();

    public int MaxBodyBytes { get; set; } = 1024 * 1024;

    public int MaxBatchEvents { get; set; } = 500;

    /// <summary>Client IP, IP_MODE, opt-outs, bots, cookies, GeoIP and CORS.</summary>
    public Privacy.PrivacyOptions Privacy { get; } = new();

    public int RetryAfterSeconds { get; set; } = 1;

    /// <summary>READY_SINK_GRACE_MS: how long a sink may fail before /readyz turns not ready.</summary>
    public TimeSpan ReadySinkGrace { get; set; } = TimeSpan.FromSeconds(60);

    public CookieSettings Cookie { get; } = new();

    /// <summary>TLS_CERT_FILE and TLS_KEY_FILE, loaded at start: the public listener serves HTTPS with it; null serves HTTP.</summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2? TlsCertificate { get; set; }

    /// <summary>DEBUG_UI: the live event debugger at /debug on the management port.</summary>
    public bool DebugUi { get; set; }

    /// <summary>WRITE_KEYS: the accepted write keys and their sources; <see cref="Intake.WriteKeys.None"/> leaves intake open.</summary>
    public Intake.WriteKeys WriteKeys { get; set; } = Intake.WriteKeys.None;

    /// <summary>RATE_LIMIT_IP_PER_SEC: events per second per client address; 0 is no limit.</summary>
    public int RateLimitIpPerSecond { get; set; }

    /// <summary>RATE_LIMIT_KEY_PER_SEC: events per second per write key; 0 is no limit.</summary>
    public int RateLimitKeyPerSecond { get; set; }

    /// <summary>TRACKER_PATH, PIXEL_PATHS and COLLECT_PATHS.</summary>
    public IntakePaths Paths { get; set; } = new();
}

public sealed class CookieSettings
{
    public string Name { get; set; } = "gt_sid";

    /// <summary>COOKIE_MAX_AGE in seconds; 0 makes it a browser-session cookie.</summary>
    public int MaxAgeSeconds { get; set; }

    public string? Domain { get; set; }

    /// <summary>SESSION_JOIN_WINDOW: requests without a cookie from one address and user agent in one such bucket get one new session; zero draws each at random.</summary>
    public TimeSpan JoinWindow { get; set; } = TimeSpan.FromSeconds(2);
}
