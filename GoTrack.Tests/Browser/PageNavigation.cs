using Microsoft.Playwright;

namespace GoTrack.Tests.Browser;

/// <summary>A click that leaves the page, and the wait for the next page's <c>load</c>, without a lost event.</summary>
public static class PageNavigation
{
    /// <summary>
    /// Clicks <paramref name="selector"/> and waits until the page has fired <c>load</c> at <paramref name="url"/>.
    /// Not <c>ClickAsync</c> then <c>WaitForURLAsync</c>: when <c>load</c> arrives between the URL check and
    /// the subscription that follows it, <c>WaitForURLAsync</c> never sees it and times out
    /// (microsoft/playwright-dotnet#3364; Microsoft.Playwright 1.62). Seen on a clean-clone CI run and in 1 of 4
    /// runs of the browser tests with the cores kept busy: the page logged <c>load</c> at /b 5 ms after the
    /// click returned, and the wait for it ran out 30 s later. Here the handler is attached before the click,
    /// so the event cannot come too early.
    /// </summary>
    public static async Task ClickToAsync(this IPage page, string selector, string url)
    {
        var loaded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnLoad(object? sender, IPage p)
        {
            if (p.Url == url)
            {
                loaded.TrySetResult();
            }
        }

        page.Load += OnLoad;
        try
        {
            await page.ClickAsync(selector);
            await loaded.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            page.Load -= OnLoad;
        }
    }
}
