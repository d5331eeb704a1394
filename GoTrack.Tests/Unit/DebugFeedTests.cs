using System.Text.Json;
using GoTrack.Ingest.Debugging;
using Microsoft.Extensions.Time.Testing;

namespace GoTrack.Tests.Unit;

/// <summary>DEBUG_UI's memory bound: the last 200 entries for a new viewer, and a slow viewer loses its oldest.</summary>
public sealed class DebugFeedTests
{
    private static string Reason(string entry) => JsonDocument.Parse(entry).RootElement.GetProperty("reason").GetString()!;

    [Fact]
    public async Task A_new_viewer_gets_the_last_200_entries_in_order_then_the_live_ones()
    {
        var feed = new DebugFeed(enabled: true, new FakeTimeProvider());
        for (var i = 0; i < 250; i++)
        {
            feed.Refused("pixel", "rejected_invalid", $"n{i}");
        }

        using var stop = new CancellationTokenSource();
        await using var watcher = feed.WatchAsync(stop.Token).GetAsyncEnumerator();
        var seen = new List<string>();
        for (var i = 0; i < DebugFeed.Capacity; i++)
        {
            Assert.True(await watcher.MoveNextAsync());
            seen.Add(Reason(watcher.Current));
        }

        Assert.Equal(Enumerable.Range(50, 200).Select(i => $"n{i}"), seen);

        var next = watcher.MoveNextAsync(); // waits for the next entry: the backlog is all
        Assert.False(next.IsCompleted);
        feed.Refused("pixel", "rejected_invalid", "live");
        Assert.True(await next);
        Assert.Equal("live", Reason(watcher.Current));
    }

    [Fact]
    public async Task A_viewer_that_does_not_keep_up_loses_its_oldest_entries_not_the_newest()
    {
        var feed = new DebugFeed(enabled: true, new FakeTimeProvider());
        feed.Refused("pixel", "rejected_invalid", "first");
        using var stop = new CancellationTokenSource();
        await using var watcher = feed.WatchAsync(stop.Token).GetAsyncEnumerator();
        Assert.True(await watcher.MoveNextAsync()); // the backlog, and now the watcher is registered
        Assert.Equal("first", Reason(watcher.Current));

        for (var i = 0; i < 250; i++)
        {
            feed.Refused("pixel", "rejected_invalid", $"n{i}");
        }

        var seen = new List<string>();
        for (var i = 0; i < DebugFeed.Capacity; i++)
        {
            Assert.True(await watcher.MoveNextAsync());
            seen.Add(Reason(watcher.Current));
        }

        Assert.Equal(Enumerable.Range(50, 200).Select(i => $"n{i}"), seen);
        var more = watcher.MoveNextAsync();
        Assert.False(more.IsCompleted);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await more);
    }

    [Fact]
    public async Task Off_it_keeps_nothing()
    {
        var feed = new DebugFeed(enabled: false, new FakeTimeProvider());
        feed.Refused("pixel", "rejected_invalid", "x");
        feed.RequestRefused("/collect", 415, "content type");
        using var stop = new CancellationTokenSource();
        await using var watcher = feed.WatchAsync(stop.Token).GetAsyncEnumerator();
        var next = watcher.MoveNextAsync();
        Assert.False(next.IsCompleted);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await next);
    }
}
