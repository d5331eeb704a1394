using CsCheck;
using GoTrack.Core.Queue;
using GoTrack.Core.Queue.Wal;
using GoTrack.Tests.Queue;
using GoTrack.Tests.Support;
using Record = GoTrack.Core.Events.Record;

namespace GoTrack.Tests.Properties;

/// <summary>
/// The write-ahead log against a model a reader can check by eye: a list of appended records and, per
/// sink, the batches read and the contiguous released position. Random appends, batch reads, releases in
/// any order, checkpoints, segment deletion, clean restarts and crashes (with or without a torn tail) are
/// applied to both, and after every step the log must agree:
/// - a batch holds exactly the next records after the sink's read position, in order;
/// - Pending is what the sink has not released;
/// - after a clean restart a sink resumes exactly at its released position; after a crash, somewhere
///   between its last checkpoint and its released position (never past an unreleased record).
/// CI runs 150 sequences; <c>GOTRACK_WAL_MODEL_ITER=20000 dotnet test --filter WalModelTests</c> runs long.
/// </summary>
public sealed class WalModelTests
{
    private abstract record Op;

    private sealed record Append(int Count, int Size) : Op;

    private sealed record Read(int Sink, int Max) : Op;

    private sealed record ReleaseOne(int Sink, int Pick) : Op;

    private sealed record Checkpoint : Op;

    private sealed record Maintain : Op;

    private sealed record Restart(bool Crash, bool TornTail) : Op;

    private static readonly string[] Sinks = ["log", "kafka", "postgres"];

    private static readonly Gen<Op> Ops = Gen.Frequency(
        (6, Gen.Select(Gen.Int[1, 6], Gen.Int[16, 400], (n, s) => (Op)new Append(n, s))),
        (6, Gen.Select(Gen.Int[0, 2], Gen.Int[1, 12], (k, m) => (Op)new Read(k, m))),
        (5, Gen.Select(Gen.Int[0, 2], Gen.Int[0, 10], (k, p) => (Op)new ReleaseOne(k, p))),
        (1, Gen.Const((Op)new Checkpoint())),
        (1, Gen.Const((Op)new Maintain())),
        (1, Gen.Select(Gen.Bool, Gen.Bool, (c, t) => (Op)new Restart(c, t))));

    [Fact]
    public void The_log_agrees_with_the_model_through_crashes_and_restarts()
    {
        var iterations = int.TryParse(Environment.GetEnvironmentVariable("GOTRACK_WAL_MODEL_ITER"), out var n) ? n : 150;
        Ops.Array[1, 80].Sample(Run, iter: iterations, threads: 1);
    }

    private static void Run(Op[] ops)
    {
        using var dir = new TempDir();
        var options = new WalOptions { Directory = dir.File("wal"), SegmentBytes = 4096, MaxBytes = 64L * 1024 * 1024, CursorInterval = TimeSpan.FromHours(1) };
        var appended = new List<Record>();
        var readPos = new long[Sinks.Length];
        var released = new long[Sinks.Length];
        var checkpointed = new long[Sinks.Length];
        var inFlight = Sinks.Select(_ => new List<LogBatch>()).ToArray();
        var releasedAhead = Sinks.Select(_ => new SortedDictionary<long, long>()).ToArray();

        var log = new WriteAheadLog(options);
        var readers = Sinks.Select(s => log.OpenReader(s)).ToArray();
        try
        {
            foreach (var op in ops)
            {
                switch (op)
                {
                    case Append a:
                        var records = Enumerable.Range(0, a.Count).Select(_ => WriteAheadLogTests.R(a.Size)).ToArray();
                        Assert.Equal(AppendResult.Accepted, log.AppendAsync(records, default).AsTask().GetAwaiter().GetResult());
                        appended.AddRange(records);
                        break;

                    case Read r when appended.Count - readPos[r.Sink] > 0:
                        var batch = readers[r.Sink].ReadBatchAsync(r.Max, TimeSpan.Zero, default).AsTask().GetAwaiter().GetResult();
                        var expected = appended.Skip((int)readPos[r.Sink]).Take(r.Max).ToArray();
                        Assert.Equal(readPos[r.Sink], batch.Start);
                        Assert.Equal(expected.Select(e => e.EventId), batch.Records.ToArray().Select(e => e.EventId));
                        Assert.Equal(expected.Select(e => e.Json), batch.Records.ToArray().Select(e => e.Json));
                        readPos[r.Sink] = batch.End;
                        inFlight[r.Sink].Add(batch);
                        break;

                    case ReleaseOne rel when inFlight[rel.Sink].Count > 0:
                        var pick = inFlight[rel.Sink][rel.Pick % inFlight[rel.Sink].Count];
                        inFlight[rel.Sink].Remove(pick);
                        readers[rel.Sink].Release(pick);
                        releasedAhead[rel.Sink][pick.Start] = pick.End;
                        while (releasedAhead[rel.Sink].Remove(released[rel.Sink], out var end))
                        {
                            released[rel.Sink] = end;
                        }

                        break;

                    case Checkpoint:
                        log.Checkpoint();
                        Array.Copy(released, checkpointed, released.Length);
                        break;

                    case Maintain:
                        log.Maintain();
                        Array.Copy(released, checkpointed, released.Length);
                        break;

                    case Restart restart:
                        var paths = log.SegmentPaths();
                        var last = paths.Count > 0 ? paths[^1] : null;
                        if (restart.Crash)
                        {
                            log.Crash();
                            if (restart.TornTail && last is not null)
                            {
                                // An unacknowledged group, cut mid-record.
                                var torn = new byte[300];
                                WalRecordFormat.Encode(WriteAheadLogTests.R(200), appended.Count, torn);
                                using var f = new FileStream(last, FileMode.Open);
                                f.Position = WriteAheadLog.DataLength(last);
                                f.Write(torn.AsSpan(0, 77));
                            }
                        }
                        else
                        {
                            log.Dispose();
                            Array.Copy(released, checkpointed, released.Length);
                        }

                        log = new WriteAheadLog(options);
                        readers = Sinks.Select(s => log.OpenReader(s)).ToArray();
                        for (var k = 0; k < Sinks.Length; k++)
                        {
                            var resumed = appended.Count - readers[k].Pending;
                            Assert.InRange(resumed, checkpointed[k], released[k]);
                            readPos[k] = released[k] = checkpointed[k] = resumed;
                            inFlight[k].Clear();
                            releasedAhead[k].Clear();
                        }

                        break;
                }

                for (var k = 0; k < Sinks.Length; k++)
                {
                    Assert.Equal(appended.Count - released[k], readers[k].Pending);
                }
            }
        }
        finally
        {
            log.Dispose();
        }
    }
}
