using Confluent.Kafka;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace GoTrack.Core.Kafka;

/// <summary>
/// Readiness for Kafka: a metadata request with a short timeout, over the connections of the client it
/// was built from. Not ready while no broker answers or the topic does not exist.
/// </summary>
public sealed class KafkaMetadataProbe(Func<IAdminClient> adminSource, string topic, TimeSpan timeout, IDisposable? owned = null) : IHealthCheck, IDisposable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(2);

    /// <summary>A probe over one admin client, which it owns.</summary>
    public KafkaMetadataProbe(IAdminClient admin, string topic, TimeSpan timeout)
        : this(() => admin, topic, timeout, admin)
    {
    }

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            // GetMetadata blocks for up to the timeout; keep it off the caller's thread.
            var metadata = await Task.Run(() => adminSource().GetMetadata(topic, timeout), cancellationToken).ConfigureAwait(false);
            if (metadata.Brokers.Count == 0)
            {
                return HealthCheckResult.Unhealthy("no Kafka broker answered");
            }

            var t = metadata.Topics.FirstOrDefault(x => x.Topic == topic);
            if (t is null || t.Error.IsError || t.Partitions.Count == 0)
            {
                var why = t?.Error.IsError == true ? t.Error.Code.ToString() : "no partitions";
                return HealthCheckResult.Unhealthy($"topic '{topic}' is not usable: {why}. Create it (see README) or set KAFKA_CREATE_TOPIC=true in development.");
            }

            return HealthCheckResult.Healthy($"{metadata.Brokers.Count} brokers; topic '{topic}' has {t.Partitions.Count} partitions");
        }
        catch (KafkaException e)
        {
            // The error's code only: its reason text can name brokers.
            return HealthCheckResult.Unhealthy("no Kafka broker answered within " + timeout.TotalSeconds + " s (" + e.Error.Code + ")");
        }
        catch (InvalidOperationException e)
        {
            // ObjectDisposedException among them: the admin client was taken just as the producer it shares
            // was replaced after a fatal error (or at shutdown). The next probe uses the new one. Type only.
            return HealthCheckResult.Unhealthy("the Kafka client was closed or being replaced (" + e.GetType().Name + ")");
        }
    }

    public void Dispose() => owned?.Dispose();
}
