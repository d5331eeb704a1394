using CsCheck;
using GoTrack.Core.Queue.Wal;
using GoTrack.Tests.Queue;

namespace GoTrack.Tests.Properties;

/// <summary>
/// The WAL record decoder over arbitrary bytes: it never throws, and it only ever accepts a record whose
/// checksum holds; over damaged real records it never accepts one that differs from what was written.
/// </summary>
public sealed class WalRecordPropertyTests
{
    [Fact]
    public void Arbitrary_bytes_never_throw_and_never_decode_to_a_record() =>
        Gen.Byte.Array[0, 600].Sample(bytes =>
        {
            var result = WalRecordFormat.Peek(bytes, out _, out var size);
            Assert.NotEqual(WalDecode.Record, result);
            Assert.Equal(0, size);
        }, iter: 50_000);

    [Fact]
    public void A_damaged_or_cut_record_is_never_accepted_and_an_intact_one_always_is() =>
        Gen.Select(Gen.Int[0, 2000], Gen.Int[0, int.MaxValue], Gen.Byte[1, 255], Gen.Int[0, 3]).Sample((size, where, flip, mode) =>
        {
            var record = WriteAheadLogTests.R(size, "t" + size);
            var bytes = new byte[WalRecordFormat.SizeOf(record) + 8];
            var length = WalRecordFormat.Encode(record, 42, bytes);

            Assert.Equal(WalDecode.Record, WalRecordFormat.Peek(bytes, out var seq, out var got));
            Assert.Equal((42L, length), (seq, got));
            var back = WalRecordFormat.Materialize(bytes.AsSpan(0, length));
            Assert.Equal(record.EventId, back.EventId);
            Assert.Equal(record.Json, back.Json);
            Assert.Equal(record.Type, back.Type);

            var damaged = bytes.AsSpan(0, length).ToArray();
            switch (mode)
            {
                case 0: // one byte changed anywhere
                    damaged[where % length] ^= flip;
                    Assert.NotEqual(WalDecode.Record, WalRecordFormat.Peek(damaged, out _, out _));
                    break;
                case 1: // cut short
                    Assert.NotEqual(WalDecode.Record, WalRecordFormat.Peek(damaged.AsSpan(0, where % length), out _, out _));
                    break;
                case 2: // a zeroed block, as a lost page would be (random JSON may hold zeros already: only a change counts)
                    var at = where % length;
                    var block = damaged.AsSpan(at, Math.Min(512, length - at));
                    var changed = block.IndexOfAnyExcept((byte)0) >= 0;
                    block.Clear();
                    if (changed)
                    {
                        Assert.NotEqual(WalDecode.Record, WalRecordFormat.Peek(damaged, out _, out _));
                    }

                    break;
                default: // garbage after a good record does not change it
                    Random.Shared.NextBytes(bytes.AsSpan(length));
                    Assert.Equal(WalDecode.Record, WalRecordFormat.Peek(bytes, out _, out got));
                    Assert.Equal(length, got);
                    break;
            }
        }, iter: 20_000);
}
