using System.Globalization;
using GoTrack.Tests.EndToEnd;

namespace GoTrack.Tests.Deploy;

/// <summary>
/// The two images are built by the SDK (<c>dotnet publish -t:PublishContainer</c>, as Aspire and azd build
/// them). No container registry is reachable here, so the image's definition is checked instead of a built
/// image: its base, user, ports, environment and repository as the SDK resolves them.
/// </summary>
public sealed class ContainerImageTests
{
    /// <summary>The only directory a chiseled image lets its non-root user write (besides /tmp).</summary>
    private const string AppHome = "/home/app/";

    [Theory]
    [InlineData("ingest")]
    [InlineData("sinkworker")]
    public async Task The_image_is_chiseled_runs_as_a_numeric_non_root_user_and_listens_on_the_port_it_exposes(string name)
    {
        var image = GoTrackImage.Named(name);
        var config = await ContainerConfig.ReadAsync(image.ProjectFile);

        Assert.Equal(image.Repository, config.Properties["ContainerRepository"]);

        // ASP.NET Core's distroless Ubuntu image: no shell, no package manager. InvariantGlobalization means
        // no ICU is needed, so not the -extra variant.
        Assert.Equal("noble-chiseled", config.Properties["ContainerFamily"]);
        Assert.Equal("mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled", config.Properties["ContainerBaseImage"]);

        // The chiseled images' "app" user, by number: Kubernetes' runAsNonRoot can only verify a numeric user.
        Assert.Equal("1654", config.Properties["ContainerUser"]);

        // The base image listens on 8080 (ASPNETCORE_HTTP_PORTS); ours on the service's documented port,
        // the one it exposes. HTTP_PORTS or SERVER_ADDR from the deployment (the AppHost sets HTTP_PORTS) still win.
        var port = image.DefaultPort.ToString(CultureInfo.InvariantCulture);
        Assert.Equal(port, config.Environment["ASPNETCORE_HTTP_PORTS"]);
        Assert.Contains((port, "tcp"), config.Ports);
        Assert.All(config.Ports, p => Assert.Equal("tcp", p.Type));
    }

    [Fact]
    public async Task Ingest_also_exposes_the_management_port_the_docs_use_for_OPS_ADDR()
    {
        var config = await ContainerConfig.ReadAsync(GoTrackImage.Ingest.ProjectFile);
        Assert.Equal(new[] { ("19890", "tcp"), ("19899", "tcp") }, config.Ports.Order());
        Assert.DoesNotContain("OPS_ADDR", config.Environment.Keys); // off unless the deployment sets it, as outside a container
    }

    [Theory]
    [InlineData("ingest")]
    [InlineData("sinkworker")]
    public async Task The_image_sets_only_documented_settings_and_every_file_it_writes_by_default_is_in_the_app_users_home(string name)
    {
        var image = GoTrackImage.Named(name);
        var config = await ContainerConfig.ReadAsync(image.ProjectFile);
        var settings = config.Environment.Where(e => e.Key != "ASPNETCORE_HTTP_PORTS").ToDictionary();
        Assert.All(settings.Keys, k => Assert.Contains(k, image.Settings));

        // The SDK copies the app into /app as root; the app user cannot create ./data there. Every file the
        // service writes when nothing else is configured (the NDJSON file, the write-ahead log, dead letters)
        // must land in its home, the one place it owns, where a volume can be mounted.
        var withEverything = new Dictionary<string, string>(settings)
        {
            ["OUTPUTS"] = "log,kafka,postgres",
            ["ACK_MODE"] = "wal",
            ["KAFKA_BROKERS"] = "kafka:9092",
            ["PG_DSN"] = "postgres://u:p@db:5432/analytics",
        };
        var configuration = GoTrackImage.Configuration(withEverything);
        Assert.Empty(image.Validate(configuration));
        Assert.All(image.DataPaths(configuration), path => Assert.StartsWith(AppHome, path, StringComparison.Ordinal));
    }

    [Fact]
    public void There_is_no_Dockerfile_the_SDK_builds_both_images()
    {
        var root = PublishedIngest.RepoRoot();
        var dockerfiles = Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Where(f => Path.GetFileName(f).StartsWith("Dockerfile", StringComparison.OrdinalIgnoreCase)
                || f.EndsWith(".dockerfile", StringComparison.OrdinalIgnoreCase))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}node_modules{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}.git{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(f => Path.GetRelativePath(root, f));
        Assert.Empty(dockerfiles);
    }
}
