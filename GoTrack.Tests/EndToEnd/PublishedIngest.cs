using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace GoTrack.Tests.EndToEnd;

/// <summary>Publishes GoTrack.Ingest once per test run, the way a user deploys it.</summary>
public sealed class PublishedIngest : IAsyncLifetime
{
    public string Directory { get; } = Path.Combine(Path.GetTempPath(), "gotrack-tests", "published-" + Guid.NewGuid().ToString("N"));

    public string Executable => Path.Combine(Directory, "GoTrack.Ingest");

    public static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "GoTrack.Aspire.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("GoTrack.Aspire.sln not found above the test binaries");
    }

    public Task InitializeAsync() => PublishAsync(Directory, "");

    public Task DisposeAsync() => DeleteAsync(Directory);

    /// <summary>Publishes GoTrack.Ingest in Release into <paramref name="directory"/>, with <paramref name="extraArgs"/>.</summary>
    public static async Task PublishAsync(string directory, string extraArgs, TimeSpan? timeout = null)
    {
        var project = Path.Combine(RepoRoot(), "GoTrack.Ingest", "GoTrack.Ingest.csproj");
        var (code, output) = await RunAsync("dotnet", $"publish \"{project}\" -c Release {extraArgs} -o \"{directory}\" -nologo -v q", timeout ?? TimeSpan.FromMinutes(5));
        if (code != 0)
        {
            throw new InvalidOperationException("dotnet publish failed:\n" + output);
        }
    }

    public static Task DeleteAsync(string directory)
    {
        try
        {
            System.IO.Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }

        return Task.CompletedTask;
    }

    public static async Task<(int Code, string Output)> RunAsync(string file, string args, TimeSpan timeout, IDictionary<string, string>? env = null)
    {
        using var process = Start(file, args, env, out var output);
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            // A hung child (node, a browser it started, dotnet publish) must not outlive the test run.
            process.Kill(entireProcessTree: true);
            using var reaped = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await process.WaitForExitAsync(reaped.Token); // bounded: a grandchild outside the tree may hold the pipes
            }
            catch (OperationCanceledException)
            {
            }

            throw new TimeoutException($"{file} {args} did not exit within {timeout}; killed. Output:\n{output}");
        }

        process.WaitForExit();
        return (process.ExitCode, output.ToString());
    }

    public static Process Start(string file, string args, IDictionary<string, string>? env, out StringBuilder output)
    {
        var info = new ProcessStartInfo(file, args)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (k, v) in env ?? new Dictionary<string, string>())
        {
            info.Environment[k] = v;
        }

        var sb = new StringBuilder();
        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => { lock (sb) { sb.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (sb) { sb.AppendLine(e.Data); } };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        output = sb;
        return process;
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [DllImport("libc", SetLastError = true, EntryPoint = "kill")]
    private static extern int SysKill(int pid, int signal);

    public static void SendSigterm(Process process)
    {
        if (SysKill(process.Id, 15) != 0)
        {
            throw new InvalidOperationException("kill(SIGTERM) failed: " + Marshal.GetLastPInvokeError());
        }
    }

    public static async Task WaitUntilUpAsync(HttpClient client, Process process, StringBuilder output)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException("GoTrack.Ingest exited at start:\n" + output);
            }

            try
            {
                using var r = await client.GetAsync("/healthz");
                if (r.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(100);
        }

        throw new TimeoutException("GoTrack.Ingest did not come up:\n" + output);
    }
}

[CollectionDefinition(Name)]
public sealed class PublishedBinaryGroup : ICollectionFixture<PublishedIngest>
{
    public const string Name = "published binary";
}
