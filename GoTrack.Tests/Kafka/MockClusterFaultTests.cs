using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Confluent.Kafka;
using GoTrack.DevKafka;

namespace GoTrack.Tests.Kafka;

/// <summary>
/// The mock cluster under what a test run does around it: child processes starting and exiting while
/// brokers go down and up. Both failures below were seen in CI (a test host aborted by librdkafka's
/// assertion) and reproduced in a loop before the fix.
/// </summary>
public sealed partial class MockClusterFaultTests
{
    private const int SigChld = 17;

    /// <summary>
    /// librdkafka's mock thread leaves its loop and destroys the cluster when its poll is interrupted by a
    /// signal. The signal goes to that very thread here, so the test does not depend on which thread the
    /// kernel picks: before the fix, the next command failed with Local_Destroy (the thread had destroyed
    /// the cluster on its way out).
    /// </summary>
    [Fact]
    public async Task A_signal_to_the_mock_thread_does_not_take_the_cluster_down()
    {
        // .NET handles SIGCHLD once a child process has been started; until then the signal is ignored.
        using (var child = Process.Start(new ProcessStartInfo("/bin/true") { UseShellExecute = false })!)
        {
            await child.WaitForExitAsync();
        }

        var before = MockThreadIds();
        var cluster = new MockKafkaCluster(brokers: 1);

        // The thread names itself when it starts; a topic created is an answer from it (librdkafka sends the
        // request to the mock thread and waits for its reply), so by then ours is among the new threads.
        // Another test's new cluster may show up too: it gets the signal as well, which is harmless with the fix.
        await Task.Run(() => cluster.CreateTopic("before-signal", partitions: 1)).WaitAsync(TimeSpan.FromSeconds(20));
        var mockThreads = MockThreadIds().Except(before).ToArray();
        Assert.NotEmpty(mockThreads);

        // Another test's mock thread may have ended meanwhile (ESRCH); ours lives until Dispose.
        var signalled = mockThreads.Count(thread => tgkill(Environment.ProcessId, thread, SigChld) == 0);
        Assert.True(signalled > 0, "no mock thread could be signalled");

        // Run off the test thread with a deadline, in case a broken cluster never answers.
        await Task.Run(() => cluster.CreateTopic("after-signal", partitions: 1)).WaitAsync(TimeSpan.FromSeconds(20));
        await ProduceAndReadOneAsync(cluster.BootstrapServers, "after-signal");

        // Not disposed on failure on purpose: a cluster its own thread already destroyed must not be destroyed twice.
        cluster.Dispose();
    }

    /// <summary>
    /// librdkafka's broker-down closes the listener and binds a new one to the same port; a child forked
    /// in between still holds the old listener, the bind fails and librdkafka aborts the process. The
    /// relays keep their ports bound throughout. Against librdkafka's own down/up this loop aborted the
    /// process within 500 rounds.
    /// </summary>
    [Fact]
    public async Task Brokers_go_down_and_up_while_child_processes_start()
    {
        using var cluster = new MockKafkaCluster(brokers: 3, relayed: true);
        cluster.CreateTopic("flapping", partitions: 3);
        var stop = 0;
        var children = 0;
        var spawners = Enumerable.Range(0, 2).Select(_ => new Thread(() =>
        {
            while (Volatile.Read(ref stop) == 0)
            {
                using var child = Process.Start(new ProcessStartInfo("/bin/true") { UseShellExecute = false })!;
                child.WaitForExit();
                Interlocked.Increment(ref children);
            }
        })).ToArray();
        try
        {
            foreach (var spawner in spawners)
            {
                spawner.Start();
            }

            // At least 500 rounds, and for as long as it takes the spawners to start 200 children (bounded).
            var deadline = DateTime.UtcNow.AddSeconds(60);
            for (var round = 0; round < 500 || (Volatile.Read(ref children) < 200 && DateTime.UtcNow < deadline); round++)
            {
                cluster.SetBrokerDown();
                cluster.SetBrokerUp();
            }
        }
        finally
        {
            Volatile.Write(ref stop, 1);
            foreach (var spawner in spawners.Where(t => t.IsAlive))
            {
                spawner.Join();
            }
        }

        Assert.True(children >= 200, $"only {children} child processes were started during the rounds");
        await ProduceAndReadOneAsync(cluster.BootstrapServers, "flapping");
    }

    [Fact]
    public async Task A_relayed_broker_that_is_down_closes_its_connections_and_refuses_new_ones_on_the_same_port()
    {
        using var cluster = new MockKafkaCluster(brokers: 2, relayed: true);
        var ports = cluster.BootstrapServers.Split(',').Select(b => int.Parse(b.Split(':')[1], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        using var open = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await open.ConnectAsync(IPAddress.Loopback, ports[0]);

        cluster.SetBrokerDown(1);

        var buffer = new byte[1];
        var read = await ReadOrResetAsync(open, buffer).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, read);
        Assert.Equal(SocketError.ConnectionRefused, await ConnectAsync(ports[0]));
        Assert.Equal(SocketError.Success, await ConnectAsync(ports[1]));

        cluster.SetBrokerUp(1);

        Assert.Equal(SocketError.Success, await ConnectAsync(ports[0]));
        Assert.Equal(cluster.BootstrapServers, string.Join(',', ports.Select(p => "127.0.0.1:" + p)));
        cluster.CreateTopic("relayed", partitions: 2, replicationFactor: 1);
        await ProduceAndReadOneAsync(cluster.BootstrapServers, "relayed");
    }

    private static async Task<int> ReadOrResetAsync(Socket socket, byte[] buffer)
    {
        try
        {
            return await socket.ReceiveAsync(buffer);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            return 0;
        }
    }

    private static async Task<SocketError> ConnectAsync(int port)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(IPAddress.Loopback, port).WaitAsync(TimeSpan.FromSeconds(10));
            return SocketError.Success;
        }
        catch (SocketException e)
        {
            return e.SocketErrorCode;
        }
    }

    private static async Task ProduceAndReadOneAsync(string bootstrap, string topic)
    {
        using (var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = bootstrap, MessageTimeoutMs = 20_000 }).Build())
        {
            var result = await producer.ProduceAsync(topic, new Message<string, string> { Key = "k", Value = "v" });
            Assert.Equal(PersistenceStatus.Persisted, result.Status);
        }

        using var consumer = new ConsumerBuilder<string, string>(new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = "fault-" + Guid.NewGuid().ToString("N"),
            AutoOffsetReset = AutoOffsetReset.Earliest,
        }).Build();
        consumer.Subscribe(topic);
        var message = consumer.Consume(TimeSpan.FromSeconds(30));
        Assert.NotNull(message);
        Assert.Equal("v", message.Message.Value);
    }

    private static HashSet<int> MockThreadIds()
    {
        var ids = new HashSet<int>();
        foreach (var task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            try
            {
                if (File.ReadAllText(Path.Combine(task, "comm")).Trim() == "rdk:mock")
                {
                    ids.Add(int.Parse(Path.GetFileName(task), System.Globalization.CultureInfo.InvariantCulture));
                }
            }
            catch (IOException)
            {
                // The thread ended between the listing and the read.
            }
        }

        return ids;
    }

    [LibraryImport("libc.so.6", SetLastError = true)]
    private static partial int tgkill(int tgid, int tid, int signal);
}
