using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using GoTrack.Core.Events;
using GoTrack.Core.Sinks;
using Npgsql;
using NpgsqlTypes;

namespace GoTrack.Core.Postgres;

/// <summary>
/// Writes records into the events table, idempotently: a row whose event_id is already there (from an
/// earlier attempt, another instance, or earlier in the same batch) is skipped by
/// <c>ON CONFLICT (event_id) DO NOTHING</c>, so a batch can be retried whole as often as needed. The
/// Ingest postgres sink and the SinkWorker share it; both hand it <see cref="Record"/>s.
/// </summary>
/// <remarks>
/// COPY cannot skip conflicts, so with PG_COPY=true a batch is first binary-COPYed straight into the
/// table, and only when that meets a stored event_id (a unique violation; nothing of it is kept) are the
/// rows COPYed into a temporary table (emptied at commit, and by rollback) and moved with one INSERT ...
/// SELECT ... ON CONFLICT DO NOTHING, all in one transaction.
/// The temporary table lives as long as the session: on a data source from
/// <see cref="PostgresServiceCollectionExtensions.BuildDataSource"/> it is made once per connection;
/// on one that resets connections it is made again per batch, which costs more but is just as correct. ON CONFLICT DO
/// NOTHING also absorbs duplicates inside one statement (only DO UPDATE refuses those), so no DISTINCT
/// pass is needed. The payload goes in as the record's UTF-8 bytes: Npgsql writes a byte[] as jsonb by
/// prefixing the jsonb version byte, so nothing is re-encoded.
/// </remarks>
public sealed class PostgresEventWriter : IDisposable
{
    /// <summary>Rows per multi-row INSERT statement (3 parameters each, well under the 65535-parameter limit).</summary>
    internal const int ValuesChunk = 1000;

    private const string StageTable = "gotrack_stage";

    private readonly NpgsqlDataSource _dataSource;
    private readonly PostgresOptions _options;
    private readonly string _createStage;
    private readonly bool _stagePerConnection;
    private readonly string _copy;
    private readonly string _copyDirect;
    private readonly string _insertFromStage;
    private readonly ConcurrentDictionary<int, string> _valuesSql = new();
    private readonly SemaphoreSlim _migrateLock = new(1, 1);
    private volatile bool _migrated;

    /// <summary>The staging table: one per session, emptied at each commit.</summary>
    internal const string CreateStageSql = $"CREATE TEMP TABLE IF NOT EXISTS {StageTable} (event_id uuid NOT NULL, ts timestamptz NOT NULL, payload jsonb NOT NULL) ON COMMIT DELETE ROWS";

    /// <param name="stagePerConnection">
    /// True when <paramref name="dataSource"/> makes the staging table as each physical connection opens
    /// (<see cref="PostgresServiceCollectionExtensions.ConfigureDataSource"/>); otherwise each batch makes
    /// it if missing, one more round trip.
    /// </param>
    public PostgresEventWriter(NpgsqlDataSource dataSource, PostgresOptions options, bool stagePerConnection = false)
    {
        _stagePerConnection = stagePerConnection;
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(options);
        _dataSource = dataSource;
        _options = options;
        _createStage = CreateStageSql;
        _copy = $"COPY {StageTable} (event_id, ts, payload) FROM STDIN (FORMAT BINARY)";
        _copyDirect = $"COPY {options.Table.Quoted} (event_id, ts, payload) FROM STDIN (FORMAT BINARY)";
        _insertFromStage = $"INSERT INTO {options.Table.Quoted} (event_id, ts, payload) SELECT event_id, ts, payload FROM {StageTable} ON CONFLICT (event_id) DO NOTHING";
    }

    public PostgresOptions Options => _options;

    public NpgsqlDataSource DataSource => _dataSource;

    /// <summary>Runs the migration once per process when PG_AUTO_MIGRATE is on; again after the table went missing.</summary>
    public async ValueTask EnsureSchemaAsync(CancellationToken cancellationToken)
    {
        if (_migrated || !_options.AutoMigrate)
        {
            return;
        }

        await _migrateLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_migrated)
            {
                await PostgresSchema.MigrateAsync(_dataSource, _options.Table, cancellationToken).ConfigureAwait(false);
                _migrated = true;
            }
        }
        finally
        {
            _migrateLock.Release();
        }
    }

    /// <summary>
    /// Writes every row in one transaction and returns how many were new. Throws on any failure, having
    /// committed nothing.
    /// </summary>
    public async Task<int> WriteAsync(ReadOnlyMemory<Record> rows, CancellationToken cancellationToken)
    {
        if (rows.IsEmpty)
        {
            return 0;
        }

        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                if (_options.UseCopy)
                {
                    try
                    {
                        var direct = await InTransactionAsync(connection, rows, (c, _, r, ct) => CopyDirectAsync(c, r, ct), cancellationToken).ConfigureAwait(false);
                        Interlocked.Increment(ref _directBatches);
                        return direct;
                    }
                    catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
                    {
                        // An event_id already stored (a redelivery): nothing of the attempt was kept. The staging way skips it.
                    }

                    Interlocked.Increment(ref _stagedBatches);
                    return await InTransactionAsync(connection, rows, CopyAsync, cancellationToken).ConfigureAwait(false);
                }

                return await InTransactionAsync(connection, rows, ValuesAsync, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (NpgsqlException ex)
        {
            if (PostgresErrors.IsConnectionLoss(ex))
            {
                // After a restart every idle pooled connection is dead too; drop them so the retry dials afresh.
                _dataSource.Clear();
            }
            else if (ex is PostgresException { SqlState: "42P01" })
            {
                // undefined_table: dropped behind our back; migrate again on the next attempt.
                _migrated = false;
            }

            throw;
        }
    }

    /// <summary>
    /// Writes the rows, isolating the ones Postgres refuses for good (<see cref="PostgresErrors.IsPermanent"/>):
    /// on such an error the batch is split in halves, each written (and committed) on its own, down to the
    /// single rows that fail, which are returned instead of thrown. A transient error still throws, so the
    /// caller retries the whole batch; the rows already committed are skipped as duplicates then.
    /// </summary>
    public async Task<WriteResult> WriteIsolatingAsync(ReadOnlyMemory<Record> rows, CancellationToken cancellationToken)
    {
        List<RejectedRecord>? rejected = null;
        var inserted = await WriteOrSplitAsync(rows, cancellationToken).ConfigureAwait(false);
        return new WriteResult(inserted, rejected ?? (IReadOnlyList<RejectedRecord>)[]);

        async Task<int> WriteOrSplitAsync(ReadOnlyMemory<Record> part, CancellationToken ct)
        {
            try
            {
                return await WriteAsync(part, ct).ConfigureAwait(false);
            }
            catch (PostgresException ex) when (PostgresErrors.IsPermanent(ex))
            {
                if (part.Length == 1)
                {
                    (rejected ??= []).Add(new RejectedRecord(part.Span[0], PostgresErrors.Describe(ex)));
                    return 0;
                }

                var half = part.Length / 2;
                var left = await WriteOrSplitAsync(part[..half], ct).ConfigureAwait(false);
                return left + await WriteOrSplitAsync(part[half..], ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>A short-timeout <c>SELECT 1</c> for readiness.</summary>
    public async Task PingAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.HealthTimeout);
        try
        {
            var connection = await _dataSource.OpenConnectionAsync(timeout.Token).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                using var command = new NpgsqlCommand("SELECT 1", connection);
                await command.ExecuteScalarAsync(timeout.Token).ConfigureAwait(false);
            }
        }
        catch (NpgsqlException ex) when (PostgresErrors.IsConnectionLoss(ex))
        {
            _dataSource.Clear();
            throw;
        }
    }

    private static async Task<int> InTransactionAsync(
        NpgsqlConnection connection, ReadOnlyMemory<Record> rows,
        Func<NpgsqlConnection, NpgsqlTransaction, ReadOnlyMemory<Record>, CancellationToken, Task<int>> write, CancellationToken ct)
    {
        var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            var inserted = await write(connection, transaction, rows, ct).ConfigureAwait(false);
            await transaction.CommitAsync(ct).ConfigureAwait(false);
            return inserted;
        }
    }

    private long _directBatches;
    private long _stagedBatches;

    /// <summary>PG_COPY batches that went straight into the table (none of their event_ids was stored yet).</summary>
    internal long DirectBatches => Interlocked.Read(ref _directBatches);

    /// <summary>PG_COPY batches that met a stored event_id and went through the staging table.</summary>
    internal long StagedBatches => Interlocked.Read(ref _stagedBatches);

    /// <summary>
    /// The common case first: a batch none of whose event_ids is stored yet is COPYed straight into the
    /// table, one statement. A duplicate (a redelivery, or one event twice in the batch) fails the whole
    /// COPY with a unique violation, nothing is kept, and <see cref="WriteAsync"/> writes the batch again
    /// through the staging table, which skips duplicates. Measured in bench/run.sh (docs/performance.md):
    /// the staging way writes every row twice.
    /// </summary>
    private async Task<int> CopyDirectAsync(NpgsqlConnection connection, ReadOnlyMemory<Record> rows, CancellationToken ct)
    {
        await ImportAsync(connection, _copyDirect, rows, ct).ConfigureAwait(false);
        return rows.Length;
    }

    private static async Task ImportAsync(NpgsqlConnection connection, string copy, ReadOnlyMemory<Record> rows, CancellationToken ct)
    {
        var importer = await connection.BeginBinaryImportAsync(copy, ct).ConfigureAwait(false);
        await using (importer.ConfigureAwait(false))
        {
            for (var i = 0; i < rows.Length; i++)
            {
                var r = rows.Span[i];
                await importer.StartRowAsync(ct).ConfigureAwait(false);
                await importer.WriteAsync(r.EventId, NpgsqlDbType.Uuid, ct).ConfigureAwait(false);
                await importer.WriteAsync(r.Timestamp.ToUniversalTime(), NpgsqlDbType.TimestampTz, ct).ConfigureAwait(false);
                await importer.WriteAsync(r.Json, NpgsqlDbType.Jsonb, ct).ConfigureAwait(false);
            }

            await importer.CompleteAsync(ct).ConfigureAwait(false);
        }
    }

    private async Task<int> CopyAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, ReadOnlyMemory<Record> rows, CancellationToken ct)
    {
        if (!_stagePerConnection)
        {
            using var create = new NpgsqlCommand(_createStage, connection, transaction);
            await create.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }

        await ImportAsync(connection, _copy, rows, ct).ConfigureAwait(false);
        using var insert = new NpgsqlCommand(_insertFromStage, connection, transaction);
        return await insert.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    private async Task<int> ValuesAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, ReadOnlyMemory<Record> rows, CancellationToken ct)
    {
        var inserted = 0;
        for (var start = 0; start < rows.Length; start += ValuesChunk)
        {
            var count = Math.Min(ValuesChunk, rows.Length - start);
            using var command = new NpgsqlCommand(ValuesSql(count), connection, transaction);
            var chunk = rows.Span.Slice(start, count);
            foreach (var r in chunk)
            {
                command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = r.EventId, NpgsqlDbType = NpgsqlDbType.Uuid });
                command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = r.Timestamp.ToUniversalTime(), NpgsqlDbType = NpgsqlDbType.TimestampTz });
                command.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = r.Json, NpgsqlDbType = NpgsqlDbType.Jsonb });
            }

            inserted += await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }

        return inserted;
    }

    public void Dispose() => _migrateLock.Dispose();

    private string ValuesSql(int count) => _valuesSql.GetOrAdd(count, static (n, table) =>
    {
        var sql = new StringBuilder(64 + (n * 24));
        sql.Append("INSERT INTO ").Append(table).Append(" (event_id, ts, payload) VALUES ");
        for (var i = 0; i < n; i++)
        {
            var p = (i * 3) + 1;
            sql.Append(i == 0 ? "(" : ",(")
                .Append('$').Append(p.ToString(CultureInfo.InvariantCulture))
                .Append(",$").Append((p + 1).ToString(CultureInfo.InvariantCulture))
                .Append(",$").Append((p + 2).ToString(CultureInfo.InvariantCulture))
                .Append(')');
        }

        sql.Append(" ON CONFLICT (event_id) DO NOTHING");
        return sql.ToString();
    }, _options.Table.Quoted);
}
