using GoTrack.Core.Events;

namespace GoTrack.Tests.Unit;

public sealed class Uuid7Tests
{
    [Theory]
    [InlineData(0L)]
    [InlineData(1_764_237_296_789L)]
    [InlineData(253_402_300_799_999L)] // 9999-12-31T23:59:59.999Z, the last instant DateTimeOffset holds
    public void Version_variant_and_timestamp_follow_rfc_9562(long unixMs)
    {
        var id = Uuid7.Create(DateTimeOffset.FromUnixTimeMilliseconds(unixMs));
        var text = id.ToString("N");
        Assert.Equal(7, id.Version);
        Assert.Contains(text[16], "89ab");
        Assert.Equal(unixMs, Convert.ToInt64(text[..12], 16));
    }

    [Fact]
    public void Ids_in_the_same_millisecond_do_not_repeat_across_threads()
    {
        var now = DateTimeOffset.UtcNow;
        var ids = new System.Collections.Concurrent.ConcurrentBag<Guid>();
        Parallel.For(0, 4, _ =>
        {
            for (var i = 0; i < 50_000; i++)
            {
                ids.Add(Uuid7.Create(now));
            }
        });
        Assert.Equal(200_000, ids.Distinct().Count());
    }

    [Fact]
    public void Batched_random_bytes_are_not_all_alike()
    {
        // 4 KB blocks are refilled: draw across several refills and look at the spread of byte values.
        var counts = new int[256];
        Span<byte> chunk = stackalloc byte[200];
        for (var i = 0; i < 500; i++)
        {
            BatchedRandom.Fill(chunk);
            foreach (var b in chunk)
            {
                counts[b]++;
            }
        }

        // 100,000 bytes: every value appears, none wildly over its expected ~390.
        Assert.All(counts, c => Assert.InRange(c, 250, 550));
    }
}
