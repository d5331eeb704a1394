using System.Text.Json;
using GoTrack.Tests.EndToEnd;
using GoTrack.Tests.Support;

namespace GoTrack.Tests.Aspire;

/// <summary>
/// `azd up` cannot run here, but what it deploys is the AppHost's publish manifest, which can: check that
/// it holds the design's resources, wired as the design says, in both the container and the existing-server shapes.
/// </summary>
public sealed class ManifestTests : IDisposable
{
    private static readonly string AppHost = Path.Combine(AppContext.BaseDirectory, "GoTrack.AppHost.dll");
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private async Task<JsonElement> PublishAsync(string extraArgs = "")
    {
        var path = _dir.File("aspire-manifest.json");
        var (code, output) = await PublishedIngest.RunAsync("dotnet", $"\"{AppHost}\" --publisher manifest --output-path \"{path}\" {extraArgs}", TimeSpan.FromMinutes(2));
        Assert.True(code == 0, output);
        return JsonDocument.Parse(File.ReadAllText(path)).RootElement.GetProperty("resources");
    }

    private static Dictionary<string, string> Env(JsonElement resource) =>
        resource.GetProperty("env").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);

    [Fact]
    public async Task Containers_kafka_and_postgres_with_the_analytics_database_ingest_external_and_sinkworker_wired()
    {
        var resources = await PublishAsync();
        Assert.Equal("container.v0", resources.GetProperty("kafka").GetProperty("type").GetString());
        Assert.Contains("confluent-local", resources.GetProperty("kafka").GetProperty("image").GetString(), StringComparison.Ordinal);
        Assert.Equal("{kafka.bindings.tcp.host}:{kafka.bindings.tcp.port}", resources.GetProperty("kafka").GetProperty("connectionString").GetString());
        Assert.Equal("/var/lib/kafka/data", resources.GetProperty("kafka").GetProperty("volumes")[0].GetProperty("target").GetString());
        Assert.Equal("/var/lib/kafka/data", Env(resources.GetProperty("kafka"))["KAFKA_LOG_DIRS"]);
        Assert.Equal(1, resources.GetProperty("postgres").GetProperty("volumes").GetArrayLength());
        Assert.Equal("container.v0", resources.GetProperty("postgres").GetProperty("type").GetString());
        Assert.Contains("Database=analytics", resources.GetProperty("analytics").GetProperty("connectionString").GetString(), StringComparison.Ordinal);

        var ingest = resources.GetProperty("ingest");
        Assert.True(ingest.GetProperty("bindings").GetProperty("http").GetProperty("external").GetBoolean());
        var opsBinding = ingest.GetProperty("bindings").GetProperty("ops");
        Assert.False(opsBinding.TryGetProperty("external", out var opsExternal) && opsExternal.GetBoolean());
        Assert.Equal(":{ingest.bindings.ops.targetPort}", Env(ingest)["OPS_ADDR"]);
        var ingestEnv = Env(ingest);
        Assert.Equal("{kafka.connectionString}", ingestEnv["ConnectionStrings__kafka"]);
        Assert.Equal("{ingest-outputs.value}", ingestEnv["OUTPUTS"]);
        Assert.Equal("{ingest-ack-mode.value}", ingestEnv["ACK_MODE"]);
        Assert.Equal("memory", resources.GetProperty("ingest-ack-mode").GetProperty("inputs").GetProperty("value").GetProperty("default").GetProperty("value").GetString());
        Assert.False(ingestEnv.ContainsKey("WAL_DIR")); // a deployment's WAL_DIR is its volume's path, set there
        Assert.Equal("false", ingestEnv["ASPNETCORE_FORWARDEDHEADERS_ENABLED"]);
        Assert.Equal("true", ingestEnv["TRUST_PROXY"]);
        Assert.Contains("10.0.0.0/8", ingestEnv["TRUSTED_PROXIES"], StringComparison.Ordinal);
        Assert.Equal("kafka", resources.GetProperty("ingest-outputs").GetProperty("inputs").GetProperty("value").GetProperty("default").GetProperty("value").GetString());

        var worker = resources.GetProperty("sinkworker");
        Assert.False(worker.GetProperty("bindings").GetProperty("http").TryGetProperty("external", out var external) && external.GetBoolean());
        var workerEnv = Env(worker);
        Assert.Equal("{kafka.connectionString}", workerEnv["ConnectionStrings__kafka"]);
        Assert.Equal("{analytics.connectionString}", workerEnv["ConnectionStrings__analytics"]);
    }

    [Fact]
    public async Task With_connection_strings_there_are_no_containers()
    {
        var resources = await PublishAsync("--ConnectionStrings:kafka=broker:9092 \"--ConnectionStrings:analytics=Host=db;Database=analytics\"");
        Assert.Equal("parameter.v0", resources.GetProperty("kafka").GetProperty("type").GetString());
        Assert.Equal("parameter.v0", resources.GetProperty("analytics").GetProperty("type").GetString());
        Assert.False(resources.TryGetProperty("postgres", out _));
        Assert.All(resources.EnumerateObject(), r => Assert.NotEqual("container.v0", r.Value.GetProperty("type").GetString()));
    }
}
