namespace GoTrack.Tests.Support;

/// <summary>A fresh directory under /tmp, removed afterwards.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "gotrack-tests", Guid.NewGuid().ToString("N"));

    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>
    /// A file where a folder should be, so that every write below it fails (an NDJSON sink whose LOG_PATH
    /// is beneath it cannot write) until the file is deleted. Returns its path.
    /// </summary>
    public string Blocker(string name = "not-a-dir")
    {
        var path = File(name);
        System.IO.File.WriteAllText(path, "a file where a folder should be");
        return path;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
