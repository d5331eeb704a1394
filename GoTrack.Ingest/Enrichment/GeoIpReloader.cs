using MaxMind.Db;

namespace GoTrack.Ingest.Enrichment;

/// <summary>
/// Polls GEOIP_DB every GEOIP_RELOAD_INTERVAL and reloads it when its modification time or size changed.
/// Polling, not FileSystemWatcher: watchers miss changes on network and container-mounted volumes and
/// fire mid-write, while a poll of one file's metadata is cheap and sees every way the file can be replaced.
/// </summary>
public sealed partial class GeoIpReloader(GeoIpLookup lookup, TimeSpan interval, TimeProvider time, ILogger<GeoIpReloader> logger) : BackgroundService
{
    private PeriodicTimer? _timer;

    /// <summary>The first interval counts from the start of the host, not from whenever ExecuteAsync gets a thread.</summary>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        _timer = new PeriodicTimer(interval, time);
        return base.StartAsync(cancellationToken);
    }

    public override void Dispose()
    {
        _timer?.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var timer = _timer ?? throw new InvalidOperationException("StartAsync creates the timer");
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                Check();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private long _errorsLogged;

    /// <summary>One poll; public so that tests can drive it.</summary>
    public bool Check()
    {
        var errors = lookup.LookupErrors;
        if (errors > _errorsLogged)
        {
            LogLookupErrors(lookup.Path, errors - _errorsLogged, errors);
            _errorsLogged = errors;
        }

        try
        {
            if (lookup.ReloadIfChanged())
            {
                LogReloaded(lookup.Path, lookup.DatabaseType, lookup.BuildDate);
                return true;
            }
        }
        catch (Exception ex) when (ex is InvalidDatabaseException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            LogReloadFailed(lookup.Path, ex.Message);
        }

        return false;
    }

    [LoggerMessage(1, LogLevel.Information, "GeoIP database {Path} reloaded: {DatabaseType} built {BuildDate:u}")]
    private partial void LogReloaded(string path, string databaseType, DateTime buildDate);

    [LoggerMessage(2, LogLevel.Warning, "GeoIP database {Path} changed but could not be opened; the previous one stays in service: {Reason}")]
    private partial void LogReloadFailed(string path, string reason);

    [LoggerMessage(3, LogLevel.Warning, "GeoIP database {Path}: {Count} lookups could not read their record and were stored without a location ({Total} since start)")]
    private partial void LogLookupErrors(string path, long count, long total);
}
