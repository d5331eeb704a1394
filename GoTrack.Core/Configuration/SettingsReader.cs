using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace GoTrack.Core.Configuration;

/// <summary>
/// Reads GoTrack's flat settings (<c>BATCH_SIZE</c>, <c>LOG_PATH</c>, ...) from <see cref="IConfiguration"/>,
/// so environment variables, appsettings and the AppHost all work. Every bad value becomes an error that
/// names the variable; reading goes on so that one start reports every mistake at once.
/// </summary>
public sealed class SettingsReader(IConfiguration configuration)
{
    private readonly List<string> _errors = [];

    public IReadOnlyList<string> Errors => _errors;

    public void Error(string name, string message) => _errors.Add($"{name}: {message}");

    /// <summary>The raw value, or null when unset or blank.</summary>
    public string? Raw(string name)
    {
        var value = configuration[name];
        return string.IsNullOrWhiteSpace(value) ? null : value.Trim();
    }

    public string Text(string name, string defaultValue) => Raw(name) ?? defaultValue;

    public int Number(string name, int defaultValue, int min, int max)
    {
        var raw = Raw(name);
        if (raw is null)
        {
            return defaultValue;
        }

        if (!int.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            Error(name, $"must be a whole number from {min} to {max} (got '{raw}')");
            return defaultValue;
        }

        return value;
    }

    /// <summary>A size in bytes: a whole number, optionally followed by K, M or G (KiB, MiB, GiB; powers of 1024).</summary>
    public long Size(string name, long defaultValue, long min, long max)
    {
        var raw = Raw(name);
        if (raw is null)
        {
            return defaultValue;
        }

        if (!TryParseSize(raw, out var value) || value < min || value > max)
        {
            Error(name, $"must be a size from {min} to {max} bytes, a whole number optionally followed by K, M or G (got '{raw}')");
            return defaultValue;
        }

        return value;
    }

    public static bool TryParseSize(string text, out long bytes)
    {
        bytes = 0;
        var span = text.AsSpan().Trim();
        var digits = span.IndexOfAnyExceptInRange('0', '9');
        var number = digits < 0 ? span : span[..digits];
        var unit = digits < 0 ? [] : span[digits..].Trim();
        if (number.IsEmpty || !long.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
        {
            return false;
        }

        long factor = unit.ToString().ToUpperInvariant() switch
        {
            "" or "B" => 1,
            "K" or "KB" or "KIB" => 1L << 10,
            "M" or "MB" or "MIB" => 1L << 20,
            "G" or "GB" or "GIB" => 1L << 30,
            _ => 0,
        };
        if (factor == 0 || n > long.MaxValue / factor)
        {
            return false;
        }

        bytes = n * factor;
        return true;
    }

    public bool Bool(string name, bool defaultValue)
    {
        var raw = Raw(name);
        if (raw is null)
        {
            return defaultValue;
        }

        switch (raw.ToUpperInvariant())
        {
            case "TRUE" or "1" or "YES" or "ON":
                return true;
            case "FALSE" or "0" or "NO" or "OFF":
                return false;
            default:
                Error(name, $"must be true or false (got '{raw}')");
                return defaultValue;
        }
    }

    public TimeSpan Milliseconds(string name, int defaultMs, int min, int max) =>
        TimeSpan.FromMilliseconds(Number(name, defaultMs, min, max));

    /// <summary>A Go-style duration (<c>500ms</c>, <c>20s</c>, <c>1m30s</c>) or a whole number of seconds.</summary>
    public TimeSpan Duration(string name, TimeSpan defaultValue, TimeSpan min, TimeSpan max)
    {
        var raw = Raw(name);
        if (raw is null)
        {
            return defaultValue;
        }

        if (!TryParseDuration(raw, out var value) || value < min || value > max)
        {
            Error(name, $"must be a duration from {min.TotalSeconds:0.###}s to {max.TotalSeconds:0.###}s such as 20s or 1m30s (got '{raw}')");
            return defaultValue;
        }

        return value;
    }

    /// <summary>One of <paramref name="allowed"/>, compared without case; returned in the allowed spelling.</summary>
    public string OneOf(string name, string defaultValue, params string[] allowed)
    {
        var raw = Raw(name);
        if (raw is null)
        {
            return defaultValue;
        }

        foreach (var candidate in allowed)
        {
            if (string.Equals(candidate, raw, StringComparison.OrdinalIgnoreCase))
            {
                return candidate;
            }
        }

        Error(name, $"must be one of {string.Join(", ", allowed)} (got '{raw}')");
        return defaultValue;
    }

    public static bool TryParseDuration(string text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            value = TimeSpan.FromSeconds(seconds);
            return true;
        }

        var s = text.AsSpan();
        if (s.IsEmpty)
        {
            return false;
        }

        while (!s.IsEmpty)
        {
            var digits = 0;
            while (digits < s.Length && (char.IsAsciiDigit(s[digits]) || s[digits] == '.'))
            {
                digits++;
            }

            if (digits == 0 || !double.TryParse(s[..digits], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
            {
                return false;
            }

            s = s[digits..];
            var unit = 0;
            while (unit < s.Length && char.IsAsciiLetter(s[unit]))
            {
                unit++;
            }

            var part = s[..unit] switch
            {
                "ms" => TimeSpan.FromMilliseconds(number),
                "s" => TimeSpan.FromSeconds(number),
                "m" => TimeSpan.FromMinutes(number),
                "h" => TimeSpan.FromHours(number),
                _ => (TimeSpan?)null,
            };
            if (part is null)
            {
                return false;
            }

            value += part.Value;
            s = s[unit..];
        }

        return true;
    }
}
