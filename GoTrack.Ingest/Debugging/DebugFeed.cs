using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using GoTrack.Core.Events;

namespace GoTrack.Ingest.Debugging;

/// <summary>
/// DEBUG_UI: the last events as stored, and each refusal with its reason, for the live debugger at /debug.
/// An event is shown as the sinks get it (its JSON after the privacy policy, never the request); a refused
/// or dropped event is shown by its outcome and reason only, never its content. Off, every call returns at
/// once. Memory is bounded: the last <see cref="Capacity"/> entries, and each watcher's queue drops its oldest.
/// </summary>
public sealed class DebugFeed(bool enabled, TimeProvider time)
{
    public const int Capacity = 200;

    private readonly Queue<string> _recent = new(Capacity);
    private readonly List<Channel<string>> _watchers = [];
    private readonly Lock _gate = new();

    public bool Enabled => enabled;

    /// <summary>Events appended to the log (accepted).</summary>
    public void Stored(string endpoint, ReadOnlySpan<Record> records)
    {
        if (!enabled)
        {
            return;
        }

        foreach (var record in records)
        {
            Publish(Entry("stored", endpoint, "accepted", null, record.Json));
        }
    }

    /// <summary>Events not stored: rejected (with the reason the client got) or deliberately dropped.</summary>
    public void Refused(string endpoint, string outcome, string? reason, int count = 1)
    {
        if (!enabled || count <= 0)
        {
            return;
        }

        Publish(Entry("refused", endpoint, outcome, count == 1 ? reason : $"{count} events: {reason ?? outcome}", default));
    }

    /// <summary>
    /// A request refused as a whole, before any event in it was read (a wrong content type, a body that is not
    /// JSON, too large, a wrong method): the path it came to, the status and the reason the client got.
    /// </summary>
    public void RequestRefused(string path, int statusCode, string reason)
    {
        if (!enabled)
        {
            return;
        }

        Publish(Entry("refused", path, RequestRefusedOutcome, reason, default, statusCode));
    }

    /// <summary>The outcome of <see cref="RequestRefused"/> entries (not a gotrack_events_total outcome: no event was read).</summary>
    public const string RequestRefusedOutcome = "request_refused";

    /// <summary>The entries so far, then each new one, until the watcher goes away.</summary>
    public async IAsyncEnumerable<string> WatchAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var channel = Channel.CreateBounded<string>(new BoundedChannelOptions(Capacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
        string[] backlog;
        lock (_gate)
        {
            backlog = [.. _recent];
            _watchers.Add(channel);
        }

        try
        {
            foreach (var entry in backlog)
            {
                yield return entry;
            }

            await foreach (var entry in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return entry;
            }
        }
        finally
        {
            lock (_gate)
            {
                _watchers.Remove(channel);
            }
        }
    }

    private string Entry(string kind, string endpoint, string outcome, string? reason, ReadOnlySpan<byte> json, int statusCode = 0)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256 + json.Length);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("kind"u8, kind);
            w.WriteString("at"u8, time.GetUtcNow());
            w.WriteString("endpoint"u8, endpoint);
            w.WriteString("outcome"u8, outcome);
            if (statusCode != 0)
            {
                w.WriteNumber("status"u8, statusCode);
            }

            if (reason is not null)
            {
                w.WriteString("reason"u8, reason);
            }

            if (!json.IsEmpty)
            {
                w.WritePropertyName("event"u8);
                w.WriteRawValue(json, skipInputValidation: true);
            }

            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private void Publish(string entry)
    {
        lock (_gate)
        {
            if (_recent.Count == Capacity)
            {
                _recent.Dequeue();
            }

            _recent.Enqueue(entry);
            foreach (var watcher in _watchers)
            {
                watcher.Writer.TryWrite(entry);
            }
        }
    }
}
