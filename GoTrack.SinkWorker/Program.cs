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
    await Console.Error.WriteLineAsync("GoTrack.SinkWorker: configuration error(s):").ConfigureAwait(false);
    foreach (var failure in ex.Failures)
    {
        await Console.Error.WriteLineAsync("  " + failure).ConfigureAwait(false);
    }

    await Console.Error.WriteLineAsync("Run with --help for every variable and its default.").ConfigureAwait(false);
    return 2;
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
