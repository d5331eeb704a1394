using GoTrack.Core.Configuration;
using GoTrack.Ingest;
using GoTrack.Ingest.Configuration;
using Microsoft.Extensions.Options;

if (args.Contains("--help") || args.Contains("-h"))
{
    Console.Out.Write(IngestSettings.HelpText());
    return 0;
}

// appsettings.json is read once. Reloading on change watches the content root, and GoTrack writes its
// NDJSON file and write-ahead log there by default: every write would wake the file watcher (measured:
// a read, an lstat and a thread switch per WAL group commit).
var builder = WebApplication.CreateSlimBuilder(["--hostBuilder:reloadConfigOnChange=false", .. args]);
IngestOptions options;
try
{
    options = builder.AddGoTrackIngest();
}
catch (OptionsValidationException ex)
{
    return await StartupErrors.ReportAsync(Console.Error, "GoTrack.Ingest", ex.Failures).ConfigureAwait(false);
}

ThreadPoolSpin.ForAckMode(options.AckMode);

builder.AddServiceDefaults(IngestServiceCollectionExtensions.TelemetryNames);
if (ListenAddress.Urls(builder.Configuration, options.ServerAddress, options.OpsAddress) is { Length: > 0 } urls)
{
    if (options.TlsCertificate is not null && options.ServerAddress is not null)
    {
        // TLS_CERT_FILE: the public listener (SERVER_ADDR, the first URL) speaks HTTPS; OPS_ADDR stays HTTP for probes.
        urls[0] = "https://" + urls[0]["http://".Length..];
    }

    if (options.TlsCertificate is not null)
    {
        builder.WebHost.UseKestrelHttpsConfiguration(); // the slim builder leaves HTTPS out unless asked
    }

    builder.WebHost.UseUrls(urls);
}

builder.WebHost.ConfigureKestrel(k =>
{
    k.AddServerHeader = false;
    k.Limits.MaxRequestBodySize = options.MaxBodyBytes;
    if (options.TlsCertificate is { } certificate)
    {
        k.ConfigureHttpsDefaults(https => https.ServerCertificate = certificate);
    }
});

var app = builder.Build();
if (options.OpsPort is { } opsPort)
{
    app.UseOperationsPort(opsPort, IngestServiceCollectionExtensions.OperationsPaths);
}

app.MapGoTrackIngest();
app.MapDefaultEndpoints();
if (await StartupErrors.RunAsync(app, Console.Error, "GoTrack.Ingest", "SERVER_ADDR (or OPS_ADDR)").ConfigureAwait(false) is { } refused)
{
    return refused;
}

return Environment.ExitCode;

/// <summary>The entry point, visible to WebApplicationFactory.</summary>
public partial class Program;
