using System.Globalization;
using System.Net;
using GoTrack.DevKafka;

// DEVELOPMENT ONLY. A single in-memory Kafka-protocol broker (librdkafka's mock cluster) on a fixed
// localhost port, so GoTrack.Ingest can run with OUTPUTS=kafka on a machine without Docker.
// Not a real broker: nothing is persisted, there is no SASL or TLS, and it is not tuned for load.
var port = 9092;
var topic = "gotrack.events";
var partitions = 3;
string? deadLetters = null;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--port" when i + 1 < args.Length:
            port = int.Parse(args[++i], CultureInfo.InvariantCulture);
            break;
        case "--topic" when i + 1 < args.Length:
            topic = args[++i];
            break;
        case "--dlq-topic" when i + 1 < args.Length:
            deadLetters = args[++i];
            break;
        case "--partitions" when i + 1 < args.Length:
            partitions = int.Parse(args[++i], CultureInfo.InvariantCulture);
            break;
        default:
            Console.WriteLine("""
                GoTrack.DevKafka - DEVELOPMENT ONLY in-memory Kafka broker (librdkafka mock cluster).

                  dotnet run --project GoTrack.DevKafka -- [--port 9092] [--topic gotrack.events] [--partitions 3] [--dlq-topic <topic>.dlq]

                Creates the topic and SinkWorker's dead-letter topic, listens on 127.0.0.1:<port>, and runs until Ctrl+C. Data is lost on exit.
                """);
            return args[i] is "--help" or "-h" ? 0 : 2;
    }
}

using var cluster = new MockKafkaCluster(brokers: 1);
cluster.CreateTopic(topic, partitions);
deadLetters ??= topic + ".dlq";
cluster.CreateTopic(deadLetters, partitions: 1);
cluster.SetAdvertisedAddress(1, "127.0.0.1", port);
var brokerPort = int.Parse(cluster.BootstrapServers.Split(':')[^1], CultureInfo.InvariantCulture);
await using var forwarder = new TcpForwarder(new IPEndPoint(IPAddress.Loopback, port), new IPEndPoint(IPAddress.Loopback, brokerPort));
forwarder.Start();

Console.WriteLine($"DEV ONLY Kafka mock broker on 127.0.0.1:{port}, topics '{topic}' ({partitions} partitions) and '{deadLetters}'  (librdkafka {Confluent.Kafka.Library.VersionString}, in memory). Ctrl+C stops it.");
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};
AppDomain.CurrentDomain.ProcessExit += (_, _) => stop.Cancel();
try
{
    await Task.Delay(Timeout.Infinite, stop.Token);
}
catch (OperationCanceledException)
{
}

return 0;
