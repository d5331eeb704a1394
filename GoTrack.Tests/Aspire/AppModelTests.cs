extern alias apphost;

using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Postgres;
using Aspire.Hosting.Testing;
using KafkaUIContainerResource = apphost::GoTrack.AppHost.KafkaUIContainerResource;
using TestEventCommand = apphost::GoTrack.AppHost.TestEventCommand;

namespace GoTrack.Tests.Aspire;

/// <summary>
/// The AppHost's run-mode model, built by its own Program with Aspire.Hosting.Testing and never started
/// (no Docker here): what F5 would run. The browser containers are development tools, so the publish
/// manifest leaves them out and these tests read the model instead.
/// </summary>
public sealed class AppModelTests
{
    private static async Task<IDistributedApplicationTestingBuilder> ModelAsync(params string[] args) =>
        await DistributedApplicationTestingBuilder.CreateAsync<apphost::Projects.GoTrack_AppHost>(args);

    /// <summary>A resource's environment as run mode builds it: strings and unevaluated expressions.</summary>
    private static async Task<Dictionary<string, object>> RunEnvironmentAsync(IResource resource)
    {
        var context = new EnvironmentCallbackContext(new DistributedApplicationExecutionContext(DistributedApplicationOperation.Run));
        foreach (var callback in resource.Annotations.OfType<EnvironmentCallbackAnnotation>())
        {
            await callback.Callback(context);
        }

        return context.EnvironmentVariables;
    }

    private static async Task<string?> ValueAsync(object value) =>
        value as string ?? await ((IValueProvider)value).GetValueAsync();

    [Fact]
    public async Task With_containers_Kafka_has_Kafka_UI_on_its_internal_listener_and_Postgres_has_pgweb()
    {
        await using var builder = await ModelAsync();
        var kafka = builder.Resources.Single(r => r.Name == "kafka");
        var postgres = builder.Resources.Single(r => r.Name == "postgres");

        var ui = Assert.Single(builder.Resources.OfType<KafkaUIContainerResource>());
        Assert.Equal("kafka-ui", ui.Name);
        var uiImage = Assert.Single(ui.Annotations.OfType<ContainerImageAnnotation>());
        Assert.Equal(("docker.io", "kafbat/kafka-ui"), (uiImage.Registry, uiImage.Image));
        Assert.Equal(8080, Assert.Single(ui.Annotations.OfType<EndpointAnnotation>()).TargetPort);
        Assert.Contains(ui.Annotations.OfType<ResourceRelationshipAnnotation>(), r => r.Resource == kafka && r.Type == "Parent");
        Assert.Contains(ui.Annotations, a => a is ManifestPublishingCallbackAnnotation { Callback: null });

        // The UI is a container: it reaches the broker by its name on the container network, on the internal
        // listener that the broker advertises as kafka:9093, never on the host's port.
        var env = await RunEnvironmentAsync(ui);
        Assert.Equal("kafka", await ValueAsync(env["KAFKA_CLUSTERS_0_NAME"]));
        Assert.Equal("kafka:9093", await ValueAsync(env["KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS"]));
        Assert.False(env.ContainsKey("KAFKA_CLUSTERS_1_NAME"));

        // The broker's run-mode listeners also name its host port, which exists only once DCP allocates it;
        // the internal one, which the UI uses, does not depend on it.
        var listeners = (ReferenceExpression)(await RunEnvironmentAsync(kafka))["KAFKA_ADVERTISED_LISTENERS"];
        Assert.Contains("PLAINTEXT_INTERNAL://kafka:{kafka.bindings.internal.targetPort}", listeners.ValueExpression, StringComparison.Ordinal);

        var pgweb = Assert.Single(builder.Resources.OfType<PgWebContainerResource>());
        Assert.Equal("pgweb", pgweb.Name);
        Assert.Equal("sosedoff/pgweb", Assert.Single(pgweb.Annotations.OfType<ContainerImageAnnotation>()).Image);
        Assert.Contains(pgweb.Annotations.OfType<ResourceRelationshipAnnotation>(), r => r.Resource == postgres);
        Assert.Contains(pgweb.Annotations, a => a is ManifestPublishingCallbackAnnotation { Callback: null });

        AssertTestEventCommand(builder);
    }

    [Fact]
    public async Task With_connection_strings_there_are_no_browser_containers()
    {
        await using var builder = await ModelAsync(
            "--ConnectionStrings:kafka=broker:9092",
            "--ConnectionStrings:analytics=Host=db;Database=analytics");
        Assert.Empty(builder.Resources.OfType<ContainerResource>());
        AssertTestEventCommand(builder);
    }

    private static void AssertTestEventCommand(IDistributedApplicationTestingBuilder builder)
    {
        var ingest = builder.Resources.Single(r => r.Name == "ingest");
        var command = Assert.Single(ingest.Annotations.OfType<ResourceCommandAnnotation>(), c => c.Name == TestEventCommand.Name);
        Assert.Equal("Send test event", command.DisplayName);
    }
}
