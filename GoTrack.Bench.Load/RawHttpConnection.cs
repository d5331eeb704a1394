using System.Buffers.Text;
using System.Net.Sockets;
using System.Text;

namespace GoTrack.Bench.Load;

/// <summary>
/// One keep-alive HTTP/1.1 connection that sends one fixed GET and reads the answer (status line, headers,
/// Content-Length body): much less CPU per request than HttpClient, so a 2-core box can offer 20k req/s
/// to a server beside it. Reconnects after an error or a <c>Connection: close</c>.
/// </summary>
internal sealed class RawHttpConnection : IAsyncDisposable
{
    private static readonly byte[] HeaderEnd = "\r\n\r\n"u8.ToArray();
    private static readonly byte[] ContentLength = "\r\ncontent-length:"u8.ToArray();
    private readonly string _host;
    private readonly int _port;
    private readonly byte[] _request;
    private readonly byte[] _buffer = new byte[16 * 1024];
    private Socket? _socket;

    public RawHttpConnection(Uri url, IReadOnlyDictionary<string, string> headers)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(headers);
        if (url.Scheme != Uri.UriSchemeHttp)
        {
            throw new ArgumentException("raw mode speaks plain HTTP only; use --client=http for https", nameof(url));
        }

        _host = url.IdnHost;
        _port = url.Port;
        var sb = new StringBuilder();
        sb.Append("GET ").Append(url.PathAndQuery).Append(" HTTP/1.1\r\nHost: ").Append(url.Authority).Append("\r\n");
        foreach (var (name, value) in headers)
        {
            sb.Append(name).Append(": ").Append(value).Append("\r\n");
        }

        sb.Append("\r\n");
        _request = Encoding.ASCII.GetBytes(sb.ToString());
    }

    /// <summary>Sends the request and reads the whole response; true for a 2xx.</summary>
    public async ValueTask<bool> SendAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await SendCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            _socket?.Dispose();
            _socket = null;
            throw;
        }
    }

    private async ValueTask<bool> SendCoreAsync(CancellationToken cancellationToken)
    {
        if (_socket is null)
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(_host, _port, cancellationToken).ConfigureAwait(false);
            _socket = socket;
        }

        await _socket.SendAsync(_request, SocketFlags.None, cancellationToken).ConfigureAwait(false);
        var filled = 0;
        int headerEnd;
        while ((headerEnd = _buffer.AsSpan(0, filled).IndexOf(HeaderEnd)) < 0)
        {
            filled += await ReceiveSomeAsync(filled, cancellationToken).ConfigureAwait(false);
        }

        var head = _buffer.AsSpan(0, headerEnd + 2);
        // "HTTP/1.1 200 ..."
        if (head.Length < 12 || !Utf8Parser.TryParse(head.Slice(9, 3), out int status, out _))
        {
            throw new InvalidDataException("not an HTTP/1.1 status line");
        }

        var bodyLength = 0;
        var lower = new byte[head.Length];
        for (var k = 0; k < head.Length; k++)
        {
            lower[k] = head[k] is >= (byte)'A' and <= (byte)'Z' ? (byte)(head[k] | 0x20) : head[k];
        }

        var at = lower.AsSpan().IndexOf(ContentLength);
        if (at >= 0)
        {
            var rest = lower.AsSpan(at + ContentLength.Length).TrimStart((byte)' ');
            if (!Utf8Parser.TryParse(rest, out bodyLength, out _))
            {
                throw new InvalidDataException("bad Content-Length");
            }
        }
        else if (lower.AsSpan().IndexOf("transfer-encoding: chunked"u8) >= 0)
        {
            throw new InvalidDataException("chunked responses are not supported in raw mode; use --client=http");
        }

        var need = headerEnd + 4 + bodyLength;
        if (need > _buffer.Length)
        {
            throw new InvalidDataException("response larger than the raw mode's buffer");
        }

        while (filled < need)
        {
            filled += await ReceiveSomeAsync(filled, cancellationToken).ConfigureAwait(false);
        }

        if (lower.AsSpan().IndexOf("\r\nconnection: close"u8) >= 0)
        {
            _socket.Dispose();
            _socket = null;
        }

        return status is >= 200 and < 300;
    }

    private async ValueTask<int> ReceiveSomeAsync(int filled, CancellationToken cancellationToken)
    {
        if (filled == _buffer.Length)
        {
            throw new InvalidDataException("response head larger than the raw mode's buffer");
        }

        var n = await _socket!.ReceiveAsync(_buffer.AsMemory(filled), SocketFlags.None, cancellationToken).ConfigureAwait(false);
        return n == 0 ? throw new IOException("connection closed by the server") : n;
    }

    public ValueTask DisposeAsync()
    {
        _socket?.Dispose();
        return ValueTask.CompletedTask;
    }
}
