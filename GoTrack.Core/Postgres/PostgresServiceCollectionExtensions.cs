using GoTrack.Core.Sinks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace GoTrack.Core.Postgres;

public static class PostgresServiceCollectionExtensions
{
    /// <summary>
    /// Registers the <see cref="NpgsqlDataSource"/> built from the validated options, and the
    /// <see cref="PostgresEventWriter"/> over it: what every service that writes events to Postgres needs.
    /// </summary>
    /// <remarks>
    /// The data source is built here rather than by Aspire.Npgsql's AddNpgsqlDataSource, because PG_DSN
    /// (in its URI form too) comes first and ConnectionStrings:analytics is only its fallback; both are
    /// already resolved into <see cref="PostgresOptions.ConnectionString"/>.
    /// </remarks>
    public static IServiceCollection AddPostgresEventWriter(this IServiceCollection services, PostgresOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        services.AddSingleton(options);
        services.TryAddSingleton(sp => BuildDataSource(options.ConnectionString, sp.GetRequiredService<ILoggerFactory>()));
        services.TryAddSingleton(sp => new PostgresEventWriter(sp.GetRequiredService<NpgsqlDataSource>(), options));
        return services;
    }

    /// <summary>
    /// The data source the writer is meant to run on. A pooled connection keeps its session when it goes
    /// back to the pool (No Reset On Close), so its temporary staging table and its prepared statements
    /// (Max Auto Prepare) serve every batch instead of being made again per batch. GoTrack sets no other
    /// session state, so there is nothing else a reset would have undone.
    /// </summary>
    public static NpgsqlDataSource BuildDataSource(string connectionString, ILoggerFactory? loggerFactory = null)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        builder.ConnectionStringBuilder.NoResetOnClose = true;
        if (builder.ConnectionStringBuilder.MaxAutoPrepare == 0)
        {
            builder.ConnectionStringBuilder.MaxAutoPrepare = 16;
        }

        if (loggerFactory is not null)
        {
            builder.UseLoggerFactory(loggerFactory);
        }

        return builder.Build();
    }

    /// <summary>The writer, plus the <c>postgres</c> <see cref="IEventSink"/> and its dead-letter file.</summary>
    public static IServiceCollection AddPostgresEventSink(this IServiceCollection services, PostgresOptions options)
    {
        services.AddPostgresEventWriter(options);
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(sp => new PostgresSink(
            sp.GetRequiredService<PostgresEventWriter>(),
            new DeadLetterFile(options.DeadLetterPath, sp.GetRequiredService<TimeProvider>()),
            sp.GetRequiredService<Telemetry.GoTrackMetrics>(),
            sp.GetRequiredService<ILogger<PostgresSink>>()));
        services.AddSingleton<IEventSink>(sp => sp.GetRequiredService<PostgresSink>());
        return services;
    }
}
