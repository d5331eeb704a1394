using System.Net;
using System.Net.Sockets;

namespace GoTrack.DevKafka;

/// <summary>
/// Listens on a port and pipes every connection to a mock broker's own (random) port. The broker
/// advertises this port in its metadata, so clients only ever see this one.
/// </summary>
/// <remarks>
/// It can also play a broker that is down (<see cref="Refuse"/>): open connections are closed and new
/// ones are refused, until <see cref="Accept"/>. The port is never given up meanwhile: the listening
/// socket stops listening (a shutdown of its receiving side, on Linux) and listens again later, bound
/// all along. librdkafka's own broker-down closes its listener and binds a new one to the same port,
/// and that bind fails, aborting the whole process, when a child process forked at that moment still
/// holds the old listener (until its exec closes it).
/// </remarks>
internal sealed class TcpForwarder : IAsyncDisposable
{
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly IPEndPoint _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly HashSet<Socket> _open = [];
    private TaskCompletionSource _accepting = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _refusing;
    private Task _loop = Task.CompletedTask;

    /// <param name="listen">Where to listen; with port 0, a free port is chosen and kept.</param>
    /// <param name="target">The broker's own address.</param>
    public TcpForwarder(IPEndPoint listen, IPEndPoint target)
    {
        ArgumentNullException.ThrowIfNull(listen);
        _target = target;
        _accepting.SetResult();
        BindKeepingThePort(listen);
    }

    /// <summary>The port clients connect to.</summary>
    public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

    public void Start()
    {
        _listener.Listen();
        _loop = AcceptAsync(_stop.Token);
    }

    /// <summary>Closes every open connection and refuses new ones, keeping the port.</summary>
    public void Refuse()
    {
        lock (_gate)
        {
            if (_refusing)
            {
                return;
            }

            _listener.Shutdown(SocketShutdown.Receive);
            _refusing = true;
            _accepting = new(TaskCreationOptions.RunContinuationsAsynchronously);
            foreach (var socket in _open)
            {
                socket.Dispose();
            }

            _open.Clear();
        }
    }

    /// <summary>Accepts connections again, on the same port.</summary>
    public void Accept()
    {
        lock (_gate)
        {
            if (!_refusing)
            {
                return;
            }

            _listener.Listen();
            _refusing = false;
            _accepting.SetResult();
        }
    }

    /// <summary>
    /// Binds to an explicit port even when asked for any: a socket bound to port 0 gives its port back
    /// when it stops listening, and would come back on another one.
    /// </summary>
    private void BindKeepingThePort(IPEndPoint listen)
    {
        if (listen.Port != 0)
        {
            _listener.Bind(listen);
            return;
        }

        for (var attempt = 1; ; attempt++)
        {
            int port;
            using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
            {
                probe.Bind(listen);
                port = ((IPEndPoint)probe.LocalEndPoint!).Port;
            }

            try
            {
                _listener.Bind(new IPEndPoint(listen.Address, port));
                return;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse && attempt < 20)
            {
                // Someone took it between the probe and the bind; try another.
            }
        }
    }

    private async Task AcceptAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            Task accepting;
            lock (_gate)
            {
                accepting = _accepting.Task;
            }

            Socket client;
            try
            {
                await accepting.WaitAsync(ct).ConfigureAwait(false);
                client = await _listener.AcceptAsync(ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException || ct.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.InvalidArgument)
            {
                // Not listening: Refuse was called. Wait until Accept.
                continue;
            }
            catch (SocketException)
            {
                // Out of descriptors or buffers, or a connection reset before it was accepted: the listener
                // is still there, so keep accepting rather than leave the broker looking down for good.
                try
                {
                    await Task.Delay(50, ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                continue;
            }

            _ = PipeAsync(client, ct);
        }
    }

    private async Task PipeAsync(Socket client, CancellationToken ct)
    {
        using (client)
        using (var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            lock (_gate)
            {
                if (_refusing)
                {
                    return;
                }

                _open.Add(client);
                _open.Add(upstream);
            }

            try
            {
                client.NoDelay = true;
                upstream.NoDelay = true;
                await upstream.ConnectAsync(_target, ct).ConfigureAwait(false);
                await using var a = new NetworkStream(client, ownsSocket: false);
                await using var b = new NetworkStream(upstream, ownsSocket: false);
                using var done = CancellationTokenSource.CreateLinkedTokenSource(ct);
                var up = a.CopyToAsync(b, done.Token);
                var down = b.CopyToAsync(a, done.Token);
                await Task.WhenAny(up, down).ConfigureAwait(false);
                await done.CancelAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or IOException or ObjectDisposedException)
            {
                // A client or the broker hung up, or Refuse closed the pipe; the usings close the rest.
            }
            finally
            {
                lock (_gate)
                {
                    _open.Remove(client);
                    _open.Remove(upstream);
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        _stop.Cancel();
        _listener.Dispose();
        await _loop.ConfigureAwait(false);
        lock (_gate)
        {
            foreach (var socket in _open)
            {
                socket.Dispose();
            }

            _open.Clear();
        }

        _stop.Dispose();
    }
}
