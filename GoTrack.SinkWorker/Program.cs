using GoTrack.Core.Configuration;
using GoTrack.SinkWorker;
using Microsoft.Extensions.Options;

if (args.Contains("--help") || args.Contains("-h"))
{
    Console.Out.Write(SinkWorkerSettings.HelpText());
    return 0;
}

var builder = WebApplication.CreateSlimBuilder(args);
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
await app.RunAsync().ConfigureAwait(false);
return 0;
