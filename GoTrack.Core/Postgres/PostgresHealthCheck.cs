using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace GoTrack.Core.Postgres;

/// <summary>Readiness for Postgres: <c>SELECT 1</c> within PG_HEALTH_TIMEOUT_MS. Used by Ingest's postgres sink and by SinkWorker.</summary>
public sealed class PostgresHealthCheck(PostgresEventWriter writer) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        ProbeAsync(writer, cancellationToken);

    public static async Task<HealthCheckResult> ProbeAsync(PostgresEventWriter writer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var target = $"table {writer.Options.Table}";
        try
        {
            await writer.PingAsync(cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy(target);
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or OperationCanceledException or TimeoutException or System.Net.Sockets.SocketException)
        {
            // Health answers carry no exception text, host or connection string: the error's kind only.
            var reason = ex switch
            {
                OperationCanceledException when !cancellationToken.IsCancellationRequested => $"no answer to SELECT 1 within {writer.Options.HealthTimeout.TotalMilliseconds:0} ms",
                Npgsql.PostgresException pg => "SQLSTATE " + pg.SqlState,
                _ => ex.GetType().Name,
            };
            return HealthCheckResult.Unhealthy($"{target}: Postgres unreachable ({reason})");
        }
    }
}
