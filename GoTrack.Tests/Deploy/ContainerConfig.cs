using System.Text.Json;
using GoTrack.Tests.EndToEnd;

namespace GoTrack.Tests.Deploy;

/// <summary>
/// What <c>dotnet publish -t:PublishContainer</c> would build, read without building it: the SDK's
/// <c>ComputeContainerConfig</c> target resolves the base image, user, ports and environment from the
/// project, and <c>-getProperty</c>/<c>-getItem</c> print them. Pulling the base image (which this machine
/// cannot reach) happens only in the later publish step.
/// </summary>
public sealed record ContainerConfig(
    IReadOnlyDictionary<string, string> Properties,
    IReadOnlyList<(string Port, string Type)> Ports,
    IReadOnlyDictionary<string, string> Environment)
{
    private static readonly string[] PropertyNames =
        ["ContainerRepository", "ContainerBaseImage", "ContainerFamily", "ContainerUser", "ContainerWorkingDirectory"];

    public static async Task<ContainerConfig> ReadAsync(string projectFile)
    {
        var args = $"msbuild \"{projectFile}\" -nologo -nr:false -t:ComputeContainerConfig -p:Configuration=Release "
            + string.Join(' ', PropertyNames.Select(p => "-getProperty:" + p))
            + " -getItem:ContainerPort -getItem:ContainerEnvironmentVariable";
        var (code, output) = await PublishedIngest.RunAsync("dotnet", args, TimeSpan.FromMinutes(3));
        Assert.True(code == 0, output);

        using var json = JsonDocument.Parse(output[output.IndexOf('{', StringComparison.Ordinal)..]);
        var properties = json.RootElement.GetProperty(nameof(Properties)).EnumerateObject()
            .ToDictionary(p => p.Name, p => p.Value.GetString() ?? "", StringComparer.Ordinal);
        var items = json.RootElement.GetProperty("Items");
        var ports = items.GetProperty("ContainerPort").EnumerateArray()
            .Select(i => (i.GetProperty("Identity").GetString()!, Metadata(i, "Type") ?? "tcp"))
            .ToList();
        var env = items.GetProperty("ContainerEnvironmentVariable").EnumerateArray()
            .ToDictionary(i => i.GetProperty("Identity").GetString()!, i => Metadata(i, "Value") ?? "", StringComparer.Ordinal);
        return new ContainerConfig(properties, ports, env);
    }

    private static string? Metadata(JsonElement item, string name) =>
        item.TryGetProperty(name, out var value) && value.GetString() is { Length: > 0 } text ? text : null;
}
