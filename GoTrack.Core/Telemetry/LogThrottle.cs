namespace GoTrack.Core.Telemetry;

/// <summary>
/// Lets one error line through per interval and counts the rest, so a dead sink retrying every
/// few milliseconds writes one line every ten seconds saying how many failures it stood for.
/// </summary>
public sealed class LogThrottle(TimeProvider time, TimeSpan interval)
{
    private readonly Lock _lock = new();
    private long _lastTimestamp = -1;
    private long _suppressed;

    /// <summary>True when this occurrence should be logged; <paramref name="suppressed"/> is how many were not since.</summary>
    public bool ShouldLog(out long suppressed)
    {
        lock (_lock)
        {
            if (_lastTimestamp >= 0 && time.GetElapsedTime(_lastTimestamp) < interval)
            {
                _suppressed++;
                suppressed = 0;
                return false;
            }

            _lastTimestamp = time.GetTimestamp();
            suppressed = _suppressed;
            _suppressed = 0;
            return true;
        }
    }
}
