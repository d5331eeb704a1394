using System.Text.Json.Nodes;
using GoTrack.Core.Postgres;
using Npgsql;
using Record = GoTrack.Core.Events.Record;

namespace GoTrack.Tests.Postgres;

public sealed class PostgresWriterTests(PostgresDatabase db) : IClassFixture<PostgresDatabase>, IDisposable
{
    private readonly List<PostgresEventWriter> _writers = [];
    private readonly List<NpgsqlDataSource> _sources = [];

    private PostgresEventWriter Writer(bool copy, string table)
    {
        Assert.True(PgTableName.TryParse(table, out var name, out var error), error);
        var source = NpgsqlDataSource.Create(db.ConnectionString);
        _sources.Add(source);
        var writer = new PostgresEventWriter(source, new PostgresOptions { UseCopy = copy, Table = name });
        _writers.Add(writer);
        return writer;
    }

    private static string Table(string prefix) => prefix + "_" + Guid.NewGuid().ToString("N")[..8];

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Both_paths_store_every_row_with_its_ts_and_the_event_json(bool copy)
    {
        var table = Table(copy ? "copy" : "values");
        var writer = Writer(copy, table);
        var rows = Rows.Many(50);
        Assert.Equal(50, await writer.WriteAsync(rows, default));

        var stored = await Sql.RowsAsync(db.DataSource, $"SELECT event_id, ts, payload::text FROM {table} ORDER BY id");
        Assert.Equal(rows.Length, stored.Count);
        for (var i = 0; i < rows.Length; i++)
        {
            Assert.Equal(rows[i].EventId, (Guid)stored[i][0]!);
            Assert.Equal(rows[i].Timestamp.UtcDateTime, (DateTime)stored[i][1]!);
            Assert.True(JsonNode.DeepEquals(JsonNode.Parse(rows[i].Json), JsonNode.Parse((string)stored[i][2]!)));
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_duplicate_inside_one_batch_neither_fails_it_nor_doubles_a_row(bool copy)
    {
        var table = Table("dup");
        var writer = Writer(copy, table);
        var rows = Rows.Many(20);
        Record[] batch = [.. rows, .. rows.Take(5), rows[3]];
        Assert.Equal(20, await writer.WriteAsync(batch, default));
        Assert.Equal(20L, await db.ScalarAsync<long>($"SELECT count(*) FROM {table}"));
        Assert.Equal(rows.Select(r => r.EventId).ToHashSet(), await Sql.EventIdsAsync(db.DataSource, table));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_retried_or_overlapping_batch_adds_only_the_new_rows(bool copy)
    {
        var table = Table("retry");
        var writer = Writer(copy, table);
        var rows = Rows.Many(30);
        Assert.Equal(20, await writer.WriteAsync(rows.AsMemory(0, 20), default));
        Assert.Equal(0, await writer.WriteAsync(rows.AsMemory(0, 20), default));
        Assert.Equal(10, await writer.WriteAsync(rows.AsMemory(10, 20), default));
        Assert.Equal(30L, await db.ScalarAsync<long>($"SELECT count(*) FROM {table}"));
        Assert.Equal(30L, await db.ScalarAsync<long>($"SELECT count(DISTINCT event_id) FROM {table}"));
    }

    /// <summary>
    /// PG_COPY: a batch with no stored event_id goes straight into the table (one COPY); only one that
    /// meets a stored event_id, or carries one twice, is written again through the staging table, and the
    /// failed attempt leaves nothing behind.
    /// </summary>
    [Fact]
    public async Task A_fresh_batch_is_copied_straight_in_and_only_a_duplicate_takes_the_staging_way()
    {
        var table = Table("direct");
        var writer = Writer(copy: true, table);
        var rows = Rows.Many(60);
        Assert.Equal(20, await writer.WriteAsync(rows.AsMemory(0, 20), default));
        Assert.Equal(20, await writer.WriteAsync(rows.AsMemory(20, 20), default));
        Assert.Equal((2L, 0L), (writer.DirectBatches, writer.StagedBatches));

        Assert.Equal(10, await writer.WriteAsync(rows.AsMemory(30, 20), default));
        Record[] twice = [rows[55], rows[55]];
        Assert.Equal(1, await writer.WriteAsync(twice, default));
        Assert.Equal((2L, 2L), (writer.DirectBatches, writer.StagedBatches));
        Assert.Equal(51L, await db.ScalarAsync<long>($"SELECT count(*) FROM {table}"));
        Assert.Equal(51L, await db.ScalarAsync<long>($"SELECT count(DISTINCT event_id) FROM {table}"));
    }

    [Fact]
    public async Task The_two_paths_dedupe_against_each_other()
    {
        var table = Table("mixed");
        var rows = Rows.Many(40);
        Assert.Equal(25, await Writer(true, table).WriteAsync(rows.AsMemory(0, 25), default));
        Assert.Equal(15, await Writer(false, table).WriteAsync(rows, default));
        Assert.Equal(40L, await db.ScalarAsync<long>($"SELECT count(*) FROM {table}"));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_batch_larger_than_one_insert_statement_is_written_whole(bool copy)
    {
        var table = Table("big");
        var rows = Rows.Many((PostgresEventWriter.ValuesChunk * 2) + 17);
        Assert.Equal(rows.Length, await Writer(copy, table).WriteAsync(rows, default));
        Assert.Equal((long)rows.Length, await db.ScalarAsync<long>($"SELECT count(DISTINCT event_id) FROM {table}"));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Rows_postgres_refuses_for_good_are_isolated_and_the_rest_is_written(bool copy)
    {
        var table = Table("bad");
        var writer = Writer(copy, table);
        var good = Rows.Many(40);
        var nul = Rows.WithNul();
        var broken = Rows.NotJson();
        Record[] batch = [.. good[..7], nul, .. good[7..30], broken, .. good[30..]];

        var whole = await Assert.ThrowsAsync<PostgresException>(() => writer.WriteAsync(batch, default));
        Assert.True(PostgresErrors.IsPermanent(whole));
        Assert.Equal(0L, await db.ScalarAsync<long>($"SELECT count(*) FROM {table}"));

        var result = await writer.WriteIsolatingAsync(batch, default);
        Assert.Equal(40, result.Inserted);
        Assert.Equal([nul.EventId, broken.EventId], result.Rejected.Select(r => r.Record.EventId).ToArray());
        Assert.StartsWith("22P05:", result.Rejected[0].Error, StringComparison.Ordinal);
        Assert.StartsWith("22P02:", result.Rejected[1].Error, StringComparison.Ordinal);
        Assert.Equal(good.Select(r => r.EventId).ToHashSet(), await Sql.EventIdsAsync(db.DataSource, table));

        // The runner retries a batch whole: the second pass finds the good rows there and the bad ones bad again.
        var again = await writer.WriteIsolatingAsync(batch, default);
        Assert.Equal(0, again.Inserted);
        Assert.Equal(2, again.Rejected.Count);
    }

    [Fact]
    public async Task A_schema_qualified_mixed_case_table_is_created_in_its_schema()
    {
        var schema = Table("Analytics");
        var writer = Writer(copy: true, schema + ".Events");
        Assert.Equal(3, await writer.WriteAsync(Rows.Many(3), default));
        Assert.Equal(3L, await db.ScalarAsync<long>($"SELECT count(*) FROM {schema.ToLowerInvariant()}.events"));
    }

    [Fact]
    public async Task Auto_migrate_twice_is_a_no_op_and_creates_the_seeds_indexes()
    {
        Assert.True(PgTableName.TryParse(Table("mig"), out var table, out _));
        await PostgresSchema.MigrateAsync(db.DataSource, table, default);
        await PostgresSchema.MigrateAsync(db.DataSource, table, default);
        var indexes = await Sql.RowsAsync(db.DataSource, $"SELECT indexdef FROM pg_indexes WHERE tablename = '{table.Name}' ORDER BY indexname");
        var defs = indexes.Select(r => (string)r[0]!).ToArray();
        Assert.Equal(4, defs.Length);
        Assert.Contains(defs, d => d.Contains("UNIQUE", StringComparison.Ordinal) && d.Contains("(event_id)", StringComparison.Ordinal));
        Assert.Contains(defs, d => d.Contains("(id)", StringComparison.Ordinal));
        Assert.Contains(defs, d => d.Contains("btree (ts)", StringComparison.Ordinal));
        Assert.Contains(defs, d => d.Contains("gin (payload)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Eight_migrations_at_once_all_succeed_under_the_advisory_lock()
    {
        for (var round = 0; round < 3; round++)
        {
            Assert.True(PgTableName.TryParse(Table("race"), out var table, out _));
            var sources = Enumerable.Range(0, 8).Select(_ => NpgsqlDataSource.Create(db.ConnectionString)).ToArray();
            _sources.AddRange(sources);
            using var go = new ManualResetEventSlim();
            var all = sources.Select(s => Task.Run(async () =>
            {
                go.Wait();
                await PostgresSchema.MigrateAsync(s, table, default);
            })).ToArray();
            go.Set();
            await Task.WhenAll(all);
            Assert.Equal(4L, await db.ScalarAsync<long>($"SELECT count(*) FROM pg_indexes WHERE tablename = '{table.Name}'"));
        }
    }

    [Fact]
    public async Task Without_auto_migrate_a_missing_table_is_a_transient_error_not_a_dead_letter()
    {
        Assert.True(PgTableName.TryParse(Table("absent"), out var table, out _));
        var source = NpgsqlDataSource.Create(db.ConnectionString);
        _sources.Add(source);
        using var writer = new PostgresEventWriter(source, new PostgresOptions { Table = table, AutoMigrate = false });
        var error = await Assert.ThrowsAsync<PostgresException>(() => writer.WriteIsolatingAsync(Rows.Many(2), default));
        Assert.Equal("42P01", error.SqlState);
        Assert.False(PostgresErrors.IsPermanent(error));
    }

    [Fact]
    public async Task A_table_dropped_behind_its_back_is_created_again_on_the_retry()
    {
        var table = Table("dropped");
        var writer = Writer(copy: true, table);
        Assert.Equal(2, await writer.WriteAsync(Rows.Many(2), default));
        await Sql.ExecuteAsync(db.DataSource, $"DROP TABLE {table}");
        await Assert.ThrowsAsync<PostgresException>(() => writer.WriteAsync(Rows.Many(2), default));
        Assert.Equal(2, await writer.WriteAsync(Rows.Many(2), default));
    }

    [Fact]
    public async Task Init_sql_holds_the_migrators_ddl_and_leaves_nothing_for_it_to_do()
    {
        var initSql = await File.ReadAllTextAsync(Path.Combine(EndToEnd.PublishedIngest.RepoRoot(), "deploy", "local", "init.sql"));
        Assert.Contains(PostgresSchema.Ddl(PgTableName.Default), initSql.ReplaceLineEndings("\n"), StringComparison.Ordinal);

        var name = await db.Server.CreateDatabaseAsync("init");
        await using var source = NpgsqlDataSource.Create(db.Server.ConnectionString(name));
        await Sql.ExecuteAsync(source, initSql);
        await Sql.ExecuteAsync(source, initSql);
        await PostgresSchema.MigrateAsync(source, PgTableName.Default, default);
        Assert.Equal(4L, await Sql.ScalarAsync<long>(source, "SELECT count(*) FROM pg_indexes WHERE tablename = 'events_json'"));
        await db.Server.DropDatabaseAsync(name);
    }

    public void Dispose()
    {
        foreach (var w in _writers)
        {
            w.Dispose();
        }

        foreach (var s in _sources)
        {
            s.Dispose();
        }
    }
}
