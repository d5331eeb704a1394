using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GoTrack.Tests.Browser;

/// <summary>
/// A web site on its own port of 127.0.0.1 (another origin than the collector, the same site, as a
/// collector on a subdomain is) with pages that carry the seed's two snippets, verbatim but for the host.
/// </summary>
public sealed class TestSite : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TestSite(WebApplication app, string origin)
    {
        _app = app;
        Origin = origin;
    }

    /// <summary>http://127.0.0.1:port, without a trailing slash.</summary>
    public string Origin { get; }

    public string Url(string path) => Origin + path;

    /// <summary>The seed's <c>&lt;img&gt;</c> tag ("JS snippet (pixel)"), character for character but the host.</summary>
    public static string ImgSnippet(string collector) => $$"""
        <img src="{{collector}}/px.gif?e=pageview&url=" + encodeURIComponent(location.href) +
             "&ref=" + encodeURIComponent(document.referrer)
             width="1" height="1" style="display:none" alt="">
        """;

    /// <summary>The seed's async loader, character for character but the host.</summary>
    public static string Loader(string collector) => $$"""
        <script>
        (function(){
          var img = new Image(1,1);
          var q = new URLSearchParams({
            e: 'pageview',
            url: location.href,
            ref: document.referrer
          });
          img.src = '{{collector}}/px.gif?' + q.toString();
        })();
        </script>
        """;

    /// <summary>
    /// Serves /a, /b (the loader and a link to the other page) and /both (both snippets, a link to /b), and
    /// <paramref name="pages"/> (path, whole HTML document) as they are.
    /// </summary>
    public static async Task<TestSite> StartAsync(string collector, IReadOnlyDictionary<string, string>? pages = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapGet("/a", () => Page("A", Loader(collector), "/b"));
        app.MapGet("/b", () => Page("B", Loader(collector), "/a"));
        app.MapGet("/both", () => Page("Both", ImgSnippet(collector) + "\n" + Loader(collector), "/b"));
        foreach (var (path, html) in pages ?? new Dictionary<string, string>())
        {
            app.MapGet(path, () => Results.Content(html, "text/html; charset=utf-8"));
        }

        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new TestSite(app, address.TrimEnd('/'));
    }

    private static IResult Page(string title, string snippets, string next) => Results.Content(Document(title, snippets, next), "text/html; charset=utf-8");

    /// <summary>A page as /a, /b and /both are: a title, <paramref name="snippets"/>, and a link #next to <paramref name="next"/>.</summary>
    public static string Document(string title, string snippets, string next) =>
        $"""
        <!doctype html>
        <html><head><meta charset="utf-8"><title>{title}</title></head>
        <body>
        <h1>{title}</h1>
        {snippets}
        <a id="next" href="{next}">next</a>
        </body></html>
        """;

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
