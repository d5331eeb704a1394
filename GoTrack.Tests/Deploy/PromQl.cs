namespace GoTrack.Tests.Deploy;

/// <summary>One label matcher of a selector: <c>code="503"</c>, <c>job=~"a|b"</c>.</summary>
public sealed record PromMatcher(string Label, string Op, string Value);

/// <summary>A series selector: the metric's name and its matchers.</summary>
public sealed record PromSelector(string Metric, IReadOnlyList<PromMatcher> Matchers);

/// <summary>What a PromQL expression reads: its selectors, and the labels it groups or matches on.</summary>
public sealed record PromQuery(string Expression, IReadOnlyList<PromSelector> Selectors, IReadOnlySet<string> GroupingLabels);

/// <summary>
/// Finds the metric names and labels a PromQL expression reads, which is all the deploy tests need
/// (promtool checks the syntax). Functions and aggregations are names followed by '(' (or an aggregation
/// followed by by/without); ranges, strings and numbers are skipped; every other name is a metric. Grafana's
/// interval variables become a duration; any other variable is refused, so nothing is silently skipped.
/// </summary>
public static class PromQl
{
    private static readonly HashSet<string> Aggregations =
    [
        "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk",
        "quantile", "limitk", "limit_ratio",
    ];

    private static readonly HashSet<string> Grouping = ["by", "without", "on", "ignoring", "group_left", "group_right"];

    private static readonly HashSet<string> Keywords = ["and", "or", "unless", "bool", "offset", "inf", "nan", "atan2"];

    private static readonly string[] GrafanaIntervals = ["$__rate_interval", "$__interval", "$__range"];

    /// <summary>The expression with Grafana's interval variables as a plain duration, as promtool needs it.</summary>
    public static string WithoutGrafanaVariables(string expression)
    {
        ArgumentNullException.ThrowIfNull(expression);
        foreach (var variable in GrafanaIntervals)
        {
            expression = expression.Replace(variable, "5m", StringComparison.Ordinal);
        }

        return expression;
    }

    public static PromQuery Parse(string expression)
    {
        var s = WithoutGrafanaVariables(expression);
        var selectors = new List<PromSelector>();
        var grouping = new HashSet<string>(StringComparer.Ordinal);
        var i = 0;
        while (i < s.Length)
        {
            var c = s[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
            }
            else if (c is '"' or '\'' or '`')
            {
                i = SkipString(s, i);
            }
            else if (c == '[')
            {
                var end = s.IndexOf(']', i);
                if (end < 0 || s.AsSpan(i, end - i).Contains('$'))
                {
                    throw Bad(expression, end < 0 ? "unclosed [" : "a variable other than Grafana's intervals");
                }

                i = end + 1;
            }
            else if (c == '{')
            {
                throw Bad(expression, "a selector without a metric name");
            }
            else if (c == '$')
            {
                throw Bad(expression, "a variable other than Grafana's intervals");
            }
            else if (char.IsAsciiDigit(c) || c == '.')
            {
                while (i < s.Length && (char.IsAsciiLetterOrDigit(s[i]) || s[i] is '.' or '_'
                    || (s[i] is '+' or '-' && s[i - 1] is 'e' or 'E' && char.IsAsciiDigit(s[i - 2]))))
                {
                    i++;
                }
            }
            else if (IsNameStart(c))
            {
                var start = i;
                while (i < s.Length && IsNamePart(s[i]))
                {
                    i++;
                }

                var name = s[start..i];
                var next = SkipSpace(s, i);
                var opens = next < s.Length && s[next] == '(';
                if (Grouping.Contains(name))
                {
                    if (opens)
                    {
                        var close = s.IndexOf(')', next);
                        foreach (var label in s[(next + 1)..close].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                        {
                            grouping.Add(label);
                        }

                        i = close + 1;
                    }
                }
                else if (Keywords.Contains(name) || Aggregations.Contains(name) || opens)
                {
                    // an operator, or a function or aggregation whose arguments follow
                }
                else if (next < s.Length && s[next] == '{')
                {
                    i = ReadMatchers(s, next, expression, out var matchers);
                    selectors.Add(new PromSelector(name, matchers));
                }
                else
                {
                    selectors.Add(new PromSelector(name, []));
                }
            }
            else
            {
                i++;
            }
        }

        return new PromQuery(expression, selectors, grouping);
    }

    private static int ReadMatchers(string s, int open, string expression, out List<PromMatcher> matchers)
    {
        matchers = [];
        var i = open + 1;
        while (true)
        {
            i = SkipSpace(s, i);
            if (i < s.Length && s[i] == '}')
            {
                return i + 1;
            }

            var start = i;
            while (i < s.Length && IsNamePart(s[i]))
            {
                i++;
            }

            var label = s[start..i];
            i = SkipSpace(s, i);
            var op = s.AsSpan(i).StartsWith("=~") || s.AsSpan(i).StartsWith("!~") || s.AsSpan(i).StartsWith("!=") ? s.Substring(i, 2)
                : i < s.Length && s[i] == '=' ? "=" : throw Bad(expression, "a matcher without an operator");
            i = SkipSpace(s, i + op.Length);
            if (label.Length == 0 || i >= s.Length || s[i] is not ('"' or '\'' or '`'))
            {
                throw Bad(expression, "a matcher that is not label op \"value\"");
            }

            var end = SkipString(s, i);
            matchers.Add(new PromMatcher(label, op, s[(i + 1)..(end - 1)]));
            i = SkipSpace(s, end);
            if (i < s.Length && s[i] == ',')
            {
                i++;
            }
        }
    }

    private static int SkipString(string s, int i)
    {
        var quote = s[i++];
        while (i < s.Length && s[i] != quote)
        {
            i += s[i] == '\\' && quote != '`' ? 2 : 1;
        }

        return i + 1;
    }

    private static int SkipSpace(string s, int i)
    {
        while (i < s.Length && char.IsWhiteSpace(s[i]))
        {
            i++;
        }

        return i;
    }

    private static bool IsNameStart(char c) => char.IsAsciiLetter(c) || c is '_' or ':';

    private static bool IsNamePart(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or ':';

    private static FormatException Bad(string expression, string what) => new($"PromQL not understood ({what}): {expression}");
}
