using System.Net;
using System.Net.Sockets;

namespace GoTrack.DevKafka;

/// <summary>
/// Listens on a fixed port and pipes every connection to the mock broker's own (random) port. The
/// broker advertises the fixed port in its metadata, so clients only ever see that one.
/// </summary>
internal sealed class TcpForwarder(IPEndPoint listen, IPEndPoint target) : IAsyncDisposable
{
    private readonly TcpListener _listener = new(listen);
    private readonly CancellationTokenSource _stop = new();
    private Task _accepting = Task.CompletedTask;

    public void Start()
    {
        _listener.Start();
        _accepting = AcceptAsync(_stop.Token);
    }

    private async Task AcceptAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = PipeAsync(client, ct);
        }
    }

    private async Task PipeAsync(Socket client, CancellationToken ct)
    {
        using (client)
        using (var upstream = new Socket(SocketType.Stream, ProtocolType.Tcp))
        {
            try
            {
                client.NoDelay = true;
                upstream.NoDelay = true;
                await upstream.ConnectAsync(target, ct).ConfigureAwait(false);
                await using var a = new NetworkStream(client, ownsSocket: false);
                await using var b = new NetworkStream(upstream, ownsSocket: false);
                using var done = CancellationTokenSource.CreateLinkedTokenSource(ct);
                var up = a.CopyToAsync(b, done.Token);
                var down = b.CopyToAsync(a, done.Token);
                await Task.WhenAny(up, down).ConfigureAwait(false);
                await done.CancelAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or IOException)
            {
                // A client or the broker hung up; the other side is closed by the usings.
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        await _accepting.ConfigureAwait(false);
        _stop.Dispose();
    }
}
