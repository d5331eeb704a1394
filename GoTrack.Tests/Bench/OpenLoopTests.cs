using System.Diagnostics;
using GoTrack.Bench.Load;
using HdrHistogram;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace GoTrack.Tests.Bench;

/// <summary>
/// The open-loop generator (GoTrack.Bench.Load) charges a server stall to every request scheduled during it,
/// because latency runs from the intended send time; a closed loop, which waits for each answer before sending
/// the next, sends almost nothing during the stall and so hides it. Latency bounds here are lower bounds
/// implied by a 200 ms stall; nothing asserts throughput.
/// </summary>
public sealed class OpenLoopTests
{
    private const int StallMs = 200;
    private const int Connections = 4;

    [Fact]
    public async Task A_server_stall_shows_in_the_latency_of_every_request_scheduled_during_it()
    {
        await using var server = await StallingServer.StartAsync(stallOnRequest: 100);
        var pool = Enumerable.Range(0, Connections).Select(_ => new RawHttpConnection(server.Url, new Dictionary<string, string>())).ToArray();

        // 500 req/s for 1 s: about 100 requests are due during the 200 ms stall.
        var result = await OpenLoop.RunAsync((w, _, ct) => pool[w].SendAsync(ct), rate: 500, TimeSpan.FromSeconds(1), Connections);
        foreach (var c in pool)
        {
            await c.DisposeAsync();
        }

        Assert.Equal(500, result.Scheduled);
        Assert.Equal(500, result.Completed + result.Errors);
        Assert.Equal(0, result.Errors);
        Assert.True(server.Stalled, "the server stalled once");
        // The request due just as the stall began waited all of it.
        Assert.True(result.MaxMs >= StallMs * 0.9, $"max {result.MaxMs} ms should include the {StallMs} ms stall");
        // 1 in 5 requests was due during the stall, so p99 and p99.9 are deep inside it.
        Assert.True(result.PercentileMs(99.9) >= StallMs * 0.8, $"p99.9 {result.PercentileMs(99.9)} ms");
        Assert.True(result.PercentileMs(99) >= StallMs * 0.5, $"p99 {result.PercentileMs(99)} ms");
        var slowOpen = CountAtLeast(result.Latency, StallMs / 2 * 1000L);
        Assert.True(slowOpen >= 25, $"{slowOpen} requests of the ~100 due during the stall waited over {StallMs / 2} ms");

        // The same stall measured closed-loop: each connection sends, waits, sends again; at most one request per
        // connection is caught in the stall, so only a handful of samples are slow and the tail looks fine.
        await using var again = await StallingServer.StartAsync(stallOnRequest: 100);
        var closed = new LongHistogram(60_000_000, 3);
        await using (var conns = new ConnectionSet(again.Url, Connections))
        {
            await Task.WhenAll(Enumerable.Range(0, Connections).Select(async w =>
            {
                for (var i = 0; i < 500 / Connections; i++)
                {
                    var start = Stopwatch.GetTimestamp();
                    await conns[w].SendAsync(CancellationToken.None);
                    lock (closed)
                    {
                        closed.RecordValue((long)Stopwatch.GetElapsedTime(start).TotalMicroseconds);
                    }
                }
            }));
        }

        Assert.True(again.Stalled);
        var slowClosed = CountAtLeast(closed, StallMs / 2 * 1000L);
        Assert.True(slowClosed <= Connections, $"closed loop: {slowClosed} slow samples, at most one per connection");
        Assert.True(slowClosed * 5 < slowOpen, $"open loop sees the stall in {slowOpen} requests, closed loop in {slowClosed}");
    }

    [Fact]
    public async Task Requests_are_released_on_the_clock_whatever_the_answers_take()
    {
        // A 'server' that takes 50 ms per request on one connection can answer 20/s; offered 100/s for 0.5 s, every
        // request is still released on schedule, and the queue behind the slow connection shows as latency.
        var result = await OpenLoop.RunAsync(
            async (_, _, ct) =>
            {
                await Task.Delay(50, ct);
                return true;
            },
            rate: 100, TimeSpan.FromSeconds(0.5), connections: 1);

        Assert.Equal(50, result.Scheduled);
        Assert.Equal(50, result.Completed);
        Assert.Equal(50, result.SendLag.TotalCount);
        // The last request was due at 0.49 s and could only finish after 50 x 50 ms = 2.5 s: about 2 s late.
        Assert.True(result.MaxMs >= 1500, $"max {result.MaxMs} ms: the queue behind a slow server is charged");
    }

    private static long CountAtLeast(LongHistogram h, long micros) =>
        h.RecordedValues().Where(v => v.ValueIteratedTo >= micros).Sum(v => v.CountAtValueIteratedTo);

    private sealed class ConnectionSet(Uri url, int n) : IAsyncDisposable
    {
        private readonly RawHttpConnection[] _c = Enumerable.Range(0, n).Select(_ => new RawHttpConnection(url, new Dictionary<string, string>())).ToArray();

        public RawHttpConnection this[int i] => _c[i];

        public async ValueTask DisposeAsync()
        {
            foreach (var c in _c)
            {
                await c.DisposeAsync();
            }
        }
    }

    /// <summary>Kestrel serving /px.gif one request at a time; request number N holds everyone up for 200 ms, once.</summary>
    private sealed class StallingServer : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly SemaphoreSlim _oneAtATime = new(1, 1);
        private int _count;

        private StallingServer(WebApplication app, Uri url)
        {
            _app = app;
            Url = url;
        }

        public Uri Url { get; private set; }

        public bool Stalled { get; private set; }

        public static async Task<StallingServer> StartAsync(int stallOnRequest)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
            var app = builder.Build();
            var server = new StallingServer(app, new Uri("http://placeholder"));
            app.MapGet("/px.gif", async (HttpContext ctx) =>
            {
                await server._oneAtATime.WaitAsync();
                try
                {
                    if (Interlocked.Increment(ref server._count) == stallOnRequest)
                    {
                        server.Stalled = true;
                        await Task.Delay(StallMs);
                    }
                }
                finally
                {
                    server._oneAtATime.Release();
                }

                ctx.Response.ContentType = "image/gif";
                ctx.Response.ContentLength = 6;
                await ctx.Response.Body.WriteAsync("GIF89a"u8.ToArray());
            });
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
            server.Url = new Uri(address + "/px.gif");
            return server;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.DisposeAsync();
            _oneAtATime.Dispose();
        }
    }
}
