using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace GoTrack.Tests.Support;

/// <summary>Keeps every log line, with its structured state and scopes, as text for searching.</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider, ISupportExternalScope
{
    private readonly ConcurrentQueue<string> _lines = new();
    private IExternalScopeProvider? _scopes;

    public IReadOnlyCollection<string> Lines => _lines;

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => owner._scopes?.Push(state);

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var text = $"{logLevel} {category}: {formatter(state, exception)} {exception}";
            if (state is IEnumerable<KeyValuePair<string, object?>> pairs)
            {
                text += " " + string.Join(' ', pairs.Select(p => $"{p.Key}={p.Value}"));
            }

            var scopes = new List<string>();
            owner._scopes?.ForEachScope((scope, list) => list.Add(scope is IEnumerable<KeyValuePair<string, object?>> kv
                ? string.Join(' ', kv.Select(p => $"{p.Key}={p.Value}")) : scope?.ToString() ?? ""), scopes);
            owner._lines.Enqueue(text + " scopes: " + string.Join(" | ", scopes));
        }
    }
}
