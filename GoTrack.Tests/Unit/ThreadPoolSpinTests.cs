using GoTrack.Ingest.Configuration;

namespace GoTrack.Tests.Unit;

/// <summary>
/// Which spin limit each ack mode asks the thread pool for. That the runtime honours it was checked on the
/// published binary (docs/performance.md: sched_yield calls under load, 7,879 against 191,049 in 5 s).
/// </summary>
public sealed class ThreadPoolSpinTests
{
    [Fact]
    public void Wal_acks_spin_as_dotnet_does_by_default() =>
        Assert.Equal(70, ThreadPoolSpin.SpinLimitFor("wal", environmentOverride: null));

    [Fact]
    public void Memory_acks_keep_the_runtimeconfigs_zero() =>
        Assert.Null(ThreadPoolSpin.SpinLimitFor("memory", environmentOverride: null));

    [Theory]
    [InlineData("wal")]
    [InlineData("memory")]
    public void The_operators_variable_wins_in_either_mode(string ackMode) =>
        Assert.Null(ThreadPoolSpin.SpinLimitFor(ackMode, environmentOverride: "20"));
}
