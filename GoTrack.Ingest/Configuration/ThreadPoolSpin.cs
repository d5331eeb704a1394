namespace GoTrack.Ingest.Configuration;

/// <summary>
/// How long idle thread-pool workers spin before they block, chosen by ack mode (docs/performance.md has the
/// measurements). Ingest's runtimeconfig sets 0: with memory acks every worker always has a request to run, and
/// spinning was 12% of the CPU samples. With <c>ACK_MODE=wal</c> a request waits for the disk, so workers run dry
/// once per group commit; parking each one on a futex and waking it for the next group cost more than the spin,
/// and .NET's own default (70) served more requests per second. <c>DOTNET_ThreadPool_UnfairSemaphoreSpinLimit</c>,
/// when set, wins over both.
/// </summary>
internal static class ThreadPoolSpin
{
    private const string Setting = "System.Threading.ThreadPool.UnfairSemaphoreSpinLimit";

    /// <summary>.NET's default spin limit on x64.</summary>
    public const int RuntimeDefault = 70;

    /// <summary>
    /// Must run before the pool starts its first worker: the runtime reads the setting once, when it makes the
    /// workers' semaphore. Program calls it right after the settings are read, before the host is built.
    /// </summary>
    public static void ForAckMode(string ackMode)
    {
        if (SpinLimitFor(ackMode, Environment.GetEnvironmentVariable("DOTNET_ThreadPool_UnfairSemaphoreSpinLimit")) is { } limit)
        {
            AppContext.SetData(Setting, limit.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    /// <summary>The limit to set, or null to keep the runtimeconfig's 0 (memory acks) or the operator's variable.</summary>
    internal static int? SpinLimitFor(string ackMode, string? environmentOverride) =>
        ackMode == "wal" && environmentOverride is null ? RuntimeDefault : null;
}
