using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Hosting;

namespace GoTrack.Core.Configuration;

/// <summary>How every GoTrack service reports bad settings at start: each error on its own line, then a pointer to --help.</summary>
public static class StartupErrors
{
    /// <summary>The exit code of a start refused for bad settings.</summary>
    public const int ExitCode = 2;

    /// <summary>The exit code of a start whose listen address another process holds.</summary>
    public const int AddressInUseExitCode = 1;

    /// <summary>
    /// Runs the host; when a listen address is taken (a second instance, an old one still stopping), writes one
    /// line naming it and the way out and returns <see cref="AddressInUseExitCode"/>, instead of an unhandled
    /// exception that aborts the runtime (exit 134, a core dump). Otherwise returns null once the host stops.
    /// </summary>
    public static async Task<int?> RunAsync(IHost host, TextWriter error, string service, string addressSettings)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(error);
        try
        {
            await host.RunAsync().ConfigureAwait(false);
            return null;
        }
        catch (IOException ex) when (ex.InnerException is AddressInUseException)
        {
            await error.WriteLineAsync($"{service}: {ex.Message} Stop the process that listens there, or set {addressSettings} to a free address.").ConfigureAwait(false);
            return AddressInUseExitCode;
        }
    }

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
