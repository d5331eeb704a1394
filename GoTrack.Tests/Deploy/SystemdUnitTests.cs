using System.Globalization;
using GoTrack.Core.Configuration;
using GoTrack.Ingest.Configuration;
using GoTrack.Tests.EndToEnd;
using GoTrack.Tests.Support;

namespace GoTrack.Tests.Deploy;

/// <summary>deploy/systemd/gotrack-ingest.service: valid to systemd, and consistent with Ingest's settings and stop.</summary>
public sealed class SystemdUnitTests
{
    private static readonly string Unit = Path.Combine(DeployFiles.Root, "systemd", "gotrack-ingest.service");

    /// <summary>The unit's key=value lines (comments and sections skipped); a key may repeat.</summary>
    private static List<(string Key, string Value)> Lines() =>
        [.. File.ReadAllLines(Unit)
            .Where(l => l.Length > 0 && l[0] is not ('#' or ';' or '['))
            .Select(l => (l[..l.IndexOf('=', StringComparison.Ordinal)], l[(l.IndexOf('=', StringComparison.Ordinal) + 1)..]))];

    private static string Value(string key) => Assert.Single(Lines(), l => l.Key == key).Value;

    private static Dictionary<string, string> Environment() =>
        Lines().Where(l => l.Key == "Environment")
            .Select(l => l.Value.Split('=', 2))
            .ToDictionary(kv => kv[0], kv => kv[1], StringComparer.Ordinal);

    [Fact]
    public async Task Systemd_accepts_every_directive()
    {
        // verify also wants ExecStart to exist; the published binary is not installed here.
        using var dir = new TempDir();
        var copy = dir.File("gotrack-ingest.service");
        await File.WriteAllLinesAsync(copy, File.ReadAllLines(Unit).Select(l => l.StartsWith("ExecStart=", StringComparison.Ordinal) ? "ExecStart=/bin/true" : l));
        var (code, output) = await PublishedIngest.RunAsync("systemd-analyze", $"verify \"{copy}\"", TimeSpan.FromMinutes(1));
        Assert.Equal(0, code);
        Assert.True(string.IsNullOrWhiteSpace(output), output);
    }

    [Fact]
    public void The_unit_sets_only_Ingest_settings_and_they_load()
    {
        var env = Environment();
        Assert.NotEmpty(env);
        Assert.All(env.Keys, k => Assert.Contains(k, GoTrackImage.Ingest.Settings));
        Assert.Empty(GoTrackImage.Ingest.Validate(GoTrackImage.Configuration(env)));
    }

    [Fact]
    public void It_keeps_its_data_in_its_state_directory_waits_out_the_drain_and_does_not_restart_on_bad_settings()
    {
        Assert.Equal("/opt/gotrack/ingest/GoTrack.Ingest", Value("ExecStart"));
        var options = IngestSettings.Load(GoTrackImage.Configuration(Environment()), out _);

        var state = "/var/lib/" + Value("StateDirectory") + "/";
        Assert.StartsWith(state, options.Ndjson.Path, StringComparison.Ordinal);
        Assert.StartsWith(state, options.Wal!.Directory, StringComparison.Ordinal);
        Assert.Equal(state.TrimEnd('/'), Value("WorkingDirectory"));

        var stop = TimeSpan.FromSeconds(int.Parse(Value("TimeoutStopSec").TrimEnd('s'), CultureInfo.InvariantCulture));
        Assert.True(stop >= options.Runner.ShutdownTimeout + TimeSpan.FromSeconds(5), $"TimeoutStopSec {stop} leaves the drain ({options.Runner.ShutdownTimeout}) no margin");
        Assert.Equal("SIGTERM", Value("KillSignal"));
        Assert.Contains(StartupErrors.ExitCode.ToString(CultureInfo.InvariantCulture), Value("RestartPreventExitStatus").Split(' '));
    }
}
