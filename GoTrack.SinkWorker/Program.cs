using GoTrack.Core.Configuration;
using GoTrack.SinkWorker;
using Microsoft.Extensions.Options;

if (args.Contains("--help") || args.Contains("-h"))
{
    Console.Out.Write(SinkWorkerSettings.HelpText());
    return 0;
}

// appsettings.json is read once. Reloading on change watches the content root, and GoTrack writes its
// NDJSON file and write-ahead log there by default: every write would wake the file watcher (measured:
// a read, an lstat and a thread switch per WAL group commit).
var builder = WebApplication.CreateSlimBuilder(["--hostBuilder:reloadConfigOnChange=false", .. args]);
SinkWorkerOptions options;
try
{
    options = builder.AddGoTrackSinkWorker();
}
catch (OptionsValidationException ex)
{
    return await StartupErrors.ReportAsync(Console.Error, "GoTrack.SinkWorker", ex.Failures).ConfigureAwait(false);
}

builder.AddServiceDefaults(SinkWorkerHostingExtensions.TelemetryNames);
if (options.ServerAddress is { } address)
{
    builder.WebHost.UseUrls(ListenAddress.ToUrl(address)!);
}

builder.WebHost.ConfigureKestrel(k => k.AddServerHeader = false);
var app = builder.Build();
app.MapDefaultEndpoints();
return await StartupErrors.RunAsync(app, Console.Error, "GoTrack.SinkWorker", "SERVER_ADDR").ConfigureAwait(false) ?? 0;
