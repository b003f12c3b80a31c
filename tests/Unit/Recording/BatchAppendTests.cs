using System.Runtime.InteropServices;
using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Reading;
using FlashWal.Recording;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Recording;

/// <summary><see cref="WalRecorder.AppendBatch{T}"/>: the same log as single appends, a block's worth of records at a time.</summary>
public sealed class BatchAppendTests
{
    /// <summary>A 64-byte fixed-size event, as a trading engine writes them.</summary>
    [StructLayout(LayoutKind.Sequential, Size = 64)]
    private struct Order
    {
        public long Id;
        public long Price;
        public long Quantity;
    }

    [Fact]
    public void A_batch_spanning_blocks_and_segments_reads_back_event_by_event_and_verifies_intact()
    {
        using var dir = new TempDirectory();
        var orders = new Order[5_000];
        for (int i = 0; i < orders.Length; i++)
        {
            orders[i] = new Order { Id = i, Price = 100 + i, Quantity = i * 3 };
        }

        using (var recorder = WalRecorder.Open(dir.Path, new WalRecorderOptions { SegmentSize = 64 * 1024, BlockSize = 4096 }))
        {
            Assert.Equal(1, recorder.Append([7], type: 1)); // a single append before
            Assert.Equal(2, recorder.AppendBatch<Order>(orders, type: 5));
            Assert.Equal(5_001, recorder.LastEventId);
            Assert.Equal(5_002, recorder.Append([8], type: 1)); // and one after
            Assert.Equal(0, recorder.AppendBatch(ReadOnlySpan<Order>.Empty));
            Assert.True(recorder.ActiveSegmentIndex >= 5, "the batch should span segments");
            Assert.Equal(5_002, recorder.Commit());
        }

        VerificationReport report = SegmentVerifier.Verify(dir.Path);
        Assert.True(report.IsIntact, string.Join('\n', report.Findings));
        Assert.Equal(5_002, report.Events);
        var events = new List<(long Id, ushort Type, long Timestamp, byte[] Payload)>();
        foreach ((long _, string path) in WalDirectory.List(dir.Path).Segments)
        {
            using SegmentReader reader = SegmentReader.Open(path);
            while (reader.TryReadNext(out WalEvent e))
            {
                events.Add((e.EventId, e.Type, e.TimestampUnixNs, e.Payload.ToArray()));
            }
        }

        Assert.Equal(Enumerable.Range(1, 5_002).Select(i => (long)i), events.Select(e => e.Id));
        var batch = events.Skip(1).Take(orders.Length).ToList();
        Assert.All(batch, e => Assert.Equal((ushort)5, e.Type));
        Assert.Single(batch.Select(e => e.Timestamp).Distinct()); // one clock read for the batch
        for (int i = 0; i < orders.Length; i++)
        {
            Assert.Equal(MemoryMarshal.AsBytes(orders.AsSpan(i, 1)).ToArray(), batch[i].Payload);
        }
    }

    [Fact]
    public void Batches_mixed_with_single_appends_and_claims_in_the_same_blocks_verify_intact_and_read_back_exactly()
    {
        // The writer takes a block's data CRC from a batch on (over the records before it too), the
        // drainer feeds the rest: every way the two meet in one block must give the CRC of its bytes.
        using var dir = new TempDirectory();
        var random = new Random(20261205);
        var expected = new List<(long Id, string Payload)>();
        using (var recorder = WalRecorder.Open(dir.Path, new WalRecorderOptions { SegmentSize = 64 * 1024, BlockSize = 4096 }))
        {
            for (int step = 0; step < 3_000; step++)
            {
                int size = random.Next(1, 200);
                byte[] bytes = new byte[size * random.Next(1, 60)];
                random.NextBytes(bytes);
                switch (random.Next(6))
                {
                    case 0:
                    case 1:
                        long first = recorder.AppendBatch(bytes, size, type: 2);
                        for (int i = 0; i < bytes.Length / size; i++)
                        {
                            expected.Add((first + i, Convert.ToHexString(bytes, i * size, size)));
                        }

                        break;
                    case 2:
                        expected.Add((recorder.Append(bytes.AsSpan(0, size)), Convert.ToHexString(bytes, 0, size)));
                        break;
                    case 3:
                        bytes.AsSpan(0, size).CopyTo(recorder.Claim(size, out long claimed));
                        Assert.Equal(claimed, recorder.Publish());
                        expected.Add((claimed, Convert.ToHexString(bytes, 0, size)));
                        break;
                    case 4:
                        recorder.Claim(size, out _).Fill(0xEE); // bytes a later record overwrites
                        recorder.CancelClaim();
                        break;
                    default:
                        recorder.RequestCommit(); // seals the open block: a block's batch part may end anywhere
                        break;
                }
            }

            Assert.True(recorder.ActiveSegmentIndex >= 3, "the log should span segments");
            recorder.Commit();
        }

        VerificationReport report = SegmentVerifier.Verify(dir.Path);
        Assert.True(report.IsIntact, string.Join('\n', report.Findings));
        Assert.Equal(expected.Count, report.Events);
        var events = new List<(long, string)>();
        foreach ((long _, string path) in WalDirectory.List(dir.Path).Segments)
        {
            using SegmentReader reader = SegmentReader.Open(path);
            while (reader.TryReadNext(out WalEvent e))
            {
                events.Add((e.EventId, Convert.ToHexString(e.Payload)));
            }
        }

        Assert.Equal(expected, events);
    }

    [Fact]
    public void A_batch_allocates_nothing()
    {
        using var dir = new TempDirectory();
        using var recorder = WalRecorder.Open(dir.Path);
        var orders = new Order[1_000];
        recorder.AppendBatch<Order>(orders); // compiles it
        long allocated = AllocationCounter.Least(() =>
        {
            for (int i = 0; i < 100; i++)
            {
                recorder.AppendBatch<Order>(orders);
            }
        });

        Assert.Equal(0, allocated);
        Assert.Equal((1 + (AllocationCounter.Windows * 100)) * 1_000, recorder.Commit());
    }

    [Fact]
    public void An_element_larger_than_a_block_allows_is_refused_and_nothing_is_appended()
    {
        using var dir = new TempDirectory();
        using var recorder = WalRecorder.Open(dir.Path, new WalRecorderOptions { BlockSize = 4096 });
        recorder.Append([1]);
        Assert.Throws<WalEventTooLargeException>(() => recorder.AppendBatch<Big>(new Big[2]));
        Assert.Equal(1, recorder.LastEventId);
        Assert.Equal(2, recorder.Append([2]));
    }

    [Fact]
    public void Payloads_laid_out_as_bytes_append_as_the_typed_batch_does_and_a_ragged_layout_is_refused()
    {
        using var typedDir = new TempDirectory();
        using var bytesDir = new TempDirectory();
        var orders = Enumerable.Range(0, 300).Select(i => new Order { Id = i, Price = i * 7, Quantity = 1 }).ToArray();
        using (var typed = WalRecorder.Open(typedDir.Path, new WalRecorderOptions { BlockSize = 4096 }))
        using (var bytes = WalRecorder.Open(bytesDir.Path, new WalRecorderOptions { BlockSize = 4096 }))
        {
            Assert.Equal(1, typed.AppendBatch<Order>(orders, 5));
            Assert.Equal(1, bytes.AppendBatch(MemoryMarshal.AsBytes(orders.AsSpan()), 64, 5));
            Assert.Equal(0, bytes.AppendBatch([], 64));
            Assert.Throws<ArgumentOutOfRangeException>(() => bytes.AppendBatch(new byte[100], 64));
            Assert.Throws<ArgumentOutOfRangeException>(() => bytes.AppendBatch(new byte[64], 0));
            Assert.Equal(300, bytes.LastEventId);
        }

        Assert.Equal(Read(typedDir.Path), Read(bytesDir.Path));
    }

    private static List<(long, ushort, string)> Read(string directory)
    {
        var events = new List<(long, ushort, string)>();
        foreach ((long _, string path) in WalDirectory.List(directory).Segments)
        {
            using SegmentReader reader = SegmentReader.Open(path);
            while (reader.TryReadNext(out WalEvent e))
            {
                events.Add((e.EventId, e.Type, Convert.ToHexString(e.Payload)));
            }
        }

        return events;
    }

    [StructLayout(LayoutKind.Sequential, Size = 8192)]
    private struct Big
    {
        public long Value;
    }
}
