using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace GoTrack.Core.Sinks;

/// <summary>
/// An NDJSON file of records a sink could never write, one line each:
/// <c>{"failed_at":"...","sink":"postgres","error":"22P05: ...","event_id":"...","event":{...}}</c>.
/// <c>event</c> is the record's JSON as it was; when those bytes are not JSON at all they go in
/// <c>event_text</c> (a JSON string) or, when not even UTF-8, <c>event_base64</c>, so every line stays valid
/// NDJSON. Lines are appended and fsynced before the batch counts as written.
/// </summary>
public sealed class DeadLetterFile(string path, TimeProvider time) : IDisposable
{
    private readonly string _path = Path.GetFullPath(path);
    private readonly SemaphoreSlim _lock = new(1, 1);

    public string FilePath => _path;

    public async Task AppendAsync(string sink, IReadOnlyList<RejectedRecord> rejected, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rejected);
        if (rejected.Count == 0)
        {
            return;
        }

        var buffer = new ArrayBufferWriter<byte>();
        var failedAt = time.GetUtcNow().UtcDateTime;
        foreach (var item in rejected)
        {
            WriteLine(buffer, sink, failedAt, item);
        }

        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var dir = Path.GetDirectoryName(_path);
            if (!string.IsNullOrEmpty(dir))
            {
                Directory.CreateDirectory(dir);
            }

            var file = new FileStream(_path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read, bufferSize: 0, useAsync: true);
            await using (file.ConfigureAwait(false))
            {
                NdjsonFileSink.CutTornTail(file);
                file.Position = file.Length;
                await file.WriteAsync(buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
                file.Flush(flushToDisk: true);
            }
        }
        finally
        {
            _lock.Release();
        }
    }

    private static void WriteLine(ArrayBufferWriter<byte> buffer, string sink, DateTime failedAt, RejectedRecord item)
    {
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("failed_at"u8, failedAt);
            w.WriteString("sink"u8, sink);
            w.WriteString("error"u8, item.Error);
            w.WriteString("event_id"u8, item.Record.EventId);
            WriteEvent(w, item.Record.Json);
            w.WriteEndObject();
        }

        buffer.Write("\n"u8);
    }

    private static void WriteEvent(Utf8JsonWriter w, byte[] json)
    {
        if (IsJson(json))
        {
            w.WritePropertyName("event"u8);
            w.WriteRawValue(json, skipInputValidation: true);
        }
        else if (Utf8.IsValid(json))
        {
            w.WriteString("event_text"u8, Encoding.UTF8.GetString(json));
        }
        else
        {
            w.WriteBase64String("event_base64"u8, json);
        }
    }

    private static bool IsJson(byte[] json)
    {
        if (json.Length == 0)
        {
            return false;
        }

        try
        {
            // A final-block reader throws on anything but exactly one complete JSON value.
            var reader = new Utf8JsonReader(json);
            while (reader.Read())
            {
            }

            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    public void Dispose() => _lock.Dispose();
}
