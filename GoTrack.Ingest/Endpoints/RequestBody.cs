using System.Buffers;
using System.IO.Compression;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;

namespace GoTrack.Ingest.Endpoints;

/// <summary>
/// Reads a request body into a pooled buffer, decompressing <c>Content-Encoding: gzip</c> or <c>deflate</c>
/// as it streams (server-side SDKs compress their batches). The limit applies to the decompressed bytes and
/// reading stops at the first byte past it, so a decompression bomb costs at most MAX_BODY_BYTES.
/// </summary>
internal static class RequestBody
{
    public enum Status
    {
        Ok,
        TooLarge,
        UnsupportedEncoding,
        Corrupt,
    }

    /// <summary>The status code and reason to answer when there is no body.</summary>
    public static (int StatusCode, string Reason) Refusal(Status status, int max) => status switch
    {
        Status.UnsupportedEncoding => (StatusCodes.Status415UnsupportedMediaType, "content encoding must be gzip, deflate or identity"),
        Status.Corrupt => (StatusCodes.Status400BadRequest, "the compressed body is corrupt"),
        _ => (StatusCodes.Status413PayloadTooLarge, $"body is larger than {max} bytes (MAX_BODY_BYTES)"),
    };

    /// <summary>The body, or why there is none. The caller returns <c>Buffer</c> to <see cref="ArrayPool{T}.Shared"/>.</summary>
    public static async Task<(byte[]? Buffer, int Length, Status Status)> ReadAsync(HttpRequest request, int max, CancellationToken cancellationToken)
    {
        var encoding = request.Headers.ContentEncoding;
        Stream? decoder = null;
        if (encoding.Count > 1)
        {
            return (null, 0, Status.UnsupportedEncoding);
        }

        var name = encoding.Count == 1 ? encoding[0].AsSpan().Trim() : default;
        if (name.Equals("gzip", StringComparison.OrdinalIgnoreCase) || name.Equals("x-gzip", StringComparison.OrdinalIgnoreCase))
        {
            decoder = new GZipStream(request.Body, CompressionMode.Decompress, leaveOpen: true);
        }
        else if (name.Equals("deflate", StringComparison.OrdinalIgnoreCase))
        {
            // HTTP's "deflate" is the zlib format (RFC 9110, 8.4.1.2).
            decoder = new ZLibStream(request.Body, CompressionMode.Decompress, leaveOpen: true);
        }
        else if (!name.IsEmpty && !name.Equals("identity", StringComparison.OrdinalIgnoreCase))
        {
            return (null, 0, Status.UnsupportedEncoding);
        }

        var source = decoder ?? request.Body;
        var initial = decoder is null ? (int)Math.Min(request.ContentLength ?? 16 * 1024, max) : 16 * 1024;
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(initial, max) + 1);
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, max + 1));
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }

                var read = await source.ReadAsync(buffer.AsMemory(length, Math.Min(buffer.Length, max + 1) - length), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    var result = (buffer, length, Status.Ok);
                    buffer = null;
                    return result;
                }

                length += read;
                if (length > max)
                {
                    return (null, 0, Status.TooLarge);
                }
            }
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, 0, Status.TooLarge);
        }
        catch (InvalidDataException)
        {
            return (null, 0, Status.Corrupt);
        }
        catch (IOException ex) when (decoder is not null && ex is not BadHttpRequestException and not ConnectionResetException)
        {
            // zlib's Z_NEED_DICT (a header asking for a preset dictionary) and its other non-data errors arrive as
            // System.IO.Compression's internal ZLibException, an IOException. Kestrel's own body errors (a reset,
            // a bad request) are excluded by type; what is left came from the decoder and means a corrupt body.
            return (null, 0, Status.Corrupt);
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            if (decoder is not null)
            {
                await decoder.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
