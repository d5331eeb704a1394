using Npgsql;

namespace GoTrack.Tests.Postgres;

/// <summary>A fresh database on the shared cluster for one test class (use as <c>IClassFixture</c>).</summary>
public sealed class PostgresDatabase : IAsyncLifetime
{
    private NpgsqlDataSource? _dataSource;

    public PostgresServer Server { get; private set; } = null!;

    public string Name { get; private set; } = "";

    public string ConnectionString => Server.ConnectionString(Name);

    /// <summary>For the test's own queries; not the one under test.</summary>
    public NpgsqlDataSource DataSource => _dataSource ??= NpgsqlDataSource.Create(ConnectionString);

    public async Task InitializeAsync()
    {
        Server = await PostgresServer.Shared;
        Name = await Server.CreateDatabaseAsync("gt");
    }

    public async Task DisposeAsync()
    {
        if (_dataSource is not null)
        {
            await _dataSource.DisposeAsync();
        }

        await Server.DropDatabaseAsync(Name);
    }

    public Task<T> ScalarAsync<T>(string sql) => Sql.ScalarAsync<T>(DataSource, sql);
}
