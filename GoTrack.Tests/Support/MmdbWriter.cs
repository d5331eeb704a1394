using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace GoTrack.Tests.Support;

/// <summary>
/// A test-only writer of MaxMind DB files (format 2.0, https://maxmind.github.io/MaxMind-DB/): an IPv6
/// search tree with 24-bit records (IPv4 networks live under ::/96, where readers look for them), a data
/// section, and the metadata map. Enough to build tiny GeoIP2-shaped fixtures without the network.
/// Values: string, bool, ushort, uint, ulong, double, <c>IReadOnlyList&lt;object&gt;</c> (array) and
/// <c>IReadOnlyDictionary&lt;string, object&gt;</c> (map).
/// </summary>
public sealed class MmdbWriter(string databaseType)
{
    private static readonly byte[] MetadataMarker = [0xAB, 0xCD, 0xEF, .. "MaxMind.com"u8];

    private readonly Node _root = new();
    private readonly MemoryStream _data = new();

    public MmdbWriter Add(string cidr, object value)
    {
        var network = IPNetwork.Parse(cidr);
        var address = network.BaseAddress;
        var prefix = network.PrefixLength;
        Span<byte> bytes = stackalloc byte[16];
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            address.TryWriteBytes(bytes[12..], out _);
            prefix += 96;
        }
        else
        {
            address.TryWriteBytes(bytes, out _);
        }

        var offset = (int)_data.Length;
        WriteValue(_data, value);
        var node = _root;
        for (var i = 0; i < prefix; i++)
        {
            var bit = (bytes[i / 8] >> (7 - (i % 8))) & 1;
            if (i == prefix - 1)
            {
                node.Children[bit] = new DataRef(offset);
            }
            else
            {
                node = (Node)(node.Children[bit] ??= new Node());
            }
        }

        return this;
    }

    public byte[] Build()
    {
        var nodes = new List<Node>();
        var queue = new Queue<Node>([_root]);
        while (queue.Count > 0)
        {
            var node = queue.Dequeue();
            node.Index = nodes.Count;
            nodes.Add(node);
            foreach (var child in node.Children)
            {
                if (child is Node n)
                {
                    queue.Enqueue(n);
                }
            }
        }

        var count = nodes.Count;
        var output = new MemoryStream();
        Span<byte> record = stackalloc byte[4];
        foreach (var node in nodes)
        {
            foreach (var child in node.Children)
            {
                var value = child switch
                {
                    Node n => (uint)n.Index,
                    DataRef d => (uint)(count + 16 + d.Offset),
                    _ => (uint)count,
                };
                BinaryPrimitives.WriteUInt32BigEndian(record, value);
                output.Write(record[1..]);
            }
        }

        output.Write(new byte[16]);
        _data.WriteTo(output);
        output.Write(MetadataMarker);
        WriteValue(output, new Dictionary<string, object>
        {
            ["node_count"] = (uint)count,
            ["record_size"] = (ushort)24,
            ["ip_version"] = (ushort)6,
            ["database_type"] = databaseType,
            ["languages"] = new List<object> { "en" },
            ["binary_format_major_version"] = (ushort)2,
            ["binary_format_minor_version"] = (ushort)0,
            ["build_epoch"] = (ulong)DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            ["description"] = new Dictionary<string, object> { ["en"] = "GoTrack test fixture" },
        });
        return output.ToArray();
    }

    private static void WriteValue(Stream s, object value)
    {
        switch (value)
        {
            case string text:
                var utf8 = Encoding.UTF8.GetBytes(text);
                WriteControl(s, 2, utf8.Length);
                s.Write(utf8);
                break;
            case double d:
                WriteControl(s, 3, 8);
                Span<byte> db = stackalloc byte[8];
                BinaryPrimitives.WriteDoubleBigEndian(db, d);
                s.Write(db);
                break;
            case ushort u16:
                WriteUnsigned(s, 5, u16);
                break;
            case uint u32:
                WriteUnsigned(s, 6, u32);
                break;
            case ulong u64:
                WriteUnsigned(s, 9, u64);
                break;
            case bool b:
                WriteControl(s, 14, b ? 1 : 0);
                break;
            case IReadOnlyDictionary<string, object> map:
                WriteControl(s, 7, map.Count);
                foreach (var (k, v) in map)
                {
                    WriteValue(s, k);
                    WriteValue(s, v);
                }

                break;
            case IReadOnlyList<object> array:
                WriteControl(s, 11, array.Count);
                foreach (var item in array)
                {
                    WriteValue(s, item);
                }

                break;
            default:
                throw new ArgumentException($"no MaxMind DB type for {value.GetType()}", nameof(value));
        }
    }

    /// <summary>Unsigned integers are big-endian in as few bytes as the value needs (zero bytes for 0).</summary>
    private static void WriteUnsigned(Stream s, int type, ulong value)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, value);
        var skip = 0;
        while (skip < 8 && bytes[skip] == 0)
        {
            skip++;
        }

        WriteControl(s, type, 8 - skip);
        s.Write(bytes[skip..]);
    }

    /// <summary>The control byte: type in the top 3 bits (0 = extended, type - 7 in the next byte), then the size.</summary>
    private static void WriteControl(Stream s, int type, int size)
    {
        var typeBits = type <= 7 ? type << 5 : 0;
        var (sizeBits, extra, extraBytes) = size switch
        {
            < 29 => (size, 0, 0),
            < 29 + 256 => (29, size - 29, 1),
            < 285 + 65536 => (30, size - 285, 2),
            _ => (31, size - 65821, 3),
        };
        s.WriteByte((byte)(typeBits | sizeBits));
        if (type > 7)
        {
            s.WriteByte((byte)(type - 7));
        }

        for (var i = extraBytes - 1; i >= 0; i--)
        {
            s.WriteByte((byte)(extra >> (8 * i)));
        }
    }

    private sealed class Node
    {
        public object?[] Children { get; } = new object?[2];

        public int Index { get; set; }
    }

    private sealed record DataRef(int Offset);

    /// <summary>A City-shaped record: country.iso_code, subdivisions[].iso_code, city.names.en.</summary>
    public static Dictionary<string, object> City(string country, string? region, string? city)
    {
        var record = new Dictionary<string, object>
        {
            ["country"] = new Dictionary<string, object> { ["iso_code"] = country, ["names"] = new Dictionary<string, object> { ["en"] = country } },
        };
        if (region is not null)
        {
            record["subdivisions"] = new List<object> { new Dictionary<string, object> { ["iso_code"] = region } };
        }

        if (city is not null)
        {
            record["city"] = new Dictionary<string, object> { ["geoname_id"] = 1u, ["names"] = new Dictionary<string, object> { ["en"] = city, ["de"] = city + "-de" } };
        }

        return record;
    }

    /// <summary>The City fixture the tests share: a few IPv4 and IPv6 networks.</summary>
    public static byte[] CityFixture(string londonCountry = "GB") => new MmdbWriter("GeoLite2-City")
        .Add("81.2.69.0/24", City(londonCountry, "ENG", "London"))
        .Add("89.160.20.0/24", City("SE", "E", "Linköping"))
        .Add("175.16.199.0/24", City("CN", "22", null))
        .Add("2001:db8:cafe::/48", City("US", "CA", "San Francisco"))
        .Add("2a02:ff0::/32", City("DE", null, null))
        .Build();
}
