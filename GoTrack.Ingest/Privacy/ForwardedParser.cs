namespace GoTrack.Ingest.Privacy;

/// <summary>Reads one hop of X-Forwarded-For or RFC 7239 Forwarded down to the address text.</summary>
public static class ForwardedParser
{
    /// <summary>
    /// An X-Forwarded-For element: <c>203.0.113.7</c>, <c>2001:db8::1</c>, and the forms some proxies
    /// write, <c>203.0.113.7:4711</c> and <c>[2001:db8::1]:4711</c>. Empty when it is none of these.
    /// </summary>
    public static ReadOnlySpan<char> Address(ReadOnlySpan<char> element)
    {
        element = element.Trim();
        if (element.Length >= 2 && element[0] == '"' && element[^1] == '"')
        {
            element = element[1..^1];
        }

        if (element.IsEmpty)
        {
            return [];
        }

        if (element[0] == '[')
        {
            var close = element.IndexOf(']');
            if (close < 0)
            {
                return [];
            }

            var after = element[(close + 1)..];
            if (!after.IsEmpty && (after[0] != ':' || !IsPort(after[1..])))
            {
                return [];
            }

            return element[1..close];
        }

        var colon = element.IndexOf(':');
        if (colon >= 0 && colon == element.LastIndexOf(':'))
        {
            // Exactly one colon: IPv4 with a port.
            return IsPort(element[(colon + 1)..]) ? element[..colon] : [];
        }

        return element;
    }

    /// <summary>
    /// The <c>for=</c> address of one Forwarded element (<c>for=192.0.2.60;proto=http;by=203.0.113.43</c>,
    /// <c>for="[2001:db8:cafe::17]:4711"</c>). Empty when there is no <c>for</c>, or it is <c>unknown</c>
    /// or an obfuscated identifier.
    /// </summary>
    public static ReadOnlySpan<char> ForValue(ReadOnlySpan<char> element)
    {
        while (!element.IsEmpty)
        {
            var semi = IndexOutsideQuotes(element, ';');
            var pair = (semi < 0 ? element : element[..semi]).Trim();
            element = semi < 0 ? [] : element[(semi + 1)..];
            var eq = pair.IndexOf('=');
            if (eq > 0 && pair[..eq].Trim().Equals("for", StringComparison.OrdinalIgnoreCase))
            {
                var value = pair[(eq + 1)..].Trim();
                if (value.Length >= 2 && value[0] == '"' && value[^1] == '"')
                {
                    value = value[1..^1];
                }

                if (value.IsEmpty || value[0] == '_' || value.Equals("unknown", StringComparison.OrdinalIgnoreCase))
                {
                    return [];
                }

                return Address(value);
            }
        }

        return [];
    }

    private static int IndexOutsideQuotes(ReadOnlySpan<char> text, char c)
    {
        var inQuotes = false;
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '"')
            {
                inQuotes = !inQuotes;
            }
            else if (text[i] == c && !inQuotes)
            {
                return i;
            }
        }

        return -1;
    }

    private static bool IsPort(ReadOnlySpan<char> text)
    {
        if (text.IsEmpty || text.Length > 5)
        {
            return false;
        }

        foreach (var c in text)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return true;
    }
}
