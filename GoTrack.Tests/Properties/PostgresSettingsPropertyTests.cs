using CsCheck;
using GoTrack.Core.Postgres;
using Npgsql;

namespace GoTrack.Tests.Properties;

/// <summary>
/// PG_TABLE goes into SQL and PG_DSN holds secrets: whatever an operator types, the parsers either
/// accept it into something safe or refuse it with a reason. They never throw.
/// </summary>
public sealed class PostgresSettingsPropertyTests
{
    private static readonly Gen<string> TableChars = Gen.OneOf(
        Gen.Char["abcXYZ_019"].Select(c => c.ToString()),
        Gen.Const("."), Gen.Const(";"), Gen.Const("\""), Gen.Const("'"), Gen.Const(" "), Gen.Const("-"), Gen.Const("é"),
        Gen.Const("drop table x"), Gen.Char.Select(c => c.ToString()));

    private static readonly Gen<string> Identifier =
        Gen.Select(Gen.Char["abcxyzABC_"], Gen.Char["abcxyzABC_0189"].Array[0, 20], (first, rest) => first + new string(rest));

    [Fact]
    public void Any_PG_TABLE_is_refused_or_becomes_quoted_safe_identifiers() =>
        TableChars.Array[0, 70].Select(parts => string.Concat(parts)).Sample(text =>
        {
            if (PgTableName.TryParse(text, out var table, out var error))
            {
                Assert.Empty(error);
                Assert.Matches("^(\"[a-z_][a-z0-9_]{0,49}\"\\.)?\"[a-z_][a-z0-9_]{0,49}\"$", table.Quoted);
                Assert.True(PgTableName.TryParse(table.ToString(), out var again, out _));
                Assert.Equal(table, again);
            }
            else
            {
                Assert.NotEmpty(error);
            }
        }, iter: 20_000);

    [Fact]
    public void Every_identifier_and_schema_pair_is_accepted() =>
        Gen.Select(Identifier, Identifier, Gen.Bool).Sample((schema, name, qualified) =>
        {
            var text = qualified ? schema + "." + name : name;
            Assert.True(PgTableName.TryParse(text, out var table, out var error), error);
            Assert.Equal(text.ToLowerInvariant(), table.ToString());
        });

    private static readonly Gen<string> Secretish = Gen.String[Gen.Char.AlphaNumeric, 0, 6].SelectMany(a =>
        Gen.Char[" @:/?#&=%+;,'\"é"].Array[0, 4].Select(b => a + new string(b)));

    [Fact]
    public void A_URI_built_from_any_parts_parses_back_to_those_parts() =>
        Gen.Select(Identifier, Secretish, Identifier, Gen.Int[1, 65535], Secretish.Where(d => d.Length > 0))
            .Sample((user, password, host, port, database) =>
            {
                var uri = $"postgres://{Uri.EscapeDataString(user)}:{Uri.EscapeDataString(password)}@{host}:{port}/{Uri.EscapeDataString(database)}?sslmode=disable";
                Assert.True(PgDsn.TryParse(uri, out var cs, out var error), error);
                var b = new NpgsqlConnectionStringBuilder(cs);
                Assert.Equal((host, port, user, database, SslMode.Disable), (b.Host, b.Port, b.Username, b.Database, b.SslMode));
                Assert.Equal(password, b.Password ?? "");
            });

    private static readonly Gen<string> DsnChars = Gen.OneOf(
        Gen.Const("postgres://"), Gen.Const("postgresql://"), Gen.Const("Host="), Gen.Const(";"), Gen.Const("="),
        Gen.Const("@"), Gen.Const(":"), Gen.Const("/"), Gen.Const("?"), Gen.Const("&"), Gen.Const("["), Gen.Const("]"),
        Gen.Const("%"), Gen.Const("%4"), Gen.Const("sslmode="), Gen.Const("5432"), Gen.Const(","), Gen.Const("'"),
        Gen.Char.Select(c => c.ToString()));

    [Fact]
    public void Any_PG_DSN_is_refused_with_a_reason_or_yields_a_connection_string_with_a_host() =>
        DsnChars.Array[0, 30].Select(parts => string.Concat(parts)).Sample(text =>
        {
            if (PgDsn.TryParse(text, out var cs, out var error))
            {
                Assert.False(string.IsNullOrWhiteSpace(new NpgsqlConnectionStringBuilder(cs).Host));
            }
            else
            {
                Assert.NotEmpty(error);
            }
        }, iter: 20_000);
}
