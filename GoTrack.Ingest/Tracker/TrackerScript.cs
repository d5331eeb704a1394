using System.Security.Cryptography;
using System.Text;
using GoTrack.Ingest.Configuration;
using GoTrack.Ingest.Privacy;

namespace GoTrack.Ingest.Tracker;

/// <summary>
/// The tracker as this server serves it: tracker.min.js (embedded; see minify.sh) with this server's collect
/// and pixel paths and the opt-outs it drops written in, its content hash, and the two URLs it is served at.
/// Built once at start, so the hash names exactly the bytes served: another alias or privacy setting is
/// another script, with another hash.
/// </summary>
public sealed class TrackerScript
{
    internal const string ResourceName = "GoTrack.Ingest.Tracker.tracker.min.js";

    /// <summary>Hex characters of the SHA-256 in the hash: 64 bits, plenty to tell this server's versions apart.</summary>
    public const int HashLength = 16;

    private TrackerScript(byte[] bytes, string path)
    {
        Bytes = bytes;
        Hash = Convert.ToHexStringLower(SHA256.HashData(bytes))[..HashLength];
        ETag = "\"" + Hash + "\"";
        Path = path;
        HashedPath = PathWithHash(path, Hash);
        HashedRoute = PathWithHash(path, "{hash}");
    }

    /// <summary>The script, UTF-8.</summary>
    public ReadOnlyMemory<byte> Bytes { get; }

    /// <summary>The first <see cref="HashLength"/> hex characters of the SHA-256 of <see cref="Bytes"/>.</summary>
    public string Hash { get; }

    /// <summary>The strong ETag, the quoted hash.</summary>
    public string ETag { get; }

    /// <summary>TRACKER_PATH: the stable URL, cached for an hour and revalidated.</summary>
    public string Path { get; }

    /// <summary>The hashed URL (<c>/t.&lt;hash&gt;.js</c>), whose bytes never change: cached for a year, immutable.</summary>
    public string HashedPath { get; }

    /// <summary>The route of every hashed URL, current or not: <c>/t.{hash}.js</c>.</summary>
    public string HashedRoute { get; }

    public static TrackerScript Build(IntakePaths paths, PrivacyOptions privacy)
    {
        ArgumentNullException.ThrowIfNull(paths);
        ArgumentNullException.ThrowIfNull(privacy);

        // Under PRIVACY_MODE=anonymize an opted-out browser's events are wanted (without identifiers), and the
        // server reads the opt-out from the request's DNT and Sec-GPC headers; under drop, sending is pointless.
        var optOuts = privacy.PrivacyMode != PrivacyMode.Drop ? ""
            : (privacy.DntRespect ? "d" : "") + (privacy.GpcRespect ? "g" : "");

        using var stream = typeof(TrackerScript).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"{ResourceName} is not embedded in GoTrack.Ingest");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var text = reader.ReadToEnd();

        // Paths hold only unreserved URL characters (IntakePaths), so they go into the JavaScript strings as they are.
        text = Fill(text, "%%COLLECT%%", paths.TrackerCollectPath);
        text = Fill(text, "%%PIXEL%%", paths.TrackerPixelPath);
        text = Fill(text, "%%OPTOUT%%", optOuts);
        return new TrackerScript(Encoding.UTF8.GetBytes(text), paths.Tracker);
    }

    private static string Fill(string script, string placeholder, string value) =>
        script.Contains(placeholder, StringComparison.Ordinal)
            ? script.Replace(placeholder, value, StringComparison.Ordinal)
            : throw new InvalidOperationException($"tracker.min.js has no {placeholder}: rebuild it from tracker.js with GoTrack.Ingest/Tracker/minify.sh");

    /// <summary><c>/t.js</c> with <paramref name="hash"/> becomes <c>/t.&lt;hash&gt;.js</c>; a path without an extension gets <c>.&lt;hash&gt;</c>.</summary>
    public static string PathWithHash(string path, string hash)
    {
        ArgumentNullException.ThrowIfNull(path);
        var (stem, extension) = Split(path);
        return stem + "." + hash + extension;
    }

    /// <summary>True when <paramref name="other"/> could be a hashed URL of the tracker at <paramref name="path"/> (the route its hashed URLs take).</summary>
    public static bool IsHashedForm(string path, string other)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(other);
        var (stem, extension) = Split(path);
        return other.Length > stem.Length + 1 + extension.Length
            && other.StartsWith(stem + ".", StringComparison.OrdinalIgnoreCase)
            && other.EndsWith(extension, StringComparison.OrdinalIgnoreCase)
            && !other.AsSpan(stem.Length + 1).Contains('/');
    }

    private static (string Stem, string Extension) Split(string path)
    {
        var dot = path.LastIndexOf('.');
        return dot > path.LastIndexOf('/') + 1 ? (path[..dot], path[dot..]) : (path, "");
    }
}
