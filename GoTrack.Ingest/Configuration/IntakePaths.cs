using System.Buffers;
using GoTrack.Core.Configuration;
using GoTrack.Ingest.Endpoints;
using GoTrack.Ingest.Tracker;
using Microsoft.AspNetCore.Http;

namespace GoTrack.Ingest.Configuration;

/// <summary>
/// TRACKER_PATH, PIXEL_PATHS and COLLECT_PATHS: where the tracker script is served, and more paths the pixel
/// and /collect answer at. Ad-block lists match the well-known paths of collectors (/collect, /px.gif, the
/// script names of other products); a path the operator chose is on no list. The default paths stay served.
/// </summary>
public sealed class IntakePaths
{
    public const string DefaultTrackerPath = "/t.js";

    /// <summary>The longest path accepted; the tracker carries its collect and pixel paths, and stays under 2 KB.</summary>
    public const int MaxLength = 64;

    // Unreserved URL characters and '/': a path that needs no escaping in a URL, a JavaScript string or a route
    // template (no '{'), and that ASP.NET matches as written.
    private static readonly SearchValues<char> PathChars =
        SearchValues.Create("-./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz~");

    /// <summary>Paths GoTrack serves itself, with everything under them (the operations port matches by prefix).</summary>
    private static readonly string[] Reserved = [Extensions.HealthPath, Extensions.ReadyPath, Extensions.MetricsPath, "/v1", .. IngestServiceCollectionExtensions.OperationsPaths];

    public string Tracker { get; set; } = DefaultTrackerPath;

    public IReadOnlyList<string> PixelAliases { get; set; } = [];

    public IReadOnlyList<string> CollectAliases { get; set; } = [];

    /// <summary>Where the tracker sends events: the first COLLECT_PATHS alias, else /collect.</summary>
    public string TrackerCollectPath => CollectAliases.Count > 0 ? CollectAliases[0] : CollectEndpoint.Path;

    /// <summary>Where the tracker's last fallback sends: the first PIXEL_PATHS alias, else /px.gif.</summary>
    public string TrackerPixelPath => PixelAliases.Count > 0 ? PixelAliases[0] : PixelEndpoint.Path;

    internal static IntakePaths Load(SettingsReader r)
    {
        var paths = new IntakePaths();
        var taken = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            [PixelEndpoint.Path] = "the pixel's own path",
            [CollectEndpoint.Path] = "/collect's own path",
        };

        var tracker = r.Text("TRACKER_PATH", DefaultTrackerPath).Trim();
        if (Problem(tracker, taken, null) is { } trackerProblem)
        {
            r.Error("TRACKER_PATH", trackerProblem);
        }
        else if (taken.Keys.FirstOrDefault(p => TrackerScript.IsHashedForm(tracker, p)) is { } shadowed)
        {
            r.Error("TRACKER_PATH", $"its hashed URL ({TrackerScript.PathWithHash(tracker, "<hash>")}) would take '{shadowed}'");
        }
        else
        {
            paths.Tracker = tracker;
        }

        taken[paths.Tracker] = "TRACKER_PATH";
        paths.PixelAliases = Aliases(r, "PIXEL_PATHS", taken, paths.Tracker);
        paths.CollectAliases = Aliases(r, "COLLECT_PATHS", taken, paths.Tracker);
        return paths;
    }

    private static string[] Aliases(SettingsReader r, string name, Dictionary<string, string> taken, string tracker)
    {
        var aliases = new List<string>();
        foreach (var path in (r.Raw(name) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (Problem(path, taken, tracker) is { } problem)
            {
                r.Error(name, problem);
                continue;
            }

            taken[path] = name;
            aliases.Add(path);
        }

        return [.. aliases];
    }

    /// <summary>Why <paramref name="path"/> cannot be served, or null when it can.</summary>
    private static string? Problem(string path, Dictionary<string, string> taken, string? tracker)
    {
        if (!path.StartsWith('/') || path.Length > MaxLength)
        {
            return $"'{path}' must be a path starting with '/', at most {MaxLength} characters";
        }

        if (path.AsSpan().ContainsAnyExcept(PathChars))
        {
            return $"'{path}' may hold only letters, digits, '-', '.', '_', '~' and '/'";
        }

        if (path.EndsWith('/') || path.Contains("//", StringComparison.Ordinal) || path.Contains("/./", StringComparison.Ordinal)
            || path.Contains("/../", StringComparison.Ordinal) || path.EndsWith("/.", StringComparison.Ordinal) || path.EndsWith("/..", StringComparison.Ordinal))
        {
            return $"'{path}' must not end with '/' or have an empty, '.' or '..' segment";
        }

        foreach (var reserved in Reserved)
        {
            if (new PathString(path).StartsWithSegments(reserved, StringComparison.OrdinalIgnoreCase))
            {
                return $"'{path}' is {(path.Length == reserved.Length ? "" : "under ")}{reserved}, which GoTrack serves itself";
            }
        }

        if (taken.TryGetValue(path, out var owner))
        {
            return $"'{path}' is already {(owner.Contains(' ', StringComparison.Ordinal) ? owner : "in " + owner)} (paths are compared ignoring case)";
        }

        if (tracker is not null && TrackerScript.IsHashedForm(tracker, path))
        {
            return $"'{path}' has the form of the tracker's hashed URL ({TrackerScript.PathWithHash(tracker, "<hash>")})";
        }

        return null;
    }
}
