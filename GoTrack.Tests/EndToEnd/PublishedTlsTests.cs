using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using GoTrack.Ingest.Configuration;
using GoTrack.Tests.Support;
using Microsoft.Extensions.Configuration;

namespace GoTrack.Tests.EndToEnd;

/// <summary>TLS_CERT_FILE and TLS_KEY_FILE on the published binary: the pixel over HTTPS, the cookie Secure.</summary>
[Collection(PublishedBinaryGroup.Name)]
public sealed class PublishedTlsTests(PublishedIngest published) : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A self-signed certificate for 127.0.0.1, written as PEM files the way certbot or mkcert write them.</summary>
    private (string Cert, string Key, X509Certificate2 Certificate) WritePem()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=gotrack-test", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        var cert = _dir.File("cert.pem");
        var keyFile = _dir.File("key.pem");
        File.WriteAllText(cert, certificate.ExportCertificatePem());
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        return (cert, keyFile, certificate);
    }

    [Fact]
    public async Task The_pixel_is_served_over_https_and_the_session_cookie_is_secure()
    {
        var (cert, key, certificate) = WritePem();
        var port = PublishedIngest.FreePort();
        var opsPort = PublishedIngest.FreePort();
        var env = new Dictionary<string, string>
        {
            ["SERVER_ADDR"] = $"127.0.0.1:{port}",
            ["OPS_ADDR"] = $"127.0.0.1:{opsPort}",
            ["TLS_CERT_FILE"] = cert,
            ["TLS_KEY_FILE"] = key,
            ["LOG_PATH"] = _dir.File("events.ndjson"),
        };
        using var process = PublishedIngest.Start(published.Executable, "", env, out var output);
        using var ops = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{opsPort}") };
        await PublishedIngest.WaitUntilUpAsync(ops, process, output);
        try
        {
            // Trust exactly this certificate, as a browser that trusts the development CA would.
            using var handler = new HttpClientHandler
            {
                ServerCertificateCustomValidationCallback = (_, presented, _, _) => presented?.Thumbprint == certificate.Thumbprint,
            };
            using var https = new HttpClient(handler) { BaseAddress = new Uri($"https://127.0.0.1:{port}") };
            using var pixel = await https.GetAsync("/px.gif?e=tls");
            Assert.Equal(HttpStatusCode.OK, pixel.StatusCode);
            var cookie = Assert.Single(pixel.Headers.GetValues("Set-Cookie"));
            Assert.Contains("; Secure", cookie, StringComparison.Ordinal);

            // Plain HTTP on the public port is not served; probes stay on plain HTTP on OPS_ADDR.
            using var plain = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => plain.GetAsync("/px.gif?e=plain"));
            Assert.Equal(HttpStatusCode.OK, (await ops.GetAsync("/healthz")).StatusCode);
        }
        finally
        {
            PublishedIngest.SendSigterm(process);
            await process.WaitForExitAsync();
        }

        Assert.Single(await File.ReadAllLinesAsync(_dir.File("events.ndjson")));
    }

    /// <summary>
    /// The image sets ASPNETCORE_HTTP_PORTS and the AppHost ASPNETCORE_URLS: then ASP.NET picks a plain-HTTP
    /// listener, and TLS applies to SERVER_ADDR only. The start stops and says so, rather than serving plain
    /// HTTP with a certificate loaded (and the cookie without Secure).
    /// </summary>
    [Fact]
    public async Task With_ASPNETCORE_HTTP_PORTS_and_no_SERVER_ADDR_TLS_stops_the_start_naming_SERVER_ADDR()
    {
        var (cert, key, _) = WritePem();
        var port = PublishedIngest.FreePort();
        var env = new Dictionary<string, string>
        {
            ["ASPNETCORE_HTTP_PORTS"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["TLS_CERT_FILE"] = cert,
            ["TLS_KEY_FILE"] = key,
            ["LOG_PATH"] = _dir.File("events.ndjson"),
        };
        var (code, output) = await PublishedIngest.RunAsync(published.Executable, "", TimeSpan.FromSeconds(60), env);
        Assert.True(code == 2, $"exit code {code}:\n{output}");
        Assert.Contains("TLS_CERT_FILE: needs SERVER_ADDR", output, StringComparison.Ordinal);
        Assert.False(File.Exists(_dir.File("events.ndjson")));
    }

    [Fact]
    public void A_certificate_without_its_key_or_an_unreadable_pair_fails_the_start()
    {
        var (cert, key, _) = WritePem();
        var garbage = _dir.File("garbage.pem");
        File.WriteAllText(garbage, "not a key");
        foreach (var (settings, expected) in new (Dictionary<string, string?>, string)[]
        {
            (new() { ["TLS_CERT_FILE"] = cert }, "TLS_KEY_FILE: TLS_CERT_FILE and TLS_KEY_FILE go together"),
            (new() { ["TLS_CERT_FILE"] = cert, ["TLS_KEY_FILE"] = _dir.File("missing.pem") }, "TLS_KEY_FILE: file"),
            (new() { ["TLS_CERT_FILE"] = cert, ["TLS_KEY_FILE"] = garbage }, "TLS_CERT_FILE: '"),
            (new() { ["TLS_CERT_FILE"] = cert, ["TLS_KEY_FILE"] = key, ["urls"] = "http://+:8080" }, "TLS_CERT_FILE: needs SERVER_ADDR"),
            (new() { ["TLS_CERT_FILE"] = cert, ["TLS_KEY_FILE"] = key, ["http_ports"] = "8080" }, "TLS_CERT_FILE: needs SERVER_ADDR"),
        })
        {
            var config = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
            IngestSettings.Load(config, out var errors);
            Assert.StartsWith(expected, Assert.Single(errors), StringComparison.Ordinal);
        }
    }
}
