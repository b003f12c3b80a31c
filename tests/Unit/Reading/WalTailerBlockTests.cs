using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Reading;
using FlashWal.Recording;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Reading;

/// <summary>
/// <see cref="WalTailer.TryReadNextBlock"/>: the blocks of a log handed out whole, as verified as its
/// events, so that a reader copying them (replication, issue 17) rebuilds each segment's data area
/// byte for byte.
/// </summary>
public sealed class WalTailerBlockTests
{
    private static readonly TailerOptions Quick = new() { LockProbeInterval = TimeSpan.FromMilliseconds(1), MaxIdleSleep = TimeSpan.FromMilliseconds(1) };

    [Fact]
    public void The_blocks_of_a_closed_log_are_its_data_areas_byte_for_byte_in_order_with_their_ids_and_chains()
    {
        using var dir = new TempDirectory();
        Wal.WriteLog(dir.Path, segments: 3, perSegment: 120, Wal.Small, sealEvery: 7);
        var rebuilt = new Dictionary<long, MemoryStream>();
        long nextId = 1;
        var chains = new Dictionary<long, uint>();
        using (WalTailer tailer = WalTailer.Open(dir.Path, options: Quick))
        {
            while (ReadBlock(tailer) is { } b)
            {
                MemoryStream data = rebuilt.TryGetValue(b.Segment, out MemoryStream? existing) ? existing : rebuilt[b.Segment] = new MemoryStream();
                Assert.Equal(SegmentFormat.DataOffset + data.Length, b.Offset); // each block starts where the one before ended
                data.Write(b.Bytes);
                Assert.Equal(nextId, b.FirstId); // ids continue from block to block, across segments
                Assert.Equal(b.FirstId + b.Records - 1, b.LastId);
                nextId = b.LastId + 1;
                chains[b.Segment] = b.Chain;
            }

            Assert.Equal(TailerState.Closed, tailer.State);
            Assert.Equal(360, tailer.LastEventId);
        }

        Assert.Equal(361, nextId);
        Assert.Equal([0L, 1L, 2L], rebuilt.Keys.Order());
        foreach ((long index, MemoryStream data) in rebuilt)
        {
            byte[] file = File.ReadAllBytes(Wal.SegmentPath(dir.Path, index));
            SegmentSummary summary = SegmentFile.ReadSummary(Wal.SegmentPath(dir.Path, index))!.Value;
            Assert.Equal(summary.DataEnd, SegmentFormat.DataOffset + data.Length);
            Assert.Equal(file.AsSpan(SegmentFormat.DataOffset, (int)data.Length).ToArray(), data.ToArray());
            Assert.Equal(summary.FinalChain, chains[index]);
        }
    }

    [Fact]
    public void Blocks_whose_events_precede_the_start_are_passed_over_and_the_first_one_handed_out_holds_the_start()
    {
        using var dir = new TempDirectory();
        Wal.WriteLog(dir.Path, segments: 2, perSegment: 100, Wal.Small, sealEvery: 10);
        using WalTailer tailer = WalTailer.Open(dir.Path, fromEventId: 125, options: Quick);
        Block? first = ReadBlock(tailer);
        Assert.NotNull(first);
        Assert.Equal((1L, 121L, 130L), (first.Value.Segment, first.Value.FirstId, first.Value.LastId));
    }

    [Fact]
    public void A_tailer_handing_out_events_of_a_block_refuses_to_hand_out_blocks_and_damage_is_thrown_as_for_events()
    {
        using var dir = new TempDirectory();
        Wal.WriteLog(dir.Path, segments: 2, perSegment: 40, Wal.Small, sealEvery: 10);
        using (WalTailer events = WalTailer.Open(dir.Path, options: Quick))
        {
            Assert.True(events.TryReadNext(out _));
            Assert.Throws<InvalidOperationException>(() => events.TryReadNextBlock(out _));
        }

        (string damaged, _) = Wal.DamageBlock(dir.Path, 1, block: 2);
        Finding expected;
        using (WalTailer events = WalTailer.Open(dir.Path, options: Quick))
        {
            expected = Assert.Throws<WalCorruptionException>(() =>
            {
                DateTime until = DateTime.UtcNow.AddSeconds(5);
                while (DateTime.UtcNow < until)
                {
                    events.TryReadNext(out _);
                }
            }).Finding;
        }

        Assert.Equal(damaged, expected.File);
        using WalTailer blocks = WalTailer.Open(dir.Path, options: Quick);
        var read = new List<long>();
        WalCorruptionException thrown = Assert.Throws<WalCorruptionException>(() =>
        {
            while (ReadBlock(blocks) is { } b)
            {
                read.Add(b.LastId);
            }
        });
        Assert.Equal(expected, thrown.Finding); // the finding the same tailer throws reading events
        Assert.Equal([10L, 20L, 30L, 40L, 50L, 60L], read); // every block before the damaged one, no later one
    }

    [Fact]
    public void The_blocks_of_a_log_a_recorder_writes_meanwhile_are_handed_out_once_each_as_they_are_sealed_until_it_closes()
    {
        using var dir = new TempDirectory();
        const int Events = 20_000;
        var rebuilt = new Dictionary<long, MemoryStream>();
        long nextId = 1;
        using (WalRecorder recorder = WalRecorder.Open(dir.Path, new WalRecorderOptions { SegmentSize = 64 * 1024, BlockSize = 4096, Durability = DurabilityPolicy.None }))
        using (WalTailer tailer = WalTailer.Open(dir.Path, options: Quick))
        {
            var writer = new Thread(() =>
            {
                for (long id = 1; id <= Events; id++)
                {
                    recorder.Append(Wal.Payload(id, Wal.PayloadLength(id)), (ushort)(id % 7));
                    if (id % 97 == 0)
                    {
                        recorder.Commit();
                    }
                }

                recorder.Commit();
            });
            writer.Start();
            while (nextId <= Events)
            {
                Block b = ReadBlock(tailer) ?? throw new InvalidOperationException("the log ended while the recorder wrote it");
                Assert.Equal(nextId, b.FirstId); // once each, in order, never an uncommitted one
                nextId = b.LastId + 1;
                MemoryStream data = rebuilt.TryGetValue(b.Segment, out MemoryStream? existing) ? existing : rebuilt[b.Segment] = new MemoryStream();
                Assert.Equal(SegmentFormat.DataOffset + data.Length, b.Offset);
                data.Write(b.Bytes);
            }

            writer.Join();
            Assert.True(recorder.ActiveSegmentIndex > 3, "the log rotated while it was read");
        }

        using (WalTailer ended = WalTailer.Open(dir.Path, fromEventId: Events + 1, options: Quick))
        {
            Assert.Null(ReadBlock(ended));
            Assert.Equal(TailerState.Closed, ended.State);
        }

        foreach ((long index, MemoryStream data) in rebuilt)
        {
            byte[] file = File.ReadAllBytes(SegmentLocator.Find(dir.Path, index)!);
            Assert.Equal(file.AsSpan(SegmentFormat.DataOffset, (int)data.Length).ToArray(), data.ToArray());
        }
    }

    [Fact]
    public void Reading_sealed_blocks_allocates_nothing()
    {
        using var dir = new TempDirectory();
        using WalRecorder recorder = WalRecorder.Open(dir.Path, new WalRecorderOptions { SegmentSize = 4 << 20, BlockSize = 4096 });
        for (long id = 1; id <= 5000; id++)
        {
            recorder.Append(Wal.Payload(id, Wal.PayloadLength(id)));
            if (id % 10 == 0)
            {
                recorder.Commit(); // a block of ten events
            }
        }

        using WalTailer tailer = WalTailer.Open(dir.Path, options: Quick);
        long sum = 0;
        for (int i = 0; i < 50; i++)
        {
            Assert.True(tailer.TryReadNextBlock(out SealedBlock block)); // warm-up: the segment mapped, the code compiled
            sum += block.Bytes.Length;
        }

        long allocated = AllocationCounter.Least(() =>
        {
            for (int i = 0; i < 100; i++)
            {
                if (!tailer.TryReadNextBlock(out SealedBlock block))
                {
                    Assert.Fail($"the block after event {tailer.LastEventId} is not readable");
                }

                sum += block.Bytes.Length + block.LastEventId;
            }
        });

        Assert.Equal(0, allocated);
        Assert.Equal(3500, tailer.LastEventId); // 50 + 3 × 100 blocks of ten events
        Assert.True(sum > 0);
    }

    /// <summary>The next block, copied out, waiting up to 5 s; null at the end of the log.</summary>
    private static Block? ReadBlock(WalTailer tailer)
    {
        DateTime until = DateTime.UtcNow.AddSeconds(5);
        while (DateTime.UtcNow < until)
        {
            if (tailer.TryReadNextBlock(out SealedBlock block))
            {
                return new Block(block.SegmentIndex, block.Offset, block.Bytes.ToArray(), block.RecordCount, block.FirstEventId, block.LastEventId, block.Chain);
            }

            if (tailer.State != TailerState.Following)
            {
                return null;
            }

            Thread.Sleep(1);
        }

        throw new TimeoutException("no block and no end within 5 s");
    }

    private readonly record struct Block(long Segment, long Offset, byte[] Bytes, int Records, long FirstId, long LastId, uint Chain);
}
