using System.Net;
using System.Text;
using BenchmarkDotNet.Attributes;
using GoTrack.Core.Events;
using GoTrack.Ingest.Enrichment;
using GoTrack.Ingest.Intake;
using GoTrack.Ingest.Privacy;

namespace GoTrack.Benchmarks;

/// <summary>
/// The per-event work of the intakes without HTTP: parse, normalize, add the server's facts, encode.
/// <see cref="PixelPath"/> is exactly what GET /px.gif runs between reading the request and appending
/// the record, with the default policy (raw IP, cookie session, bots flagged): the request's facts
/// (<see cref="RequestInfo.Create"/>: user-agent parsing and bot detection) and
/// <see cref="EventBuilder.FromPixel"/>, on the load harness's realistic query and a current Chrome UA.
/// </summary>
[MemoryDiagnoser]
public class PixelPathBenchmarks
{
    private const string Query =
        "?e=pageview&url=https%3A%2F%2Fshop.example.com%2Fproducts%2F42%3Fcolor%3Dred&ref=https%3A%2F%2Fwww.google.com%2F" +
        "&uid=u_1234567&utm_source=newsletter&utm_medium=email&utm_campaign=fall_sale&plan=pro";

    private const string UserAgent =
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";

    private const string Session = "Xk3vQ9zR2mL7pT4wB8nY1c";

    private static readonly DateTimeOffset Now = new(2025, 10, 14, 9, 30, 15, 123, TimeSpan.Zero);
    private static readonly IPAddress Ip = IPAddress.Parse("203.0.113.7");
    private static readonly RequestInfo Info = RequestInfo.Create(Now, UserAgent, Ip, PrivacyPolicy.Default);

    /// <summary>IP_MODE=hash and COOKIE_MODE=off: two HMAC-SHA256 per event (the IP hash and the cookieless sid).</summary>
    private static readonly PrivacyPolicy Hashed = new(
        new PrivacyOptions { IpMode = IpMode.Hash, CookieMode = CookieMode.Off, IpHashSecret = "benchmark-secret-0123456789"u8.ToArray() }, null, null);

    private static readonly byte[] CollectJson = Encoding.UTF8.GetBytes(
        """{"e":"pageview","url":"https://shop.example.com/products/42?color=red","ref":"https://www.google.com/","uid":"u_1234567","utm":{"source":"newsletter","medium":"email","campaign":"fall_sale"},"props":{"plan":"pro"}}""");

    private static readonly byte[] Url = "https://shop.example.com/products/42?color=red"u8.ToArray();
    private static readonly byte[] Ref = "https://www.google.com/"u8.ToArray();
    private static readonly byte[] Ua = Encoding.UTF8.GetBytes(UserAgent);

    [Benchmark(Baseline = true)]
    public Record PixelPath() => EventBuilder.FromPixel(Query, null, RequestInfo.Create(Now, UserAgent, Ip, PrivacyPolicy.Default), Session).Record!;

    /// <summary>The pixel path with IP_MODE=hash and COOKIE_MODE=off.</summary>
    [Benchmark]
    public Record PixelPathHashedCookieless() => EventBuilder.FromPixel(Query, null, RequestInfo.Create(Now, UserAgent, Ip, Hashed), []).Record!;

    /// <summary>User-agent parsing and bot detection alone.</summary>
    [Benchmark]
    public DeviceInfo ParseUserAgent() => UserAgentParser.Parse(UserAgent);

    /// <summary>The same event as one /collect element.</summary>
    [Benchmark]
    public Record CollectEvent() => EventBuilder.FromJson(CollectJson, null, Info, Session).Record!;

    /// <summary>The encoder alone, on fields already decoded.</summary>
    [Benchmark]
    public Record EncodeOnly()
    {
        var fields = new EventFields
        {
            EventId = Uuid7.Create(Info.Now),
            Timestamp = Info.Now,
            Type = "pageview"u8,
            Uid = "u_1234567"u8,
            Sid = "Xk3vQ9zR2mL7pT4wB8nY1c"u8,
            Url = Url,
            Ref = Ref,
            Ua = Ua,
            Ip = "203.0.113.7"u8,
            UtmSource = "newsletter"u8,
            UtmMedium = "email"u8,
            UtmCampaign = "fall_sale"u8,
        };
        return EventEncoder.Encode(fields);
    }
}
