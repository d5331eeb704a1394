using Aspire.Hosting.ApplicationModel;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace GoTrack.AppHost;

public static class KafkaContainerExtensions
{
    private const int BrokerPort = 9092;
    private const int InternalPort = 9093;
    private const int KafkaUIPort = 8080;
    private const string DataPath = "/var/lib/kafka/data";

    /// <summary>
    /// Adds a single-node Kafka in KRaft mode (<c>confluentinc/confluent-local</c>, no ZooKeeper) with a
    /// listener for host processes and one for containers, advertised the way Aspire's own Kafka resource
    /// does, and a health check that asks the broker for metadata.
    /// </summary>
    public static IResourceBuilder<KafkaContainerResource> AddKafkaContainer(this IDistributedApplicationBuilder builder, [ResourceName] string name, int? port = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var kafka = new KafkaContainerResource(name);
        string? connectionString = null;
        builder.Eventing.Subscribe<ConnectionStringAvailableEvent>(kafka, async (_, ct) =>
            connectionString = await kafka.ConnectionStringExpression.GetValueAsync(ct).ConfigureAwait(false));

        var healthCheck = name + "_check";
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            healthCheck,
            _ => new BrokerMetadataCheck(() => connectionString),
            failureStatus: default,
            tags: default));

        return builder.AddResource(kafka)
            .WithEndpoint(targetPort: BrokerPort, port: port, name: KafkaContainerResource.PrimaryEndpointName)
            .WithEndpoint(targetPort: InternalPort, name: KafkaContainerResource.InternalEndpointName)
            .WithImage("confluentinc/confluent-local", "7.9.0")
            .WithImageRegistry("docker.io")
            .WithEnvironment(context => Configure(context, kafka))
            .WithHealthCheck(healthCheck);
    }

    /// <summary>
    /// Keeps the broker's log on a named volume: events Ingest had acknowledged, and SinkWorker not yet
    /// consumed, survive a restart of the container.
    /// </summary>
    public static IResourceBuilder<KafkaContainerResource> WithDataVolume(this IResourceBuilder<KafkaContainerResource> builder, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder
            .WithEnvironment("KAFKA_LOG_DIRS", DataPath)
            .WithVolume(name ?? VolumeNameGenerator.Generate(builder, "data"), DataPath);
    }

    /// <summary>
    /// Adds a Kafka UI container (<c>kafbat/kafka-ui</c>, the image Aspire's own <c>WithKafkaUI</c> uses) that
    /// browses every Kafka container of the AppHost over the container network. One UI serves them all, as
    /// Aspire's does: a second call configures the same container. It is a development tool, left out of
    /// the publish manifest.
    /// </summary>
    public static IResourceBuilder<KafkaContainerResource> WithKafkaUI(this IResourceBuilder<KafkaContainerResource> builder, Action<IResourceBuilder<KafkaUIContainerResource>>? configureContainer = null, string? containerName = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var app = builder.ApplicationBuilder;
        if (app.Resources.OfType<KafkaUIContainerResource>().SingleOrDefault() is { } existing)
        {
            configureContainer?.Invoke(app.CreateResourceBuilder(existing));
            return builder;
        }

        var ui = app.AddResource(new KafkaUIContainerResource(containerName ?? "kafka-ui"))
            .WithImage("kafbat/kafka-ui", "v1.2.0")
            .WithImageRegistry("docker.io")
            .WithHttpEndpoint(targetPort: KafkaUIPort)
            .WithEnvironment(context => ConfigureKafkaUI(context, app.Resources.OfType<KafkaContainerResource>()))
            .WithParentRelationship(builder)
            .ExcludeFromManifest();
        configureContainer?.Invoke(ui);
        return builder;
    }

    private static void ConfigureKafkaUI(EnvironmentCallbackContext context, IEnumerable<KafkaContainerResource> clusters)
    {
        var index = 0;
        foreach (var kafka in clusters)
        {
            // The UI is a container: it reaches each broker on its internal listener, which advertises the
            // resource's name on the container network (see Configure), never on the host's port.
            var inner = kafka.InternalEndpoint;
            context.EnvironmentVariables[$"KAFKA_CLUSTERS_{index}_NAME"] = kafka.Name;
            context.EnvironmentVariables[$"KAFKA_CLUSTERS_{index}_BOOTSTRAPSERVERS"] = context.ExecutionContext.IsRunMode
                ? ReferenceExpression.Create($"{kafka.Name}:{inner.Property(EndpointProperty.TargetPort)}")
                : ReferenceExpression.Create($"{inner.Property(EndpointProperty.HostAndPort)}");
            index++;
        }
    }

    private static void Configure(EnvironmentCallbackContext context, KafkaContainerResource kafka)
    {
        // confluent-local starts a KRaft broker with its own defaults; these add a host listener and an
        // internal one (container to broker) beside the image's PLAINTEXT and CONTROLLER listeners.
        context.EnvironmentVariables["KAFKA_LISTENERS"] =
            $"PLAINTEXT://localhost:29092,CONTROLLER://localhost:29093,PLAINTEXT_HOST://0.0.0.0:{BrokerPort},PLAINTEXT_INTERNAL://0.0.0.0:{InternalPort}";
        context.EnvironmentVariables["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"] =
            "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,PLAINTEXT_HOST:PLAINTEXT,PLAINTEXT_INTERNAL:PLAINTEXT";
        var primary = kafka.PrimaryEndpoint;
        var inner = kafka.InternalEndpoint;
        context.EnvironmentVariables["KAFKA_ADVERTISED_LISTENERS"] = context.ExecutionContext.IsRunMode
            ? ReferenceExpression.Create($"PLAINTEXT://localhost:29092,PLAINTEXT_HOST://localhost:{primary.Property(EndpointProperty.Port)},PLAINTEXT_INTERNAL://{kafka.Name}:{inner.Property(EndpointProperty.TargetPort)}")
            : ReferenceExpression.Create($"PLAINTEXT://{primary.Property(EndpointProperty.Host)}:29092,PLAINTEXT_HOST://{primary.Property(EndpointProperty.HostAndPort)},PLAINTEXT_INTERNAL://{inner.Property(EndpointProperty.HostAndPort)}");
    }

    /// <summary>Healthy once the broker answers a metadata request within 2 s.</summary>
    private sealed class BrokerMetadataCheck(Func<string?> connectionString) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            if (connectionString() is not { } servers)
            {
                return HealthCheckResult.Unhealthy("no connection string yet");
            }

            try
            {
                using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = servers }).Build();
                var metadata = await Task.Run(() => admin.GetMetadata(TimeSpan.FromSeconds(2)), cancellationToken).ConfigureAwait(false);
                return metadata.Brokers.Count > 0 ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("no broker in metadata");
            }
            catch (KafkaException e)
            {
                return HealthCheckResult.Unhealthy(e.Error.Reason);
            }
        }
    }
}
