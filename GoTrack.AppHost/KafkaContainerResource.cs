using Aspire.Hosting.ApplicationModel;

namespace GoTrack.AppHost;

/// <summary>
/// A Kafka broker in a container: our small stand-in for Aspire.Hosting.Kafka, which is not available to
/// us. Host processes connect on the <c>tcp</c> endpoint; other containers on the <c>internal</c> one.
/// The connection string is <c>host:port</c>, as Aspire's own Kafka resource gives.
/// </summary>
public sealed class KafkaContainerResource(string name) : ContainerResource(name), IResourceWithConnectionString
{
    internal const string PrimaryEndpointName = "tcp";
    internal const string InternalEndpointName = "internal";

    private EndpointReference? _primary;
    private EndpointReference? _internal;

    /// <summary>The endpoint host processes (Ingest, SinkWorker, tests) use.</summary>
    public EndpointReference PrimaryEndpoint => _primary ??= new(this, PrimaryEndpointName);

    /// <summary>The endpoint other containers use, over the container network.</summary>
    public EndpointReference InternalEndpoint => _internal ??= new(this, InternalEndpointName);

    public ReferenceExpression ConnectionStringExpression =>
        ReferenceExpression.Create($"{PrimaryEndpoint.Property(EndpointProperty.HostAndPort)}");
}
