using System.Globalization;
using System.Text;
using Npgsql;

namespace GoTrack.Core.Postgres;

/// <summary>
/// PG_DSN: the seed's libpq URI (<c>postgres://user:pass@host:5432/db?sslmode=disable</c>) or Npgsql's
/// keyword form (<c>Host=...;Username=...</c>), turned into an Npgsql connection string.
/// </summary>
/// <remarks>
/// Npgsql reads only the keyword form, so the URI is translated here. Errors never quote the value:
/// it may hold a password.
/// </remarks>
public static class PgDsn
{
    /// <summary>The application_name GoTrack sets unless the DSN names one; it marks GoTrack's sessions in pg_stat_activity.</summary>
    public const string DefaultApplicationName = "gotrack";

    private static readonly System.Buffers.SearchValues<char> HostForbidden = System.Buffers.SearchValues.Create(";=,\"' \t");

    public static bool TryParse(string? text, out string connectionString, out string error)
    {
        connectionString = "";
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "must not be empty";
            return false;
        }

        text = text.Trim();
        NpgsqlConnectionStringBuilder builder;
        try
        {
            if (text.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase)
                || text.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase))
            {
                if (!TryFromUri(text, out builder, out error))
                {
                    return false;
                }
            }
            else if (text.Contains("://", StringComparison.Ordinal))
            {
                error = "a URI must start with postgres:// or postgresql://";
                return false;
            }
            else
            {
                builder = new NpgsqlConnectionStringBuilder(text);
            }
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or InvalidCastException or OverflowException or KeyNotFoundException or InvalidOperationException)
        {
            // Npgsql's messages name the keyword, never the value.
            error = "is not a valid connection string: " + ex.Message;
            return false;
        }

        if (string.IsNullOrWhiteSpace(builder.Host))
        {
            error = "names no host";
            return false;
        }

        if (string.IsNullOrEmpty(builder.ApplicationName))
        {
            builder.ApplicationName = DefaultApplicationName;
        }

        connectionString = builder.ConnectionString;
        error = "";
        return true;
    }

    private static bool TryFromUri(string uri, out NpgsqlConnectionStringBuilder builder, out string error)
    {
        builder = new NpgsqlConnectionStringBuilder();
        var rest = uri[(uri.IndexOf("://", StringComparison.Ordinal) + 3)..];
        if (rest.Contains('#', StringComparison.Ordinal))
        {
            error = "a URI must not have a #fragment";
            return false;
        }

        var queryAt = rest.IndexOf('?', StringComparison.Ordinal);
        var query = queryAt >= 0 ? rest[(queryAt + 1)..] : "";
        rest = queryAt >= 0 ? rest[..queryAt] : rest;
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var authority = slash >= 0 ? rest[..slash] : rest;
        var path = slash >= 0 ? rest[(slash + 1)..] : "";

        var at = authority.LastIndexOf('@');
        if (at >= 0)
        {
            var userInfo = authority[..at];
            authority = authority[(at + 1)..];
            var colon = userInfo.IndexOf(':', StringComparison.Ordinal);
            var user = colon >= 0 ? userInfo[..colon] : userInfo;
            if (user.Length > 0)
            {
                builder.Username = Uri.UnescapeDataString(user);
            }

            if (colon >= 0)
            {
                builder.Password = Uri.UnescapeDataString(userInfo[(colon + 1)..]);
            }
        }

        if (authority.Length > 0 && !TryHosts(authority, builder, out error))
        {
            return false;
        }

        if (path.Contains('/', StringComparison.Ordinal))
        {
            error = "the URI path must be just the database name";
            return false;
        }

        if (path.Length > 0)
        {
            builder.Database = Uri.UnescapeDataString(path);
        }

        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                error = "URI parameters must be name=value";
                return false;
            }

            var name = Uri.UnescapeDataString(pair[..eq]);
            var value = Uri.UnescapeDataString(pair[(eq + 1)..].Replace('+', ' '));
            if (!TryParameter(name, value, builder, out error))
            {
                return false;
            }
        }

        error = "";
        return true;
    }

    /// <summary>libpq allows <c>host1:5432,host2:5433</c> and <c>[::1]:5432</c>; Npgsql's Host takes the same list.</summary>
    private static bool TryHosts(string authority, NpgsqlConnectionStringBuilder builder, out string error)
    {
        var hosts = new StringBuilder();
        int? singlePort = null;
        var parts = authority.Split(',');
        foreach (var part in parts)
        {
            string host;
            string? port = null;
            if (part.StartsWith('['))
            {
                var close = part.IndexOf(']', StringComparison.Ordinal);
                if (close < 0 || !System.Net.IPAddress.TryParse(part[1..close], out _))
                {
                    error = "has a malformed [IPv6] host";
                    return false;
                }

                host = part[..(close + 1)];
                var after = part[(close + 1)..];
                if (after.Length > 0)
                {
                    if (after[0] != ':')
                    {
                        error = "has a malformed [IPv6] host";
                        return false;
                    }

                    port = after[1..];
                }
            }
            else
            {
                var colon = part.LastIndexOf(':');
                host = colon >= 0 ? part[..colon] : part;
                port = colon >= 0 ? part[(colon + 1)..] : null;
                host = Uri.UnescapeDataString(host);
                if (host.Length == 0 || host.AsSpan().ContainsAny(HostForbidden))
                {
                    error = "has an empty or malformed host";
                    return false;
                }
            }

            int? portNumber = null;
            if (port is not null)
            {
                if (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var p) || p is < 1 or > 65535)
                {
                    error = "has a port that is not a number from 1 to 65535";
                    return false;
                }

                portNumber = p;
            }

            if (parts.Length == 1)
            {
                // Npgsql's Host takes a lone IPv6 address without brackets.
                hosts.Append(host.StartsWith('[') ? host[1..^1] : host);
                singlePort = portNumber;
            }
            else
            {
                if (hosts.Length > 0)
                {
                    hosts.Append(',');
                }

                hosts.Append(host);
                if (portNumber is { } pn)
                {
                    hosts.Append(':').Append(pn.ToString(CultureInfo.InvariantCulture));
                }
            }
        }

        builder.Host = hosts.ToString();
        if (singlePort is { } sp)
        {
            builder.Port = sp;
        }

        error = "";
        return true;
    }

    /// <summary>The libpq URI parameters GoTrack understands, mapped to Npgsql's keywords. Others are refused, not ignored.</summary>
    private static bool TryParameter(string name, string value, NpgsqlConnectionStringBuilder builder, out string error)
    {
        error = "";
        switch (name)
        {
            case "sslmode":
                SslMode? mode = value switch
                {
                    "disable" => SslMode.Disable,
                    "allow" => SslMode.Allow,
                    "prefer" => SslMode.Prefer,
                    "require" => SslMode.Require,
                    "verify-ca" => SslMode.VerifyCA,
                    "verify-full" => SslMode.VerifyFull,
                    _ => null,
                };
                if (mode is null)
                {
                    error = "sslmode must be disable, allow, prefer, require, verify-ca or verify-full";
                    return false;
                }

                builder.SslMode = mode.Value;
                return true;
            case "connect_timeout":
                if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) || seconds > 1024)
                {
                    error = "connect_timeout must be a whole number of seconds";
                    return false;
                }

                builder.Timeout = seconds;
                return true;
            case "application_name":
                builder.ApplicationName = value;
                return true;
            case "sslrootcert":
                builder.RootCertificate = value;
                return true;
            case "sslcert":
                builder.SslCertificate = value;
                return true;
            case "sslkey":
                builder.SslKey = value;
                return true;
            case "options":
                builder.Options = value;
                return true;
            case "target_session_attrs":
                builder["Target Session Attributes"] = value;
                return true;
            case "user":
                builder.Username = value;
                return true;
            case "password":
                builder.Password = value;
                return true;
            case "dbname":
                builder.Database = value;
                return true;
            case "host":
                builder.Host = value;
                return true;
            case "port":
                if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
                {
                    error = "port must be a number from 1 to 65535";
                    return false;
                }

                builder.Port = port;
                return true;
            default:
                error = $"unknown URI parameter '{name}' (known: sslmode, connect_timeout, application_name, sslrootcert, sslcert, sslkey, options, target_session_attrs, user, password, dbname, host, port)";
                return false;
        }
    }
}
