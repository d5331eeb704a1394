using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Reflection;
using System.Runtime.InteropServices;
using Confluent.Kafka;

namespace GoTrack.DevKafka;

/// <summary>
/// librdkafka's built-in mock cluster: real Kafka-protocol brokers in this process, listening on
/// 127.0.0.1, with fault injection (brokers down and up, errors pushed onto requests). It is for tests
/// and local development only: data lives in memory, and there is no SASL, TLS or CreateTopics.
/// </summary>
/// <remarks>
/// The functions are bound to the very librdkafka file Confluent.Kafka loaded, so the mock and the
/// clients under test share one copy of the library (on Debian that is <c>centos8-librdkafka.so</c>,
/// because the plain <c>librdkafka.so</c> needs libsasl2.so.3).
/// </remarks>
public sealed partial class MockKafkaCluster : IDisposable
{
    private const string Lib = "librdkafka";
    private static readonly Lazy<string> LoadedPath = new(FindLoadedLibrary);
    private readonly Lock _gate = new();
    private nint _handle;
    private nint _cluster;
    private readonly TcpForwarder[]? _relays;

    static MockKafkaCluster() => NativeLibrary.SetDllImportResolver(typeof(MockKafkaCluster).Assembly, Resolve);

    /// <summary>Starts <paramref name="brokers"/> mock brokers (ids 1..n) on random loopback ports.</summary>
    /// <param name="brokers">How many brokers.</param>
    /// <param name="relayed">
    /// Puts a relay of ours (<see cref="TcpForwarder"/>) in front of each broker, and makes
    /// <see cref="SetBrokerDown"/> and <see cref="SetBrokerUp"/> act on the relays. Use it wherever brokers
    /// go down and up in a process that also starts child processes (a test run): librdkafka's own
    /// broker-down can abort the process then (see <see cref="TcpForwarder"/>).
    /// </param>
    public MockKafkaCluster(int brokers = 3, bool relayed = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(brokers, 1);
        BrokerCount = brokers;
        var conf = rd_kafka_conf_new();
        var error = new byte[512];
        // The handle only hosts the cluster's thread; keep its own logging to real problems.
        _ = rd_kafka_conf_set(conf, "log_level", "3", error, (nuint)error.Length);
        _handle = rd_kafka_new(0, conf, error, (nuint)error.Length);
        if (_handle == 0)
        {
            throw new InvalidOperationException("rd_kafka_new failed: " + System.Text.Encoding.UTF8.GetString(error).TrimEnd('\0'));
        }

        _cluster = NewClusterWithSignalsBlocked(_handle, brokers);
        if (_cluster == 0)
        {
            rd_kafka_destroy(_handle);
            throw new InvalidOperationException("rd_kafka_mock_cluster_new failed");
        }

        BootstrapServers = Marshal.PtrToStringUTF8(rd_kafka_mock_cluster_bootstraps(_cluster))
            ?? throw new InvalidOperationException("the mock cluster has no bootstrap servers");
        if (relayed)
        {
            try
            {
                _relays = StartRelays(BootstrapServers);
            }
            catch
            {
                Dispose();
                throw;
            }

            BootstrapServers = string.Join(',', _relays.Select(static r => "127.0.0.1:" + r.Port.ToString(CultureInfo.InvariantCulture)));
        }
    }

    private TcpForwarder[] StartRelays(string bootstrapServers)
    {
        // librdkafka lists the brokers in id order, 1..n.
        var ports = bootstrapServers.Split(',').Select(static b => int.Parse(b[(b.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture)).ToArray();
        var relays = new List<TcpForwarder>(ports.Length);
        try
        {
            for (var i = 0; i < ports.Length; i++)
            {
                var relay = new TcpForwarder(new IPEndPoint(IPAddress.Loopback, 0), new IPEndPoint(IPAddress.Loopback, ports[i]));
                relays.Add(relay);
                relay.Start();
                SetAdvertisedAddress(i + 1, "127.0.0.1", relay.Port);
            }
        }
        catch
        {
            foreach (var relay in relays)
            {
                relay.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }

            throw;
        }

        return [.. relays];
    }

    /// <summary>Comma-separated <c>127.0.0.1:port</c> of every broker.</summary>
    public string BootstrapServers { get; }

    public int BrokerCount { get; }

    /// <summary>The native library file the mock (and Confluent.Kafka) runs on.</summary>
    public static string LibraryPath => LoadedPath.Value;

    /// <summary>Creates a topic; the mock has no CreateTopics API, so tests and the dev broker use this.</summary>
    public void CreateTopic(string topic, int partitions = 3, int replicationFactor = 1) =>
        Check(rd_kafka_mock_topic_create(Cluster, topic, partitions, Math.Min(replicationFactor, BrokerCount)), "create topic " + topic);

    /// <summary>Disconnects a broker (or all of them, with -1) and refuses new connections.</summary>
    public void SetBrokerDown(int brokerId = -1) => SetBrokerState(brokerId, up: false);

    /// <summary>Lets a broker (or all of them, with -1) accept connections again.</summary>
    public void SetBrokerUp(int brokerId = -1) => SetBrokerState(brokerId, up: true);

    private void SetBrokerState(int brokerId, bool up)
    {
        if (_relays is null)
        {
            Check(up ? rd_kafka_mock_broker_set_up(Cluster, brokerId) : rd_kafka_mock_broker_set_down(Cluster, brokerId), up ? "broker up" : "broker down");
            return;
        }

        foreach (var relay in Relays(brokerId))
        {
            if (up)
            {
                relay.Accept();
            }
            else
            {
                relay.Refuse();
            }
        }
    }

    private TcpForwarder[] Relays(int brokerId)
    {
        ObjectDisposedException.ThrowIf(_cluster == 0, this);
        if (brokerId == -1)
        {
            return _relays!;
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(brokerId, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(brokerId, BrokerCount);
        return [_relays![brokerId - 1]];
    }

    /// <summary>Makes the next <paramref name="errors"/>.Length requests of <paramref name="apiKey"/> (0 = Produce) fail with these errors, in order, on any broker.</summary>
    public void PushRequestErrors(short apiKey, params ErrorCode[] errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        var codes = Array.ConvertAll(errors, static e => (int)e);
        rd_kafka_mock_push_request_errors_array(Cluster, apiKey, (nuint)codes.Length, codes);
    }

    /// <summary>Makes every request on the topic fail with <paramref name="error"/> until set back to <see cref="ErrorCode.NoError"/>.</summary>
    public void SetTopicError(string topic, ErrorCode error) => rd_kafka_mock_topic_set_error(Cluster, topic, (int)error);

    /// <summary>
    /// Makes <paramref name="brokerId"/> the partition's leader, or leaves the partition without one (-1):
    /// then nothing produced to it is acknowledged, and a message times out after message.timeout.ms.
    /// </summary>
    public void SetPartitionLeader(string topic, int partition, int brokerId) =>
        Check(rd_kafka_mock_partition_set_leader(Cluster, topic, partition, brokerId), "set the leader of " + topic + "/" + partition);

    /// <summary>Changes the host and port a broker advertises in metadata (its listener stays where it is).</summary>
    public void SetAdvertisedAddress(int brokerId, string host, int port) => rd_kafka_mock_broker_set_host_port(Cluster, brokerId, host, port);

    public void Dispose()
    {
        lock (_gate)
        {
            try
            {
                foreach (var relay in _relays ?? [])
                {
                    relay.DisposeAsync().AsTask().GetAwaiter().GetResult();
                }
            }
            finally
            {
                DestroyNative();
            }
        }
    }

    private void DestroyNative()
    {
        if (_cluster != 0)
        {
            rd_kafka_mock_cluster_destroy(_cluster);
            _cluster = 0;
        }

        if (_handle != 0)
        {
            rd_kafka_destroy(_handle);
            _handle = 0;
        }
    }

    private nint Cluster
    {
        get
        {
            ObjectDisposedException.ThrowIf(_cluster == 0, this);
            return _cluster;
        }
    }

    /// <summary>
    /// Creates the cluster with every signal blocked on this thread, so that the cluster's thread, which
    /// librdkafka starts from here and which inherits this thread's signal mask, never takes one.
    /// </summary>
    /// <remarks>
    /// The mock's thread leaves its loop and destroys the cluster when <c>poll</c> fails, and a signal
    /// fails it with EINTR: a child process exiting (SIGCHLD, which .NET handles) could take a test's
    /// brokers away for good. librdkafka blocks signals this way for the threads of <c>rd_kafka_new</c>,
    /// but not for a cluster created with <c>rd_kafka_mock_cluster_new</c>.
    /// </remarks>
    private static unsafe nint NewClusterWithSignalsBlocked(nint handle, int brokers)
    {
        if (!OperatingSystem.IsLinux())
        {
            return rd_kafka_mock_cluster_new(handle, brokers);
        }

        // glibc's sigset_t is 128 bytes; pthread_sigmask leaves out the signals glibc keeps for itself.
        var all = stackalloc byte[128];
        var previous = stackalloc byte[128];
        if (sigfillset(all) != 0 || pthread_sigmask(SigSetMask, all, previous) != 0)
        {
            throw new InvalidOperationException("could not block signals for the mock cluster's thread");
        }

        try
        {
            return rd_kafka_mock_cluster_new(handle, brokers);
        }
        finally
        {
            _ = pthread_sigmask(SigSetMask, previous, null);
        }
    }

    private static void Check(int error, string what)
    {
        if (error != 0)
        {
            throw new InvalidOperationException($"mock cluster: {what} failed: {(ErrorCode)error}");
        }
    }

    private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath) =>
        name == Lib ? NativeLibrary.Load(LoadedPath.Value) : 0;

    /// <summary>Lets Confluent.Kafka load librdkafka its own way, then asks the OS which file that was.</summary>
    [SuppressMessage("Design", "CA1031", Justification = "Any failure to read the maps file falls back to the packaged name.")]
    private static string FindLoadedLibrary()
    {
        _ = Library.Version;
        try
        {
            foreach (var line in File.ReadLines("/proc/self/maps"))
            {
                var at = line.IndexOf('/', StringComparison.Ordinal);
                if (at >= 0 && line.AsSpan(at).Contains("librdkafka", StringComparison.Ordinal))
                {
                    return line[at..];
                }
            }
        }
        catch (Exception)
        {
        }

        // Not Linux: the packaged library next to the app, where Confluent.Kafka found it too.
        var native = Path.Combine(AppContext.BaseDirectory, "runtimes", RuntimeInformation.RuntimeIdentifier, "native");
        var file = OperatingSystem.IsWindows() ? "librdkafka.dll" : OperatingSystem.IsMacOS() ? "librdkafka.dylib" : "librdkafka.so";
        return Path.Combine(native, file);
    }

    /// <summary>
    /// Raises a fatal error in a real client, as librdkafka's own tests do (rd_kafka_test_fatal_error): the
    /// client then behaves exactly as after a broken idempotence sequence. For tests only.
    /// </summary>
    public static void TriggerFatalError(Confluent.Kafka.IClient client, Confluent.Kafka.ErrorCode code, string reason)
    {
        ArgumentNullException.ThrowIfNull(client);
        var property = client.Handle.GetType().GetProperty("LibrdkafkaHandle", BindingFlags.NonPublic | BindingFlags.Public | BindingFlags.Instance)
            ?? throw new InvalidOperationException("Confluent.Kafka's Handle has no LibrdkafkaHandle property");
        var handle = (System.Runtime.InteropServices.SafeHandle)property.GetValue(client.Handle)!;
        var result = rd_kafka_test_fatal_error(handle.DangerousGetHandle(), (int)code, reason);
        if (result != 0)
        {
            throw new InvalidOperationException("rd_kafka_test_fatal_error failed: " + result);
        }
    }

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int rd_kafka_test_fatal_error(nint rk, int err, string reason);

    [LibraryImport(Lib)]
    private static partial nint rd_kafka_conf_new();

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int rd_kafka_conf_set(nint conf, string name, string value, byte[] errstr, nuint errstrSize);

    [LibraryImport(Lib)]
    private static partial nint rd_kafka_new(int type, nint conf, byte[] errstr, nuint errstrSize);

    [LibraryImport(Lib)]
    private static partial void rd_kafka_destroy(nint rk);

    private const int SigSetMask = 2; // SIG_SETMASK on Linux

    [LibraryImport("libc.so.6")]
    private static unsafe partial int sigfillset(byte* set);

    [LibraryImport("libc.so.6")]
    private static unsafe partial int pthread_sigmask(int how, byte* set, byte* previous);

    [LibraryImport(Lib)]
    private static partial nint rd_kafka_mock_cluster_new(nint rk, int brokerCount);

    [LibraryImport(Lib)]
    private static partial void rd_kafka_mock_cluster_destroy(nint cluster);

    [LibraryImport(Lib)]
    private static partial nint rd_kafka_mock_cluster_bootstraps(nint cluster);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int rd_kafka_mock_topic_create(nint cluster, string topic, int partitions, int replicationFactor);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    private static partial void rd_kafka_mock_topic_set_error(nint cluster, string topic, int error);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int rd_kafka_mock_partition_set_leader(nint cluster, string topic, int partition, int brokerId);

    [LibraryImport(Lib)]
    private static partial int rd_kafka_mock_broker_set_down(nint cluster, int brokerId);

    [LibraryImport(Lib)]
    private static partial int rd_kafka_mock_broker_set_up(nint cluster, int brokerId);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    private static partial void rd_kafka_mock_broker_set_host_port(nint cluster, int brokerId, string host, int port);

    [LibraryImport(Lib)]
    private static partial void rd_kafka_mock_push_request_errors_array(nint cluster, short apiKey, nuint count, int[] errors);
}
