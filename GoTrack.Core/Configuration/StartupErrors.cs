namespace GoTrack.Core.Configuration;

/// <summary>How every GoTrack service reports bad settings at start: each error on its own line, then a pointer to --help.</summary>
public static class StartupErrors
{
    /// <summary>The exit code of a start refused for bad settings.</summary>
    public const int ExitCode = 2;

    public static async Task<int> ReportAsync(TextWriter error, string service, IEnumerable<string> failures)
    {
        ArgumentNullException.ThrowIfNull(error);
        ArgumentNullException.ThrowIfNull(failures);
        await error.WriteLineAsync($"{service}: configuration error(s):").ConfigureAwait(false);
        foreach (var failure in failures)
        {
            await error.WriteLineAsync("  " + failure).ConfigureAwait(false);
        }

        await error.WriteLineAsync("Run with --help for every variable and its default.").ConfigureAwait(false);
        return ExitCode;
    }
}
