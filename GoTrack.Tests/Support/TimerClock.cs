using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;

namespace GoTrack.Tests.Support;

/// <summary>
/// A fake clock that reports every timer armed on it. Code under test that waits (a retry's backoff, a
/// Task.Delay on the clock) arms a timer first, so a test can wait for that timer, check the state the
/// code left behind, then move time to exactly the moment the timer is due: each step is one wake-up,
/// whatever the machine's load.
/// </summary>
public sealed class TimerClock : FakeTimeProvider
{
    private readonly Channel<ArmedTimer> _armed = Channel.CreateUnbounded<ArmedTimer>();
    private int _count;

    public TimerClock()
    {
    }

    public TimerClock(DateTimeOffset start)
        : base(start)
    {
    }

    /// <summary>How many timers with a due time have been armed so far.</summary>
    public int TimersArmed => Volatile.Read(ref _count);

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        if (dueTime != Timeout.InfiniteTimeSpan)
        {
            Interlocked.Increment(ref _count);
            _armed.Writer.TryWrite(new ArmedTimer(dueTime, GetUtcNow() + dueTime));
        }

        return timer;
    }

    /// <summary>
    /// The next timer armed whose delay <paramref name="matches"/> (others, such as a 30 s attempt
    /// timeout, are passed over). The wait on the real clock is only a bound, so that a timer never armed
    /// fails the test instead of hanging it; nothing is asserted on how long it took.
    /// </summary>
    public async Task<ArmedTimer> NextTimerAsync(Func<TimeSpan, bool> matches, string what)
    {
        ArgumentNullException.ThrowIfNull(matches);
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            while (true)
            {
                var timer = await _armed.Reader.ReadAsync(bound.Token);
                if (matches(timer.Delay))
                {
                    return timer;
                }
            }
        }
        catch (OperationCanceledException) when (bound.IsCancellationRequested)
        {
            throw new TimeoutException($"no {what} was armed on the fake clock (at {this})");
        }
    }

    /// <summary>Moves the clock to <paramref name="timer"/>'s due time, so that it fires and no later timer does.</summary>
    public void FireAt(ArmedTimer timer) => SetUtcNow(timer.Due);
}
