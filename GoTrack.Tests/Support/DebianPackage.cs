using System.Diagnostics;

namespace GoTrack.Tests.Support;

/// <summary>
/// What the tests need from the machine (PostgreSQL's binaries, Chromium, promtool), installed with apt-get
/// when it is missing and the tests run as root on Debian or Ubuntu, so `dotnet test` needs nothing set up
/// by hand; `.ci/run` installs the same packages up front. Elsewhere the caller fails with what to install.
/// </summary>
public static class DebianPackage
{
    private static readonly Lock Gate = new();

    public static bool IsRoot => Environment.UserName == "root";

    /// <summary>Installs <paramref name="package"/> unless <paramref name="installed"/> already holds; returns <paramref name="installed"/>'s answer after.</summary>
    public static bool Ensure(string package, Func<bool> installed)
    {
        ArgumentNullException.ThrowIfNull(installed);
        if (installed() || !IsRoot || !File.Exists("/usr/bin/apt-get"))
        {
            return installed();
        }

        lock (Gate)
        {
            if (!installed())
            {
                var install = new ProcessStartInfo("/bin/sh", $"-c \"apt-get update -qq && apt-get install -y -qq {package}\"") { UseShellExecute = false };
                install.Environment["DEBIAN_FRONTEND"] = "noninteractive";
                using var process = Process.Start(install);
                process?.WaitForExit(TimeSpan.FromMinutes(10));
            }

            return installed();
        }
    }
}
