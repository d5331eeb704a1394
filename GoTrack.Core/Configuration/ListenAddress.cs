using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace GoTrack.Core.Configuration;

/// <summary>SERVER_ADDR, the Go-style listen address every GoTrack service takes (<c>:19890</c>, <c>host:port</c>, <c>[v6]:port</c>).</summary>
public static class ListenAddress
{
    /// <summary>
    /// SERVER_ADDR wins when set. Otherwise, when ASP.NET's own settings name where to listen (the AppHost
    /// sets ASPNETCORE_URLS; container images set HTTP_PORTS), those win. Otherwise <paramref name="defaultAddress"/> (the seed's :19890 for Ingest).
    /// </summary>
    public static string? Resolve(IConfiguration configuration, SettingsReader r, string defaultAddress)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(r);
        var raw = r.Raw("SERVER_ADDR");
        if (raw is null)
        {
            var aspnetDecides = !string.IsNullOrWhiteSpace(configuration["urls"])
                || !string.IsNullOrWhiteSpace(configuration["http_ports"])
                || !string.IsNullOrWhiteSpace(configuration["https_ports"]);
            if (aspnetDecides)
            {
                return null;
            }

            raw = defaultAddress;
        }

        if (ToUrl(raw) is null)
        {
            r.Error("SERVER_ADDR", $"must be host:port, :port or [ipv6]:port with a port from 0 to 65535 (got '{raw}')");
            return null;
        }

        return raw;
    }

    /// <summary>The port of a listen address or Kestrel URL (<c>:9090</c>, <c>http://*:9090</c>); null when there is none.</summary>
    public static int? PortOf(string addressOrUrl)
    {
        ArgumentNullException.ThrowIfNull(addressOrUrl);
        var text = addressOrUrl.TrimEnd('/');
        var colon = text.LastIndexOf(':');
        return colon >= 0 && int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port <= 65535 ? port : null;
    }

    /// <summary>
    /// The URLs to listen on: <paramref name="serverAddress"/> (or, when it is null, what ASP.NET's own
    /// settings name: urls, HTTP_PORTS), plus the management address unless one of them has its port already
    /// (the AppHost puts every endpoint in ASPNETCORE_URLS). Empty when ASP.NET's defaults should decide.
    /// </summary>
    public static string[] Urls(IConfiguration configuration, string? serverAddress, string? opsAddress)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var urls = new List<string>();
        if (serverAddress is not null)
        {
            urls.Add(ToUrl(serverAddress)!);
        }
        else if (opsAddress is not null)
        {
            if (configuration["urls"] is { Length: > 0 } configured)
            {
                urls.AddRange(configured.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            }
            else if (configuration["http_ports"] is { Length: > 0 } ports)
            {
                urls.AddRange(ports.Split([';', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(p => "http://*:" + p));
            }
        }

        if (opsAddress is not null && !urls.Exists(u => PortOf(u) == PortOf(opsAddress)))
        {
            urls.Add(ToUrl(opsAddress)!);
        }

        return [.. urls];
    }

    /// <summary>Turns a Go-style listen address into a Kestrel URL; null when it is not one.</summary>
    public static string? ToUrl(string address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
        {
            return Uri.TryCreate(address, UriKind.Absolute, out _) ? address : null;
        }

        var colon = address.LastIndexOf(':');
        if (colon < 0)
        {
            return null;
        }

        var host = address[..colon];
        var portText = address[(colon + 1)..];
        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
        {
            return null;
        }

        if (host.Length == 0 || host == "0.0.0.0" || host == "[::]")
        {
            host = host.Length == 0 ? "*" : host;
        }
        else if (host.StartsWith('['))
        {
            if (!host.EndsWith(']') || !System.Net.IPAddress.TryParse(host[1..^1], out _))
            {
                return null;
            }
        }
        else if (host.Contains(':') || Uri.CheckHostName(host) == UriHostNameType.Unknown)
        {
            return null;
        }

        return string.Create(CultureInfo.InvariantCulture, $"http://{host}:{port}");
    }

}
