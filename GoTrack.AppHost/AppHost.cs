using GoTrack.AppHost;
using Microsoft.Extensions.Configuration;

var builder = DistributedApplication.CreateBuilder(args);

// Kafka and Postgres: existing servers when their connection strings are configured (tests, CI, any
// machine without Docker), containers otherwise. Containers come with a browser each, Kafka UI and pgweb,
// development tools that the publish manifest leaves out.
var kafkaIsExternal = !string.IsNullOrWhiteSpace(builder.Configuration.GetConnectionString("kafka"));
var postgresIsExternal = !string.IsNullOrWhiteSpace(builder.Configuration.GetConnectionString("analytics"));

IResourceBuilder<IResourceWithConnectionString> kafka = kafkaIsExternal
    ? builder.AddConnectionString("kafka")
    : builder.AddKafkaContainer("kafka").WithDataVolume().WithKafkaUI();

IResourceBuilder<IResourceWithConnectionString> analytics = postgresIsExternal
    ? builder.AddConnectionString("analytics")
    : builder.AddPostgres("postgres")
        .WithDataVolume()
        .WithPgWeb()

        // The image runs deploy/local's *.sql on first start against POSTGRES_DB (it skips other files);
        // Aspire then finds the database there. The services' PG_AUTO_MIGRATE would create it too.
        .WithEnvironment("POSTGRES_DB", "analytics")
        .WithInitFiles("../deploy/local")
        .AddDatabase("analytics");

// Ingest writes OUTPUTS=kafka; set the parameter to "kafka,log" to keep the NDJSON file too.
var outputs = Setting("ingest-outputs", "kafka");

// ACK_MODE for Ingest: "memory" (the default), or "wal" for 2xx-means-fsynced acks. Run locally, the
// write-ahead log lives beside the AppHost (GoTrack:IngestWalDir overrides it), so it survives restarts
// of the AppHost. Deployed, WAL_DIR needs a persistent volume: see "ACK_MODE=wal in containers" in the README.
var ackMode = Setting("ingest-ack-mode", "memory");

// The services have no launch profiles (their own default is SERVER_ADDR); the AppHost gives each an
// http endpoint, which reaches them as ASPNETCORE_URLS.
// Ingest has two: "http", the public intake port (external), and "ops", the management port (OPS_ADDR)
// that serves /healthz, /readyz and /metrics and that the AppHost's health check uses. The public port is
// chosen at each start unless GoTrack:IngestPort fixes it. The dashboard's "Send test event" command on
// ingest sends one pixel there.
var ingest = builder.AddProject<Projects.GoTrack_Ingest>("ingest")
    .WithHttpEndpoint(port: builder.Configuration.GetValue<int?>("GoTrack:IngestPort"))
    .WithHttpEndpoint(name: "ops")
    .WithReference(kafka)
    .WaitFor(kafka)
    .WithEnvironment("OUTPUTS", outputs)
    .WithEnvironment("ACK_MODE", ackMode)
    .WithEndpoint("http", e => e.IsExternal = true)
    .WithHttpHealthCheck("/readyz", endpointName: "ops")
    .WithTestEventCommand(endpointName: "http");
var ops = ingest.GetEndpoint("ops");
ingest.WithEnvironment(context => context.EnvironmentVariables["OPS_ADDR"] = ReferenceExpression.Create($":{ops.Property(EndpointProperty.TargetPort)}"));

var sinkworker = builder.AddProject<Projects.GoTrack_SinkWorker>("sinkworker")
    .WithHttpEndpoint()
    .WithReference(kafka)
    .WithReference(analytics)
    .WaitFor(kafka)
    .WaitFor(analytics)
    .WithHttpHealthCheck("/readyz");

if (builder.ExecutionContext.IsPublishMode)
{
    // Deployed (azd: Azure Container Apps), Ingest sits behind the platform's ingress proxy. GoTrack's own
    // trusted-proxy rule decides the client IP, so ASP.NET's blanket forwarded-headers switch (which
    // Aspire turns on for published projects and which believes any peer) is turned off. The ingress
    // proxies' addresses must be in TRUSTED_PROXIES: the private ranges, plus the shared address space
    // 100.64.0.0/10 that some platforms use inside their environments.
    ingest.WithEnvironment("ASPNETCORE_FORWARDEDHEADERS_ENABLED", "false")
        .WithEnvironment("TRUST_PROXY", "true")
        .WithEnvironment("TRUSTED_PROXIES", "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,100.64.0.0/10,fc00::/7");
}

if (!builder.ExecutionContext.IsPublishMode)
{
    ingest.WithEnvironment("WAL_DIR", builder.Configuration["GoTrack:IngestWalDir"]
        ?? Path.Combine(builder.AppHostDirectory, ".gotrack", "ingest-wal"));
}

if (!kafkaIsExternal)
{
    // A fresh container has no topics, and GoTrack never creates them as a side effect.
    ingest.WithEnvironment("KAFKA_CREATE_TOPIC", "true");
    sinkworker.WithEnvironment("KAFKA_CREATE_TOPIC", "true");
}

builder.Build().Run();

// A parameter with a default that configuration (user secrets, --Parameters:name=value) overrides.
// AddParameter(name, value) alone takes the value as fixed and never reads configuration.
IResourceBuilder<ParameterResource> Setting(string name, string defaultValue) =>
    builder.AddParameter(name, builder.Configuration["Parameters:" + name] is { Length: > 0 } configured ? configured : defaultValue, publishValueAsDefault: true);
