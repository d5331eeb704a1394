using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace GoTrack.Tests.Unit;

/// <summary>
/// The service name telemetry carries: the --help text of both services says OTEL_SERVICE_NAME defaults to
/// the service's own name (GoTrack.Ingest, GoTrack.SinkWorker). Without a resource of our own the SDK named
/// it <c>unknown_service:&lt;process&gt;</c> wherever the Aspire AppHost did not set the variable: a
/// published binary or a container sending OTLP to a collector.
/// </summary>
public sealed class ServiceNameTests
{
    [Fact]
    public void Telemetry_is_named_after_the_service_when_OTEL_SERVICE_NAME_is_not_set()
    {
        Assert.Equal("GoTrack.Ingest", ServiceName(null));
    }

    [Fact]
    public void OTEL_SERVICE_NAME_still_names_it_when_set()
    {
        Assert.Equal("collector-eu-1", ServiceName("collector-eu-1"));
    }

    private static string? ServiceName(string? configured)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            ApplicationName = "GoTrack.Ingest",
            Configuration = new Microsoft.Extensions.Configuration.ConfigurationManager(),
        });
        if (configured is not null)
        {
            builder.Configuration["OTEL_SERVICE_NAME"] = configured;
        }

        builder.AddServiceDefaults();
        using var host = builder.Build();
        var resource = host.Services.GetRequiredService<MeterProvider>().GetResource();
        return resource.Attributes.FirstOrDefault(a => a.Key == "service.name").Value as string;
    }
}
