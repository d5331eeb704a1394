using System.Diagnostics;
using System.Threading.Channels;
using HdrHistogram;

namespace GoTrack.Bench.Load;

/// <summary>The outcome of one open-loop run. Latencies are in microseconds from the intended send time.</summary>
internal sealed class OpenLoopResult
{
    public required LongHistogram Latency { get; init; }

    /// <summary>How late the scheduler put each request on the queue against its schedule (microseconds).</summary>
    public required LongHistogram SendLag { get; init; }

    public required long Scheduled { get; init; }
    public required long Completed { get; init; }
    public required long Errors { get; init; }

    /// <summary>From the first intended send time to the last response.</summary>
    public required double Seconds { get; init; }

    /// <summary>Requests the scheduler released more than <see cref="OpenLoop.BehindThresholdMicros"/> after their intended time.</summary>
    public required long SentLate { get; init; }

    public double AchievedRate => Completed / Seconds;

    /// <summary>True when the generator could not keep its own schedule (not the server's fault): more than 1% of requests released late.</summary>
    public bool FellBehind => SentLate > Scheduled / 100;

    public double PercentileMs(double p) => Latency.TotalCount == 0 ? double.NaN : Latency.GetValueAtPercentile(p) / 1000.0;

    public double MaxMs => Latency.TotalCount == 0 ? double.NaN : Latency.GetMaxValue() / 1000.0;
}

/// <summary>
/// Sends requests at a fixed rate: request i is due at t0 + i/rate, whatever happened to the earlier ones,
/// and its latency is measured from that intended time. A scheduler thread releases each request onto a
/// queue once its time has come; <c>connections</c> workers (one keep-alive connection each) take them in order. When
/// the server stalls, requests pile up in the queue and every one of them is charged the wait, which a
/// closed loop (send, wait for the answer, send the next) hides by simply sending less during the stall.
/// </summary>
internal static class OpenLoop
{
    /// <summary>A request released this much later than intended counts as the generator falling behind.</summary>
    public const long BehindThresholdMicros = 2_000;

    private const long HighestTrackableMicros = 120L * 1_000_000;

    /// <param name="send">Sends request <c>i</c> on connection <c>worker</c> (0..connections-1, one request at a time per worker); true for a 2xx.</param>
    /// <param name="rate">Requests per second.</param>
    /// <param name="duration">How long to schedule requests; the run then waits for the queued and in-flight ones.</param>
    /// <param name="connections">Concurrent workers, each with its own connection.</param>
    public static async Task<OpenLoopResult> RunAsync(
        Func<int, long, CancellationToken, ValueTask<bool>> send, double rate, TimeSpan duration, int connections,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(send);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rate);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(connections);
        var lag = new LongHistogram(HighestTrackableMicros, 3);
        var total = (long)Math.Round(rate * duration.TotalSeconds);
        long late = 0;
        var queue = Channel.CreateUnbounded<(long Index, long Intended)>(new UnboundedChannelOptions { SingleWriter = true });
        var ticksPerRequest = Stopwatch.Frequency / rate;
        var t0 = Stopwatch.GetTimestamp() + Stopwatch.Frequency / 100; // 10 ms for the workers to start waiting

        // Each worker records into its own histogram (no lock on the hot path); they are added up at the end.
        var workers = new Task<(LongHistogram Latency, long Ok, long Errors)>[connections];
        for (var w = 0; w < connections; w++)
        {
            var worker = w;
            workers[w] = Task.Run(async () =>
            {
                var latency = new LongHistogram(HighestTrackableMicros, 3);
                long ok = 0, errors = 0;
                await foreach (var (index, intended) in queue.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                {
                    bool success;
                    try
                    {
                        success = await send(worker, index, cancellationToken).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is HttpRequestException or IOException or System.Net.Sockets.SocketException
                                                  or TaskCanceledException or InvalidDataException)
                    {
                        success = false;
                    }

                    var micros = (Stopwatch.GetTimestamp() - intended) * 1_000_000 / Stopwatch.Frequency;
                    latency.RecordValue(Math.Clamp(micros, 0, HighestTrackableMicros));
                    if (success)
                    {
                        ok++;
                    }
                    else
                    {
                        errors++;
                    }
                }

                return (latency, ok, errors);
            }, cancellationToken);
        }

        // The scheduler has its own thread. It does not spin (on a 2-core box a spinning thread takes a core from
        // the server under test): it wakes about every millisecond and releases every request whose intended time
        // has come. Latency still runs from each request's own intended time, so the batching costs the figures
        // at most the wake-up delay; when the thread is woken late (CPU contention), SendLag and SentLate say so.
        var scheduler = new Thread(() =>
        {
            long i = 0;
            while (i < total && !cancellationToken.IsCancellationRequested)
            {
                var now = Stopwatch.GetTimestamp();
                for (long intended; i < total && (intended = t0 + (long)(i * ticksPerRequest)) <= now; i++)
                {
                    var lagMicros = (now - intended) * 1_000_000 / Stopwatch.Frequency;
                    if (lagMicros > BehindThresholdMicros)
                    {
                        late++;
                    }

                    lag.RecordValue(Math.Clamp(lagMicros, 0, HighestTrackableMicros));
                    queue.Writer.TryWrite((i, intended));
                }

                if (i < total)
                {
                    Thread.Sleep(1);
                }
            }

            queue.Writer.TryComplete();
        })
        { IsBackground = true, Name = "open-loop scheduler", Priority = ThreadPriority.AboveNormal };
        scheduler.Start();
        var results = await Task.WhenAll(workers).ConfigureAwait(false);
        var seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        scheduler.Join();
        var all = new LongHistogram(HighestTrackableMicros, 3);
        long completed = 0, failed = 0;
        foreach (var (latency, ok, errors) in results)
        {
            all.Add(latency);
            completed += ok;
            failed += errors;
        }

        return new OpenLoopResult
        {
            Latency = all, SendLag = lag, Scheduled = total, Completed = completed, Errors = failed, Seconds = seconds, SentLate = late,
        };
    }
}
