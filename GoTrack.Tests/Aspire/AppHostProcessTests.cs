using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using GoTrack.Tests.EndToEnd;
using GoTrack.Tests.Postgres;
using GoTrack.Tests.SinkWorker;
using GoTrack.Tests.Support;

namespace GoTrack.Tests.Aspire;

/// <summary>
/// The AppHost as a new user starts it: <c>dotnet run --project GoTrack.AppHost --launch-profile http</c>,
/// a real process with the profile's dashboard, on a machine without a trusted developer certificate
/// (without the profile it stops at start: "Unable to configure HTTPS endpoint"). Existing servers come
/// through ConnectionStrings (librdkafka's mock cluster and a throwaway PostgreSQL), so no Docker is needed.
/// </summary>
[Collection(AppHostGroup.Name)]
public sealed partial class AppHostProcessTests : IAsyncLifetime
{
    private SinkWorkerRig _rig = null!;

    public async Task InitializeAsync() => _rig = await SinkWorkerRig.CreateAsync();

    public async Task DisposeAsync() => await _rig.DisposeAsync();

    [Fact]
    public async Task The_http_profile_starts_the_AppHost_its_dashboard_answers_and_a_pixel_reaches_Postgres()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var ct = timeout.Token;
        using var walDir = new TempDir();
        var dashboard = new Uri(HttpProfileApplicationUrl());
        var ingestPort = PublishedIngest.FreePort();
        var ingest = new Uri($"http://localhost:{ingestPort.ToString(CultureInfo.InvariantCulture)}");

        using var appHost = StartAppHost(
            "--ConnectionStrings:kafka=" + _rig.Kafka.Bootstrap,
            "--ConnectionStrings:analytics=" + _rig.Server.ConnectionString(_rig.Database),
            "--GoTrack:IngestPort=" + ingestPort.ToString(CultureInfo.InvariantCulture),
            "--GoTrack:IngestWalDir=" + walDir.Path);
        var dcp = new List<Process>();
        try
        {
            // The dashboard: on the profile's URL, over plain HTTP. Its browser-token login lets a browser in
            // with the URL the AppHost prints; without it, the dashboard sends it to the login page.
            var login = await WaitForLoginUrlAsync(appHost, ct);
            dcp.AddRange(DcpWatching(appHost.Process));
            Assert.Equal(2, dcp.Count); // start-apiserver and run-controllers
            Assert.StartsWith(dashboard.GetLeftPart(UriPartial.Authority) + "/login?t=", login.ToString(), StringComparison.Ordinal);
            using (var anonymous = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }))
            {
                using var refused = await anonymous.GetAsync(dashboard, ct);
                Assert.Equal(HttpStatusCode.Redirect, refused.StatusCode);
                Assert.Equal("/login", new Uri(dashboard, refused.Headers.Location!).AbsolutePath);
            }

            using (var browser = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer() }))
            {
                using var page = await browser.GetAsync(login, ct);
                Assert.Equal(HttpStatusCode.OK, page.StatusCode);
                Assert.Equal(dashboard.GetLeftPart(UriPartial.Authority) + "/", page.RequestMessage!.RequestUri!.ToString());
                Assert.Contains("<meta name=\"aspire-version\"", await page.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);
            }

            // Ingest on the port given to it; one pixel, through Kafka and the worker, into Postgres once.
            using var client = new HttpClient { BaseAddress = ingest };
            await WaitAnswersAsync(client, appHost, ct);
            using var pixel = await client.GetAsync("/px.gif?e=pageview&url=https%3A%2F%2Fexample.com%2Fhttp-profile", ct);
            Assert.Equal(HttpStatusCode.OK, pixel.StatusCode);
            await _rig.WaitRowsAsync(1, TimeSpan.FromMinutes(2));
            Assert.Equal("https://example.com/http-profile", Assert.Single(await Sql.RowsAsync(_rig.Check, "select payload->>'url' from events_json"))[0]);

            // A signal to dotnet run stops the AppHost, and then DCP stops what it started and exits.
            PublishedIngest.SendSigterm(appHost.Process);
            await appHost.Process.WaitForExitAsync(ct);
            foreach (var process in dcp)
            {
                await process.WaitForExitAsync(ct);
            }

            await AssertClosedAsync(ingest);
            await AssertClosedAsync(dashboard);
        }
        finally
        {
            // DCP runs detached from the AppHost's tree, so its tree (the dashboard, the services) goes too.
            foreach (var process in dcp.Prepend(appHost.Process))
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                }
            }

            dcp.ForEach(p => p.Dispose());
        }
    }

    /// <summary>
    /// The DCP processes started for the AppHost under <paramref name="dotnetRun"/>: DCP detaches from the
    /// AppHost and watches its process instead (<c>dcp start-apiserver --monitor PID</c>), and runs its
    /// controllers, which start the dashboard and the services, as a child (<c>dcp run-controllers</c>).
    /// </summary>
    private static List<Process> DcpWatching(Process dotnetRun)
    {
        var pids = Pids();
        var appHosts = pids.Where(pid => ParentPid(pid) == dotnetRun.Id).Select(pid => pid.ToString(CultureInfo.InvariantCulture)).ToHashSet();
        var apiServers = pids.Where(pid => CommandLine(pid) is [var dcp, "start-apiserver", .. var rest]
            && dcp.EndsWith("/dcp", StringComparison.Ordinal)
            && rest.Index().Any(a => a.Item == "--monitor" && a.Index + 1 < rest.Length && appHosts.Contains(rest[a.Index + 1]))).ToList();
        var controllers = pids.Where(pid => apiServers.Contains(ParentPid(pid)) && CommandLine(pid) is [_, "run-controllers", ..]);
        return apiServers.Concat(controllers).Select(Process.GetProcessById).ToList();
    }

    private static List<int> Pids() =>
        Directory.EnumerateDirectories("/proc").Select(Path.GetFileName).Where(n => n!.All(char.IsAsciiDigit)).Select(n => int.Parse(n!, CultureInfo.InvariantCulture)).ToList();

    private static int ParentPid(int pid)
    {
        try
        {
            // /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces, so read after its ')'.
            var stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return -1;
        }
    }

    private static string[] CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/cmdline").Split('\0', StringSplitOptions.RemoveEmptyEntries);
        }
        catch (IOException)
        {
            return [];
        }
    }

    /// <summary>The http profile's dashboard URL, as GoTrack.AppHost/Properties/launchSettings.json gives it.</summary>
    private static string HttpProfileApplicationUrl()
    {
        var path = Path.Combine(PublishedIngest.RepoRoot(), "GoTrack.AppHost", "Properties", "launchSettings.json");
        using var settings = JsonDocument.Parse(File.ReadAllText(path));
        var profile = settings.RootElement.GetProperty("profiles").GetProperty("http");
        Assert.Equal("true", profile.GetProperty("environmentVariables").GetProperty("ASPIRE_ALLOW_UNSECURED_TRANSPORT").GetString());
        return profile.GetProperty("applicationUrl").GetString()!;
    }

    private static RunningAppHost StartAppHost(params string[] appArgs)
    {
        // The configuration these tests were built in, which built the AppHost too (--no-build needs it).
        var configuration = typeof(AppHostProcessTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = PublishedIngest.RepoRoot(),
        };
        foreach (var arg in (string[])["run", "--project", "GoTrack.AppHost", "--launch-profile", "http", "--no-build", "-c", configuration, "--", .. appArgs])
        {
            info.ArgumentList.Add(arg);
        }

        var appHost = new RunningAppHost(new Process { StartInfo = info });
        appHost.Process.OutputDataReceived += (_, e) => appHost.Add(e.Data);
        appHost.Process.ErrorDataReceived += (_, e) => appHost.Add(e.Data);
        appHost.Process.Start();
        appHost.Process.BeginOutputReadLine();
        appHost.Process.BeginErrorReadLine();
        return appHost;
    }

    private static async Task<Uri> WaitForLoginUrlAsync(RunningAppHost appHost, CancellationToken ct)
    {
        while (true)
        {
            if (LoginLine().Match(appHost.Output) is { Success: true } match)
            {
                return new Uri(match.Groups[1].Value);
            }

            Assert.False(appHost.Process.HasExited, "the AppHost stopped at start:\n" + appHost.Output);
            Assert.False(ct.IsCancellationRequested, "no dashboard login URL in time:\n" + appHost.Output);
            await Task.Delay(200, CancellationToken.None);
        }
    }

    /// <summary>Waits until ingest answers HTTP at all (the endpoint's proxy drops connections until then).</summary>
    private static async Task WaitAnswersAsync(HttpClient client, RunningAppHost appHost, CancellationToken ct)
    {
        while (true)
        {
            Assert.False(appHost.Process.HasExited, "the AppHost stopped:\n" + appHost.Output);
            Assert.False(ct.IsCancellationRequested, "ingest did not answer in time:\n" + appHost.Output);
            try
            {
                using var response = await client.GetAsync("/", ct);
                return;
            }
            catch (HttpRequestException)
            {
                await Task.Delay(200, CancellationToken.None);
            }
        }
    }

    private static async Task AssertClosedAsync(Uri uri)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync(uri));
    }

    [GeneratedRegex(@"Login to the dashboard at (http://\S+)")]
    private static partial Regex LoginLine();

    private sealed class RunningAppHost(Process process) : IDisposable
    {
        private readonly StringBuilder _output = new();

        public Process Process { get; } = process;

        public string Output
        {
            get
            {
                lock (_output)
                {
                    return _output.ToString();
                }
            }
        }

        public void Add(string? line)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }

        public void Dispose() => Process.Dispose();
    }
}
