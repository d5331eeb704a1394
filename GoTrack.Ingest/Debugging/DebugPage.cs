using System.Net.ServerSentEvents;
using Microsoft.AspNetCore.Http;

namespace GoTrack.Ingest.Debugging;

/// <summary>/debug (the page) and /debug/events (Server-Sent Events of <see cref="DebugFeed"/>).</summary>
internal static class DebugPage
{
    public const string Path = "/debug";

    public static void Map(WebApplication app, DebugFeed feed)
    {
        app.MapGet(Path, () => Results.Content(Html, "text/html; charset=utf-8"));
        app.MapGet(Path + "/events", (CancellationToken cancellationToken) =>
            TypedResults.ServerSentEvents(Items(feed, cancellationToken)));
    }

    private static async IAsyncEnumerable<SseItem<string>> Items(DebugFeed feed, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // First a "ready" event: the response (and the browser's EventSource.onopen) starts now, not at the first entry.
        yield return new SseItem<string>("{}", "ready");
        await foreach (var entry in feed.WatchAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return new SseItem<string>(entry, "entry");
        }
    }

    private const string Html = """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>GoTrack live events</title>
        <style>
        body{font:14px system-ui,sans-serif;margin:1.5rem;color:#222}
        h1{font-size:1.2rem} #log{list-style:none;padding:0}
        li{border-left:4px solid #2a7;padding:.3rem .6rem;margin:.3rem 0;background:#f6f8f7}
        li.refused{border-color:#c53;background:#fbf3f1}
        .meta{color:#666;font-size:12px} pre{margin:.2rem 0;white-space:pre-wrap;word-break:break-all}
        </style></head>
        <body>
        <h1>GoTrack live events</h1>
        <p class="meta">The last events as the sinks get them (after the privacy policy), every refused or dropped
        event with its reason, and every request refused as a whole with its status. Newest first. <span id="state">connecting…</span></p>
        <ul id="log"></ul>
        <script>
        const log = document.getElementById('log'), state = document.getElementById('state');
        const source = new EventSource('/debug/events');
        source.onopen = () => state.textContent = 'live';
        source.onerror = () => state.textContent = 'reconnecting…';
        source.addEventListener('entry', m => {
          const e = JSON.parse(m.data), li = document.createElement('li');
          li.className = e.kind;
          const meta = document.createElement('div');
          meta.className = 'meta';
          meta.textContent = `${e.at} ${e.endpoint} ` + (e.status ? `${e.status} ` : '') + e.outcome + (e.reason ? ` — ${e.reason}` : '');
          li.appendChild(meta);
          if (e.event) {
            const pre = document.createElement('pre');
            pre.textContent = JSON.stringify(e.event);
            li.dataset.eventId = e.event.event_id;
            li.appendChild(pre);
          }
          log.prepend(li);
          while (log.children.length > 200) log.lastChild.remove();
        });
        </script>
        </body></html>
        """;
}
