using GoTrack.Core.Sinks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace GoTrack.Core.Postgres;

public static class PostgresServiceCollectionExtensions
{
    /// <summary>The connection name under the AppHost (<c>ConnectionStrings:analytics</c>).</summary>
    public const string ConnectionName = "analytics";

    /// <summary>
    /// Registers the <see cref="NpgsqlDataSource"/> with Aspire.Npgsql's <c>AddNpgsqlDataSource</c> (its
    /// tracing, metrics and logging), and the <see cref="PostgresEventWriter"/> over it. PG_DSN comes first
    /// (in its URI form too) and ConnectionStrings:analytics is its fallback; both are already resolved into
    /// <see cref="PostgresOptions.ConnectionString"/>, which is handed to the settings callback. Aspire's
    /// own health check is off: readiness uses <see cref="PostgresHealthCheck"/>, which has
    /// PG_HEALTH_TIMEOUT_MS and says nothing of the server in its answer.
    /// </summary>
    public static IHostApplicationBuilder AddPostgresEventWriter(this IHostApplicationBuilder builder, PostgresOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        builder.AddNpgsqlDataSource(
            ConnectionName,
            settings =>
            {
                settings.ConnectionString = options.ConnectionString;
                settings.DisableHealthChecks = true;
            },
            ConfigureDataSource);
        builder.Services.AddSingleton(options);
        builder.Services.TryAddSingleton(sp => new PostgresEventWriter(sp.GetRequiredService<NpgsqlDataSource>(), options, stagePerConnection: true));
        return builder;
    }

    /// <summary>
    /// The data source the writer is meant to run on, for code without a host (benchmarks, tools):
    /// the same settings as <see cref="AddPostgresEventWriter"/>.
    /// </summary>
    public static NpgsqlDataSource BuildDataSource(string connectionString, ILoggerFactory? loggerFactory = null)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        ConfigureDataSource(builder);
        if (loggerFactory is not null)
        {
            builder.UseLoggerFactory(loggerFactory);
        }

        return builder.Build();
    }

    /// <summary>
    /// A pooled connection keeps its session when it goes back to the pool (No Reset On Close), so its
    /// prepared statements (Max Auto Prepare) serve every batch, and the temporary staging table is made
    /// once, when the physical connection opens, instead of once per batch. GoTrack sets no other session
    /// state, so there is nothing else a reset would have undone.
    /// </summary>
    public static void ConfigureDataSource(NpgsqlDataSourceBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.ConnectionStringBuilder.NoResetOnClose = true;
        if (builder.ConnectionStringBuilder.MaxAutoPrepare == 0)
        {
            builder.ConnectionStringBuilder.MaxAutoPrepare = 16;
        }

        builder.UsePhysicalConnectionInitializer(
            connection =>
            {
                using var create = new NpgsqlCommand(PostgresEventWriter.CreateStageSql, connection);
                create.ExecuteNonQuery();
            },
            async connection =>
            {
                var create = new NpgsqlCommand(PostgresEventWriter.CreateStageSql, connection);
                await using (create.ConfigureAwait(false))
                {
                    await create.ExecuteNonQueryAsync().ConfigureAwait(false);
                }
            });
    }

    /// <summary>The writer, plus the <c>postgres</c> <see cref="IEventSink"/> and its dead-letter file.</summary>
    public static IHostApplicationBuilder AddPostgresEventSink(this IHostApplicationBuilder builder, PostgresOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddPostgresEventWriter(options);
        AddSink(builder.Services, options);
        return builder;
    }

    /// <summary>The sink over a writer and data source registered by the caller (tests without a host).</summary>
    public static IServiceCollection AddPostgresEventSink(this IServiceCollection services, PostgresOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        services.AddSingleton(options);
        services.TryAddSingleton(sp => BuildDataSource(options.ConnectionString, sp.GetRequiredService<ILoggerFactory>()));
        services.TryAddSingleton(sp => new PostgresEventWriter(sp.GetRequiredService<NpgsqlDataSource>(), options, stagePerConnection: true));
        AddSink(services, options);
        return services;
    }

    private static void AddSink(IServiceCollection services, PostgresOptions options)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(sp => new PostgresSink(
            sp.GetRequiredService<PostgresEventWriter>(),
            new DeadLetterFile(options.DeadLetterPath, sp.GetRequiredService<TimeProvider>()),
            sp.GetRequiredService<Telemetry.GoTrackMetrics>(),
            sp.GetRequiredService<ILogger<PostgresSink>>()));
        services.AddSingleton<IEventSink>(sp => sp.GetRequiredService<PostgresSink>());
    }
}
