using System.Net.ServerSentEvents;
using Microsoft.AspNetCore.Http;

namespace GoTrack.Ingest.Debugging;

/// <summary>/debug (the page) and /debug/events (Server-Sent Events of <see cref="DebugFeed"/>).</summary>
/// <remarks>
/// With OPS_ADDR both answer on the management port only (UseOperationsPort). Without it there is one port,
/// the public one, and the stream shows every visitor's stored events: then only a client on this machine
/// gets them, and not through a reverse proxy (a proxy on the same host connects from loopback on behalf of
/// anyone, and says so in Forwarded or X-Forwarded-For). Anyone else gets 403 naming OPS_ADDR.
/// </remarks>
internal static class DebugPage
{
    public const string Path = "/debug";

    private const string LoopbackOnly =
        "DEBUG_UI: without OPS_ADDR the debugger answers only clients on this machine, not through a proxy. Set OPS_ADDR to serve it on the management port.";

    public static void Map(WebApplication app, DebugFeed feed)
    {
        var loopbackOnly = app.Services.GetRequiredService<Configuration.IngestOptions>().OpsPort is null;
        app.MapGet(Path, (HttpContext context) => Allowed(context, loopbackOnly)
            ? Results.Content(Html, "text/html; charset=utf-8")
            : Results.Text(LoopbackOnly, statusCode: StatusCodes.Status403Forbidden));
        app.MapGet(Path + "/events", (HttpContext context, CancellationToken cancellationToken) => Allowed(context, loopbackOnly)
            ? TypedResults.ServerSentEvents(Items(feed, cancellationToken))
            : Results.Text(LoopbackOnly, statusCode: StatusCodes.Status403Forbidden));
    }

    private static bool Allowed(HttpContext context, bool loopbackOnly)
    {
        if (!loopbackOnly)
        {
            return true;
        }

        var headers = context.Request.Headers;
        return context.Connection.RemoteIpAddress is { } peer && System.Net.IPAddress.IsLoopback(peer.IsIPv4MappedToIPv6 ? peer.MapToIPv4() : peer)
            && !headers.ContainsKey("Forwarded") && !headers.ContainsKey("X-Forwarded-For") && !headers.ContainsKey("X-Real-IP");
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
