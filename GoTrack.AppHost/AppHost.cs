using GoTrack.AppHost;
using Microsoft.Extensions.Configuration;

var builder = DistributedApplication.CreateBuilder(args);

// Kafka and Postgres: existing servers when their connection strings are configured (tests, CI, any
// machine without Docker), containers otherwise.
var kafkaIsExternal = !string.IsNullOrWhiteSpace(builder.Configuration.GetConnectionString("kafka"));
var postgresIsExternal = !string.IsNullOrWhiteSpace(builder.Configuration.GetConnectionString("analytics"));

IResourceBuilder<IResourceWithConnectionString> kafka = kafkaIsExternal
    ? builder.AddConnectionString("kafka")
    : builder.AddKafkaContainer("kafka");

IResourceBuilder<IResourceWithConnectionString> analytics = postgresIsExternal
    ? builder.AddConnectionString("analytics")
    : builder.AddPostgres("postgres")
        .WithDataVolume()

        // The image runs deploy/local's *.sql on first start against POSTGRES_DB (it skips other files);
        // Aspire then finds the database there. The services' PG_AUTO_MIGRATE would create it too.
        .WithEnvironment("POSTGRES_DB", "analytics")
        .WithInitFiles("../deploy/local")
        .AddDatabase("analytics");

// Ingest writes OUTPUTS=kafka; set the parameter to "kafka,log" to keep the NDJSON file too.
var outputs = builder.AddParameter("ingest-outputs", "kafka", publishValueAsDefault: true);

// The services have no launch profiles (their own default is SERVER_ADDR); the AppHost gives each an
// http endpoint, which reaches them as ASPNETCORE_URLS.
var ingest = builder.AddProject<Projects.GoTrack_Ingest>("ingest")
    .WithHttpEndpoint()
    .WithReference(kafka)
    .WaitFor(kafka)
    .WithEnvironment("OUTPUTS", outputs)
    .WithExternalHttpEndpoints()
    .WithHttpHealthCheck("/readyz");

var sinkworker = builder.AddProject<Projects.GoTrack_SinkWorker>("sinkworker")
    .WithHttpEndpoint()
    .WithReference(kafka)
    .WithReference(analytics)
    .WaitFor(kafka)
    .WaitFor(analytics)
    .WithHttpHealthCheck("/readyz");

if (!kafkaIsExternal)
{
    // A fresh container has no topics, and GoTrack never creates them as a side effect.
    ingest.WithEnvironment("KAFKA_CREATE_TOPIC", "true");
    sinkworker.WithEnvironment("KAFKA_CREATE_TOPIC", "true");
}

builder.Build().Run();
