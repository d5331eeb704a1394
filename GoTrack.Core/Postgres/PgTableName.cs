namespace GoTrack.Core.Postgres;

/// <summary>
/// PG_TABLE: a plain (<c>events_json</c>) or schema-qualified (<c>analytics.events_json</c>) identifier.
/// It is pasted into SQL, so only unquoted-identifier characters are accepted; the name is folded to
/// lower case as PostgreSQL folds unquoted identifiers, then always written quoted.
/// </summary>
public sealed record PgTableName
{
    /// <summary>
    /// PostgreSQL truncates identifiers at 63 bytes. The index names append up to 12 characters
    /// (<c>_payload_gin</c>), so the table name is kept short enough for both to stay distinct.
    /// </summary>
    public const int MaxNameLength = 50;

    public static PgTableName Default { get; } = new(null, "events_json");

    private PgTableName(string? schema, string name)
    {
        Schema = schema;
        Name = name;
    }

    /// <summary>The schema, or null to use the connection's search_path.</summary>
    public string? Schema { get; }

    public string Name { get; }

    /// <summary>The name as SQL: <c>"schema"."name"</c> or <c>"name"</c>.</summary>
    public string Quoted => Schema is null ? Quote(Name) : Quote(Schema) + "." + Quote(Name);

    /// <summary>An index of this table, quoted; index names are never schema-qualified.</summary>
    public string IndexName(string suffix) => Quote(Name + "_" + suffix);

    public override string ToString() => Schema is null ? Name : Schema + "." + Name;

    public static bool TryParse(string? text, out PgTableName table, out string error)
    {
        table = Default;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "must not be empty";
            return false;
        }

        var parts = text.Trim().Split('.');
        if (parts.Length > 2)
        {
            error = "must be a table name or schema.table, nothing more";
            return false;
        }

        foreach (var part in parts)
        {
            if (!IsIdentifier(part, out error))
            {
                return false;
            }
        }

        table = parts.Length == 1
            ? new PgTableName(null, parts[0].ToLowerInvariant())
            : new PgTableName(parts[0].ToLowerInvariant(), parts[1].ToLowerInvariant());
        error = "";
        return true;
    }

    private static bool IsIdentifier(string part, out string error)
    {
        if (part.Length == 0)
        {
            error = "has an empty name part";
            return false;
        }

        if (part.Length > MaxNameLength)
        {
            error = $"each name part must be at most {MaxNameLength} characters";
            return false;
        }

        if (!(char.IsAsciiLetter(part[0]) || part[0] == '_'))
        {
            error = "each name part must start with a letter or '_'";
            return false;
        }

        foreach (var c in part)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '_'))
            {
                error = "may contain only letters, digits, '_' and one '.' between schema and table";
                return false;
            }
        }

        error = "";
        return true;
    }

    private static string Quote(string identifier) => "\"" + identifier + "\"";
}
