using System.Net;
using System.Threading.RateLimiting;

namespace GoTrack.Ingest.Intake;

/// <summary>
/// RATE_LIMIT_IP_PER_SEC and RATE_LIMIT_KEY_PER_SEC: token buckets from System.Threading.RateLimiting, one
/// per partition, each holding a second's worth of events and refilled once a second by a timer on the
/// host's <see cref="TimeProvider"/> (so tests drive it with a fake clock). Client addresses are partitioned
/// into a fixed number of buckets by a keyed hash, so memory stays bounded however many addresses arrive
/// (addresses that share a bucket share its budget); write keys are few (WRITE_KEYS) and each has its own.
/// <para>
/// Why not <see cref="PartitionedRateLimiter.Create{TResource, TPartitionKey}"/>, even with bounded (hash-slot)
/// keys: its implementation (dotnet/runtime, DefaultPartitionedRateLimiter) looks every acquire up in one
/// dictionary under one lock shared by all partitions; a 100 ms timer on the real clock calls TryReplenish on
/// every replenishing limiter (ours refill on the host's TimeProvider, once a second, so tests can drive them:
/// that timer would refill them ten times a second on the wall clock); and a limiter idle for 10 s is removed
/// and disposed, to be created again, full, on the next request. The fixed array keeps the per-request work to a
/// hash and one limiter, with nothing shared, allocated or recreated (IntakeGateTests.Address_partitions_are_bounded_...).
/// </para>
/// </summary>
public sealed class IntakeRateLimits : IDisposable
{
    /// <summary>Partitions for client addresses: 4,096 buckets of ~100 bytes each.</summary>
    public const int AddressPartitions = 4096;

    private readonly TokenBucketRateLimiter[]? _byAddress;
    private readonly Dictionary<string, TokenBucketRateLimiter>? _byKey;
    private readonly ITimer? _timer;
    private readonly int _seed = Random.Shared.Next();
    private readonly int _perAddress;
    private readonly int _perKey;

    public IntakeRateLimits(int perAddressPerSecond, int perKeyPerSecond, IEnumerable<string> keys, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(time);
        _perAddress = perAddressPerSecond;
        _perKey = perKeyPerSecond;
        if (perAddressPerSecond > 0)
        {
            _byAddress = new TokenBucketRateLimiter[AddressPartitions];
            for (var i = 0; i < _byAddress.Length; i++)
            {
                _byAddress[i] = Bucket(perAddressPerSecond);
            }
        }

        if (perKeyPerSecond > 0)
        {
            _byKey = keys.ToDictionary(k => k, _ => Bucket(perKeyPerSecond), StringComparer.Ordinal);
        }

        if (Enabled)
        {
            _timer = time.CreateTimer(static state => ((IntakeRateLimits)state!).Replenish(), this, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        }
    }

    public bool Enabled => _byAddress is not null || _byKey is not null;

    /// <summary>Limiters held: at most <see cref="AddressPartitions"/> plus one per write key, fixed at start.</summary>
    public int PartitionCount => (_byAddress?.Length ?? 0) + (_byKey?.Count ?? 0);

    /// <summary>
    /// Takes <paramref name="events"/> permits from the address's bucket, then from the key's; false when
    /// either has too few. A request with more events than a bucket holds takes a full bucket. Buckets give
    /// nothing back: a request the key's bucket refuses has still spent its address's permits.
    /// </summary>
    public bool TryAcquire(IPAddress? address, string? key, int events)
    {
        if (!Enabled)
        {
            return true;
        }

        if (_byAddress is not null && address is not null)
        {
            using var lease = _byAddress[Partition(address)].AttemptAcquire(Math.Clamp(events, 1, _perAddress));
            if (!lease.IsAcquired)
            {
                return false;
            }
        }

        if (_byKey is not null && key is not null && _byKey.TryGetValue(key, out var bucket))
        {
            using var lease = bucket.AttemptAcquire(Math.Clamp(events, 1, _perKey));
            if (!lease.IsAcquired)
            {
                return false;
            }
        }

        return true;
    }

    private int Partition(IPAddress address) => (int)((uint)HashCode.Combine(_seed, address) % AddressPartitions);

    private void Replenish()
    {
        if (_byAddress is not null)
        {
            foreach (var bucket in _byAddress)
            {
                bucket.TryReplenish();
            }
        }

        if (_byKey is not null)
        {
            foreach (var bucket in _byKey.Values)
            {
                bucket.TryReplenish();
            }
        }
    }

    private static TokenBucketRateLimiter Bucket(int perSecond) => new(new TokenBucketRateLimiterOptions
    {
        TokenLimit = perSecond,
        TokensPerPeriod = perSecond,
        // Refilled by our timer on the host's TimeProvider. TryReplenish also checks the real time since the
        // last refill against this period (a fake clock cannot move it), so the period is one tick: every
        // call of our once-a-second timer then refills the bucket to its limit.
        ReplenishmentPeriod = TimeSpan.FromTicks(1),
        AutoReplenishment = false,
        QueueLimit = 0,
    });

    public void Dispose()
    {
        _timer?.Dispose();
        foreach (var bucket in _byAddress ?? [])
        {
            bucket.Dispose();
        }

        foreach (var bucket in _byKey?.Values ?? Enumerable.Empty<TokenBucketRateLimiter>())
        {
            bucket.Dispose();
        }
    }
}
