using System.Globalization;
using Aspire.Hosting.ApplicationModel;

namespace GoTrack.AppHost;

/// <summary>
/// A dashboard command on <c>ingest</c>: one click sends a pixel to its public endpoint, the way a browser
/// would, so an event can be followed from the request through Kafka and the worker into Postgres (the
/// trace, the logs, the row). Each click is a new event with its own <c>event_id</c>, which the command's
/// answer names.
/// </summary>
public static class TestEventCommand
{
    public const string Name = "send-test-event";

    /// <summary>The event's type (<c>e</c>); the url it records is <see cref="PageUrl"/>.</summary>
    public const string EventType = "test_event";

    public const string PageUrl = "https://gotrack.test/aspire-dashboard";

    private static readonly HttpRequestOptionsKey<Guid> EventIdOption = new("gotrack.event_id");

    public static IResourceBuilder<ProjectResource> WithTestEventCommand(this IResourceBuilder<ProjectResource> builder, string endpointName)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.WithHttpCommand(
            path: "/px.gif",
            displayName: "Send test event",
            endpointName: endpointName,
            commandName: Name,
            commandOptions: new HttpCommandOptions
            {
                Method = HttpMethod.Get,
                Description = $"GET /px.gif?e={EventType} on ingest's public endpoint: one event to follow through Kafka and the worker to Postgres.",
                IconName = "Send",
                IsHighlighted = true,
                PrepareRequest = Prepare,
                GetCommandResult = Result,
            });
    }

    private static Task Prepare(HttpCommandRequestContext context)
    {
        var eventId = Guid.CreateVersion7();
        var query = $"?e={EventType}&event_id={eventId}&url={Uri.EscapeDataString(PageUrl)}";
        context.Request.RequestUri = new Uri(context.Request.RequestUri!, query);
        context.Request.Options.Set(EventIdOption, eventId);

        // A client that says what it is: with BOT_MODE=flag (the default) the event is stored, marked as a bot.
        context.Request.Headers.UserAgent.ParseAdd("GoTrack-AppHost-TestEvent/1.0");
        return Task.CompletedTask;
    }

    private static Task<ExecuteCommandResult> Result(HttpCommandResultContext context)
    {
        var response = context.Response;
        Guid eventId = default;
        response.RequestMessage?.Options.TryGetValue(EventIdOption, out eventId);
        if (response.IsSuccessStatusCode)
        {
            return Task.FromResult(CommandResults.Success($"ingest stored event {eventId} ({EventType}, {PageUrl})"));
        }

        // The pixel explains a refusal in a header, its body being the GIF (see PixelEndpoint).
        var reason = response.Headers.TryGetValues("X-GoTrack-Error", out var values) ? ": " + string.Join("; ", values) : "";
        var status = ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
        return Task.FromResult(CommandResults.Failure($"ingest answered {status}{reason}"));
    }
}
