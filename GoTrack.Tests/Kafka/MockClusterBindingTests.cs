using Confluent.Kafka;
using GoTrack.DevKafka;

namespace GoTrack.Tests.Kafka;

public sealed class MockClusterBindingTests
{
    [Fact]
    public void The_mock_binds_to_the_librdkafka_file_Confluent_Kafka_loaded()
    {
        _ = Library.Version;
        var path = MockKafkaCluster.LibraryPath;
        Assert.True(File.Exists(path), path);
        Assert.Contains(File.ReadLines("/proc/self/maps"), l => l.EndsWith(path, StringComparison.Ordinal));
        if (File.Exists("/etc/debian_version"))
        {
            // The plain librdkafka.so needs libsasl2.so.3, which Debian does not have; Confluent.Kafka falls back to this one.
            Assert.EndsWith("centos8-librdkafka.so", path, StringComparison.Ordinal);
        }
    }
}
