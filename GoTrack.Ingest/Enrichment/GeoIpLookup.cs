using System.Net;
using MaxMind.Db;
using MaxMind.GeoIP2;
using MaxMind.GeoIP2.Responses;

namespace GoTrack.Ingest.Enrichment;

/// <summary>
/// GEOIP_DB: a MaxMind GeoIP2 or GeoLite2 City or Country database, read with MaxMind.GeoIP2. The file is
/// read into memory (not memory-mapped), so replacing or rewriting it in place never corrupts a lookup in
/// flight; <see cref="ReloadIfChanged"/> opens the new file completely before it swaps the reader in one
/// atomic step. A file that does not open keeps the old reader in service.
/// </summary>
public sealed class GeoIpLookup : IDisposable
{
    private readonly string _path;
    private volatile Loaded _loaded;
    private (DateTime Modified, long Length) _failed;

    public GeoIpLookup(string path)
    {
        _path = path;
        _loaded = Open(path);
    }

    public string Path => _path;

    /// <summary>database_type of the file in service, e.g. GeoLite2-City.</summary>
    public string DatabaseType => _loaded.Reader.Metadata.DatabaseType;

    /// <summary>When the file in service was built (its build_epoch).</summary>
    public DateTime BuildDate => _loaded.Reader.Metadata.BuildDate;

    /// <summary>Opens and checks a database; throws <see cref="InvalidDatabaseException"/> or IO errors when it is not one GoTrack can use.</summary>
    private static Loaded Open(string path)
    {
        var info = new FileInfo(path);
        var stamp = (info.LastWriteTimeUtc, info.Length);
        var reader = new DatabaseReader(path, FileAccessMode.Memory);
        var type = reader.Metadata.DatabaseType;
        var kind = type.Contains("City", StringComparison.Ordinal) ? Kind.City
            : type.Contains("Country", StringComparison.Ordinal) ? Kind.Country
            : (Kind?)null;
        if (kind is null)
        {
            reader.Dispose();
            throw new InvalidDatabaseException($"database type '{type}' is not a GeoIP2/GeoLite2 City or Country database");
        }

        return new Loaded(reader, kind.Value, stamp.LastWriteTimeUtc, stamp.Length);
    }

    /// <summary>Checks that <paramref name="path"/> is a database GoTrack can use; null when it is, else why not.</summary>
    public static string? Check(string path)
    {
        try
        {
            using var lookup = new GeoIpLookup(path);
            return null;
        }
        catch (Exception ex) when (ex is InvalidDatabaseException or IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException)
        {
            return ex.Message;
        }
    }

    /// <summary>Addresses whose location is remembered: about 6 MB at most; the cache starts again when full.</summary>
    public const int CacheCapacity = 100_000;

    /// <summary>
    /// The location of <paramref name="ip"/>; empty when the database does not know it (private ranges, say).
    /// A lookup builds MaxMind's response object graph, so each address's answer is remembered (in memory
    /// only, with the database it came from): a returning visitor's pixel allocates nothing here.
    /// </summary>
    public GeoInfo Find(IPAddress ip)
    {
        ArgumentNullException.ThrowIfNull(ip);
        var loaded = _loaded;
        Span<byte> bytes = stackalloc byte[16];
        if (!ip.TryWriteBytes(bytes, out var length))
        {
            return Lookup(loaded, ip);
        }

        var key = length == 4
            ? new UInt128(0, 0x0000_FFFF_0000_0000ul | System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes))
            : System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(bytes);
        if (loaded.Cache.TryGetValue(key, out var known))
        {
            return known;
        }

        var found = Lookup(loaded, ip);
        if (loaded.Cache.Count >= CacheCapacity)
        {
            loaded.Cache.Clear();
        }

        loaded.Cache[key] = found;
        return found;
    }

    /// <summary>Addresses looked up in the current database (its answers are remembered): for tests.</summary>
    internal int RememberedAddresses => _loaded.Cache.Count;

    private long _lookupErrors;

    /// <summary>
    /// Lookups whose record the library could not read (a damaged or unexpected database, or a build that
    /// trimmed what it needs): each is an unknown location, never a failed request. Also logged by the reloader.
    /// </summary>
    public long LookupErrors => Interlocked.Read(ref _lookupErrors);

    private GeoInfo Lookup(Loaded loaded, IPAddress ip)
    {
        try
        {
            switch (loaded.Kind)
            {
                case Kind.City when loaded.Reader.TryCity(ip, out var city):
                    return FromCity(city!);
                case Kind.Country when loaded.Reader.TryCountry(ip, out var country):
                    return new GeoInfo(country!.Country.IsoCode, null, null);
                default:
                    return default;
            }
        }
        catch (Exception ex) when (ex is MaxMind.Db.DeserializationException or InvalidDatabaseException
            or MaxMind.GeoIP2.Exceptions.GeoIP2Exception or InvalidCastException or InvalidOperationException)
        {
            Interlocked.Increment(ref _lookupErrors);
            return default;
        }
    }

    private static GeoInfo FromCity(CityResponse city)
    {
        var subdivisions = city.Subdivisions;
        var region = subdivisions.Count > 0 ? subdivisions[0].IsoCode : null;
        string? name = null;
        city.City.Names?.TryGetValue("en", out name);
        return new GeoInfo(city.Country.IsoCode, region, name);
    }

    /// <summary>
    /// Opens the file again when its modification time or length changed, and swaps the new reader in.
    /// True when it swapped. Throws when the changed file does not open; the old reader stays in service.
    /// </summary>
    public bool ReloadIfChanged()
    {
        var current = _loaded;
        var info = new FileInfo(_path);
        var stamp = (info.LastWriteTimeUtc, info.Length);
        if (!info.Exists || (stamp.LastWriteTimeUtc == current.Modified && stamp.Length == current.Length) || stamp == _failed)
        {
            return false;
        }

        Loaded next;
        try
        {
            next = Open(_path);
        }
        catch
        {
            // Report a bad file once, not on every poll; a new write changes the stamp and is tried again.
            _failed = stamp;
            throw;
        }

        _loaded = next;

        // Lookups still running on the old reader finish on its in-memory copy; the GC frees it after.
        return true;
    }

    public void Dispose() => _loaded.Reader.Dispose();

    private enum Kind
    {
        City,
        Country,
    }

    private sealed record Loaded(DatabaseReader Reader, Kind Kind, DateTime Modified, long Length)
    {
        /// <summary>Answers of this database by address (IPv4 as ::ffff:a.b.c.d); a reload starts a new one.</summary>
        public System.Collections.Concurrent.ConcurrentDictionary<UInt128, GeoInfo> Cache { get; } = new();
    }
}
