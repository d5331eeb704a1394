using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace GoTrack.Tests.Postgres;

/// <summary>
/// A throwaway PostgreSQL cluster from the machine's binaries (the newest /usr/lib/postgresql/*/bin):
/// initdb into a temp dir, pg_ctl start on a free 127.0.0.1 port, password auth over TCP. When the
/// tests run as root the cluster runs as the <c>postgres</c> OS user, since initdb refuses root.
/// </summary>
/// <remarks>
/// <see cref="Shared"/> is the one cluster of a test run; give each test class its own database
/// (<see cref="PostgresDatabase"/>). Tests that stop the server use a private cluster from
/// <see cref="StartNewAsync"/> so they disturb nobody. Every cluster is stopped (<c>pg_ctl stop -m fast</c>)
/// and its directory removed at process exit; clusters left by a killed run are cleaned at the next start.
/// </remarks>
public sealed class PostgresServer : IAsyncDisposable
{
    public const string User = "postgres";

    /// <summary>Has characters a URI must percent-encode, so the URI form of PG_DSN is really exercised.</summary>
    public const string Password = "gt p@ss:w/rd";

    private static readonly string RootOfAll = Path.Combine(Path.GetTempPath(), "gotrack-pg");
    private static readonly Lazy<Task<PostgresServer>> SharedCluster = new(() => StartNewAsync());
    private static int _cleaned;

    private readonly SemaphoreSlim _control = new(1, 1);
    private int _disposed;

    private PostgresServer(string binDir, string root, int port)
    {
        BinDir = binDir;
        Root = root;
        Port = port;
        // Starts the stop at exit without holding the exit up; the watchdog finishes it if the host is killed.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => StopAtExit();
    }

    /// <summary>The cluster every test class shares (started on first use).</summary>
    public static Task<PostgresServer> Shared => SharedCluster.Value;

    public string BinDir { get; }

    public string Root { get; }

    public string DataDir => Path.Combine(Root, "data");

    public string LogFile => Path.Combine(Root, "postgres.log");

    public int Port { get; private set; }

    public bool IsRunning { get; private set; }

    /// <summary>Npgsql keyword form for one database.</summary>
    public string ConnectionString(string database) =>
        new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = Port,
            Username = User,
            Password = Password,
            Database = database,
            Timeout = 5,
        }.ConnectionString;

    /// <summary>The seed's URI form for one database.</summary>
    public string Uri(string database) =>
        $"postgres://{User}:{System.Uri.EscapeDataString(Password)}@127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}/{database}?sslmode=disable";

    /// <summary>Starts a new cluster of its own.</summary>
    public static async Task<PostgresServer> StartNewAsync()
    {
        CleanAbandoned();
        var bin = FindBinaries();
        var root = Path.Combine(RootOfAll, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        await File.WriteAllTextAsync(Path.Combine(root, "owner.pid"), Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        var pwfile = Path.Combine(root, "pwfile");
        await File.WriteAllTextAsync(pwfile, Password + "\n");
        if (IsRoot)
        {
            await RunAsync("chown", ["-R", "postgres:postgres", root], asPostgres: false);
        }

        await RunAsync(Path.Combine(bin, "initdb"),
            ["-D", Path.Combine(root, "data"), "-U", User, "--pwfile", pwfile, "--auth-local=trust", "--auth-host=scram-sha-256",
             "-E", "UTF8", "--no-locale", "--no-sync"], asPostgres: IsRoot);
        StartWatchdog(bin, root);
        var server = new PostgresServer(bin, root, FreePort());
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await server.StartAsync();
                return server;
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
                // Most likely someone took the port between probing it and binding it.
                server.Port = FreePort();
            }
        }
    }

    /// <summary>Creates a database with a unique name and returns its name.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix = "t")
    {
        var name = (prefix + "_" + Guid.NewGuid().ToString("N")[..12]).ToLowerInvariant();
        await using var connection = new NpgsqlConnection(ConnectionString("postgres"));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await command.ExecuteNonQueryAsync();
        return name;
    }

    public async Task DropDatabaseAsync(string name)
    {
        if (!IsRunning)
        {
            return;
        }

        await using var connection = new NpgsqlConnection(ConnectionString("postgres"));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Starts the (stopped) cluster again on the same port.</summary>
    public async Task StartAsync()
    {
        await _control.WaitAsync();
        try
        {
            var options = string.Join(' ',
                "-c", "port=" + Port.ToString(CultureInfo.InvariantCulture),
                "-c", "listen_addresses=127.0.0.1",
                "-c", "unix_socket_directories=" + Root,
                "-c", "max_connections=200",
                "-c", "fsync=off",
                "-c", "synchronous_commit=off",
                "-c", "full_page_writes=off");
            await RunAsync(Path.Combine(BinDir, "pg_ctl"), ["-D", DataDir, "-l", LogFile, "-w", "-t", "60", "-o", options, "start"], asPostgres: IsRoot);
            IsRunning = true;
        }
        finally
        {
            _control.Release();
        }
    }

    /// <summary><c>pg_ctl stop -m fast</c>: every session is cut, as in a real restart.</summary>
    public async Task StopAsync()
    {
        await _control.WaitAsync();
        try
        {
            await RunAsync(Path.Combine(BinDir, "pg_ctl"), ["-D", DataDir, "-w", "-t", "60", "-m", "fast", "stop"], asPostgres: IsRoot);
            IsRunning = false;
        }
        finally
        {
            _control.Release();
        }
    }

    public ValueTask DisposeAsync()
    {
        StopAndDelete();
        return ValueTask.CompletedTask;
    }

    private void StopAtExit()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            StopAndDelete(BinDir, Root, "fast", TimeSpan.Zero, orphan: true);
        }
    }

    private void StopAndDelete()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        StopAndDelete(BinDir, Root, "fast", TimeSpan.FromSeconds(40));
    }

    /// <summary>
    /// Stops the cluster and removes its directory from a detached shell (setsid), so the cleanup finishes
    /// even when the test host is killed right after its exit handlers started.
    /// </summary>
    private static void StopAndDelete(string binDir, string root, string mode, TimeSpan wait, bool orphan = false) =>
        Detached(StopScript(binDir, root, mode), wait, orphan);

    private static string StopScript(string binDir, string root, string mode)
    {
        var stop = $"{Quote(Path.Combine(binDir, "pg_ctl"))} -D {Quote(Path.Combine(root, "data"))} -w -t 30 -m {mode} stop";
        return (IsRoot ? $"runuser -u postgres -- {stop}" : stop) + $" >/dev/null 2>&1; rm -rf {Quote(root)}";
    }

    /// <summary>
    /// A detached shell that waits for this test process to end, however it ends (a test host killed by
    /// the runner never runs its exit handlers), then stops the cluster and removes its directory.
    /// </summary>
    private static void StartWatchdog(string binDir, string root)
    {
        var pid = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        Detached($"while kill -0 {pid} 2>/dev/null && [ -d {Quote(root)} ]; do sleep 1; done; [ -d {Quote(root)} ] && {{ {StopScript(binDir, root, "fast")}; }}", TimeSpan.Zero, orphan: true);
    }

    /// <summary>
    /// Runs a shell script in its own session. An <paramref name="orphan"/> runs in a background job of a
    /// shell that exits at once, so it is no longer a descendant of the test host and a runner that kills
    /// the host's whole process tree does not kill it too.
    /// </summary>
    private static void Detached(string script, TimeSpan wait, bool orphan = false)
    {
        if (orphan)
        {
            script = "( " + script + " ) &";
            wait = TimeSpan.FromSeconds(10);
        }

        var start = new ProcessStartInfo("setsid")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
        };
        // Never hold the test host's stdout or stderr: the runner reads them to their end.
        foreach (var a in (string[])["/bin/sh", "-c", "exec </dev/null >/dev/null 2>&1; " + script])
        {
            start.ArgumentList.Add(a);
        }

        try
        {
            using var process = Process.Start(start);
            process?.StandardInput.Close();
            if (wait > TimeSpan.Zero)
            {
                process?.WaitForExit(wait);
            }
        }
        catch (System.ComponentModel.Win32Exception)
        {
        }
    }

    private static string Quote(string path) => "'" + path.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>Clusters whose test process died without stopping them.</summary>
    private static void CleanAbandoned()
    {
        if (Interlocked.Exchange(ref _cleaned, 1) == 1 || !Directory.Exists(RootOfAll))
        {
            return;
        }

        foreach (var dir in Directory.GetDirectories(RootOfAll))
        {
            var pidFile = Path.Combine(dir, "owner.pid");
            if (!File.Exists(pidFile) || !int.TryParse(File.ReadAllText(pidFile), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || IsAlive(pid))
            {
                continue;
            }

            try
            {
                StopAndDelete(FindBinaries(), dir, "immediate", TimeSpan.FromSeconds(40));
            }
            catch (InvalidOperationException)
            {
            }
        }
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static bool IsRoot => GoTrack.Tests.Support.DebianPackage.IsRoot;

    /// <summary>
    /// The newest installed major version's bin directory. On a fresh Debian or Ubuntu machine where the
    /// tests run as root, the binaries are installed with apt-get first, so `dotnet test` needs nothing
    /// set up by hand.
    /// </summary>
    public static string FindBinaries()
    {
        GoTrack.Tests.Support.DebianPackage.Ensure("postgresql", () => FindInstalled() is not null);
        return FindInstalled() ?? throw new InvalidOperationException(
            "No PostgreSQL binaries under /usr/lib/postgresql/*/bin; install them (apt-get install -y postgresql), as .ci/run does.");
    }

    private static string? FindInstalled()
    {
        const string lib = "/usr/lib/postgresql";
        var found = Directory.Exists(lib)
            ? Directory.GetDirectories(lib)
                .Select(d => (Dir: Path.Combine(d, "bin"), Version: double.TryParse(Path.GetFileName(d), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : -1))
                .Where(d => File.Exists(Path.Combine(d.Dir, "initdb")))
                .OrderByDescending(d => d.Version)
                .Select(d => d.Dir)
                .FirstOrDefault()
            : null;
        return found;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task RunAsync(string exe, string[] args, bool asPostgres)
    {
        var start = new ProcessStartInfo(asPostgres ? "runuser" : exe)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        if (asPostgres)
        {
            foreach (var a in (string[])["-u", "postgres", "--", exe])
            {
                start.ArgumentList.Add(a);
            }
        }

        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start " + exe);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"{Path.GetFileName(exe)} {string.Join(' ', args)} exited {process.ExitCode}: {await stderr}{await stdout}");
        }
    }
}
