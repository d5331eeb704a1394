namespace GoTrack.Core.Queue;

/// <summary>The wait both logs' readers share between checks for a batch.</summary>
internal static class ReaderWait
{
    /// <summary>
    /// Waits for <paramref name="wake"/> (records arrived), or, while a partial batch lingers, for whichever
    /// comes first of the wake and the end of the linger.
    /// </summary>
    public static async ValueTask WaitAsync(Task wake, long lingerStarted, TimeSpan linger, TimeProvider time, CancellationToken cancellationToken)
    {
        if (lingerStarted < 0)
        {
            await wake.WaitAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        var remaining = linger - time.GetElapsedTime(lingerStarted);
        if (remaining > TimeSpan.Zero)
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var delay = Task.Delay(remaining, time, cts.Token);
            await Task.WhenAny(wake, delay).ConfigureAwait(false);
            await cts.CancelAsync().ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>Whether a reader with <paramref name="available"/> records should take a batch now.</summary>
    public static bool ShouldTake(long available, int maxCount, bool completed, long lingerStarted, TimeSpan linger, TimeProvider time) =>
        available >= maxCount
        || (available > 0 && (completed || linger <= TimeSpan.Zero || (lingerStarted >= 0 && time.GetElapsedTime(lingerStarted) >= linger)));
}
