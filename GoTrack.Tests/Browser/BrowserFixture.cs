using System.Text.Json;
using GoTrack.Tests.Support;
using Microsoft.Playwright;

namespace GoTrack.Tests.Browser;

/// <summary>
/// Debian's Chromium (package <c>chromium</c>; <c>.ci/run</c> installs it) driven by Microsoft.Playwright
/// through <see cref="BrowserTypeLaunchOptions.ExecutablePath"/>: Playwright's own browser download
/// cannot work here. One browser for the test class; each test opens its own context (its own cookies).
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    /// <summary>GOTRACK_CHROMIUM, or Debian's path.</summary>
    public static string ExecutablePath => Environment.GetEnvironmentVariable("GOTRACK_CHROMIUM") is { Length: > 0 } path ? path : "/usr/bin/chromium";

    /// <summary>
    /// As root in a container Chromium needs --no-sandbox; the background-networking flags keep it from
    /// calling Google's hosts on a closed network (its connections are refused, many at a time).
    /// </summary>
    public static readonly string[] Args =
    [
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
    ];

    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public IBrowser Browser => _browser ?? throw new InvalidOperationException("not started");

    public IPlaywright Playwright => _playwright ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync()
    {
        if (!DebianPackage.Ensure("chromium", () => File.Exists(ExecutablePath)))
        {
            throw new InvalidOperationException(
                $"Chromium is not at {ExecutablePath}. Install Debian's package (apt-get install chromium), or set GOTRACK_CHROMIUM to a Chromium binary.");
        }

        _playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new() { ExecutablePath = ExecutablePath, Headless = true, Args = Args });
    }

    /// <summary>
    /// A browser with its own profile, whose Preferences file sets what a user sets in Chromium's settings
    /// (Do Not Track, blocked cookies). A persistent context is its own browser process.
    /// </summary>
    public async Task<IBrowserContext> WithPreferencesAsync(string profileDir, object preferences)
    {
        Directory.CreateDirectory(Path.Combine(profileDir, "Default"));
        await File.WriteAllTextAsync(Path.Combine(profileDir, "Default", "Preferences"), JsonSerializer.Serialize(preferences));
        return await Playwright.Chromium.LaunchPersistentContextAsync(profileDir, new()
        {
            ExecutablePath = ExecutablePath,
            Headless = true,
            Args = Args,
        });
    }

    /// <summary>
    /// Another Chromium process with <paramref name="args"/> added to <see cref="Args"/>: a browser-wide
    /// switch such as <c>--enable-features=GlobalPrivacyControlForce</c>, which turns Global Privacy Control
    /// on as a user's setting would (Sec-GPC: 1 on every request, navigator.globalPrivacyControl true).
    /// </summary>
    public Task<IBrowser> LaunchWithAsync(params string[] args) =>
        Playwright.Chromium.LaunchAsync(new() { ExecutablePath = ExecutablePath, Headless = true, Args = [.. Args, .. args] });

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.CloseAsync();
        }

        _playwright?.Dispose();
    }
}
