using Aspire.Hosting.ApplicationModel;

namespace GoTrack.AppHost;

/// <summary>
/// Kafka UI (<c>kafbat/kafka-ui</c>) in a container, browsing the AppHost's Kafka containers: our stand-in
/// for the resource Aspire.Hosting.Kafka's <c>WithKafkaUI</c> adds.
/// </summary>
public sealed class KafkaUIContainerResource(string name) : ContainerResource(name);
