using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Reading;
using FlashWal.Recording;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Recording;

/// <summary>The recorder host's batch submissions and zero-copy claims: what each writes, what each waits for, how each is refused.</summary>
public sealed class HostBatchAndClaimTests
{
    private static readonly WalRecorderOptions Small = new() { SegmentSize = 64 * 1024, BlockSize = 4096 };

    [StructLayout(LayoutKind.Sequential)]
    private struct Quote
    {
        public int Producer;
        public long Sequence;
    }

    [Fact]
    public void Batches_from_several_producers_land_whole_in_order_with_one_timestamp_each()
    {
        using var dir = new TempDirectory();
        const int producers = 3;
        const int batches = 200;
        const int perBatch = 50;
        using (var host = WalRecorderHost.Start(dir.Path, new WalRecorderHostOptions { Recorder = Small, QueueCapacity = 256 }))
        {
            var threads = Enumerable.Range(0, producers).Select(p => new Thread(() =>
            {
                var quotes = new Quote[perBatch];
                for (int b = 0; b < batches; b++)
                {
                    for (int i = 0; i < perBatch; i++)
                    {
                        quotes[i] = new Quote { Producer = p, Sequence = (b * perBatch) + i };
                    }

                    long first = host.SubmitBatch<Quote>(quotes, (ushort)p, SubmitWait.Appended);
                    Assert.True(first > 0);
                }
            })).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());
            Assert.Equal(producers * batches * perBatch, host.Submitted);
            Assert.Equal(producers * batches * perBatch, host.Appended);
            Assert.Equal(producers * batches * perBatch, host.LastEventId);
        }

        long[] next = new long[producers];
        var events = ReadAll(dir.Path);
        for (int at = 0; at < events.Count; at += perBatch)
        {
            // A batch is never interleaved with another producer's events, and shares one timestamp.
            int producer = events[at].Type;
            for (int i = 0; i < perBatch; i++)
            {
                (long id, int type, long timestamp, byte[] payload) = events[at + i];
                Assert.Equal(at + i + 1, id);
                Assert.Equal(producer, type);
                Assert.Equal(events[at].Timestamp, timestamp);
                Assert.Equal(producer, BinaryPrimitives.ReadInt32LittleEndian(payload));
                Assert.Equal(next[producer]++, BinaryPrimitives.ReadInt64LittleEndian(payload.AsSpan(8)));
            }
        }

        Assert.All(next, n => Assert.Equal(batches * perBatch, n));
        Assert.True(SegmentVerifier.Verify(dir.Path).IsIntact);
    }

    [Theory]
    [InlineData(SubmitWait.Committed)]
    [InlineData(SubmitWait.Durable)]
    public void A_batch_waits_until_its_last_event_got_there(SubmitWait wait)
    {
        using var dir = new TempDirectory();
        using var host = WalRecorderHost.Start(dir.Path, new WalRecorderHostOptions { Recorder = Small with { Durability = DurabilityPolicy.Interval } });
        var batch = Enumerable.Range(1, 500).Select(i => (long)i).ToArray(); // spans blocks: 4 KiB blocks hold ~125 of these records
        long first = host.SubmitBatch<long>(batch, 7, wait);
        Assert.Equal(1, first);
        long reached = wait == SubmitWait.Committed ? host.CommittedEventId : host.DurableEventId;
        Assert.True(reached >= 500, $"{wait} returned with the watermark at {reached}");
    }

    [Fact]
    public void Empty_batches_queue_nothing_and_fire_and_forget_returns_at_once()
    {
        using var dir = new TempDirectory();
        using var host = WalRecorderHost.Start(dir.Path, new WalRecorderHostOptions { Recorder = Small });
        Assert.True(host.TrySubmitBatch<long>([]));
        Assert.Equal(0, host.SubmitBatch<long>([], wait: SubmitWait.Committed));
        Assert.True(host.TrySubmitBatch<long>([1, 2, 3]));
        Assert.Equal(0, host.SubmitBatch<long>([4, 5], wait: SubmitWait.None));
        Assert.Equal(5, host.Flush());
        Assert.Equal(5, host.Submitted);
        Assert.Equal([1L, 2, 3, 4, 5], ReadAll(dir.Path).Select(e => BinaryPrimitives.ReadInt64LittleEndian(e.Payload)));
    }

    [Fact]
    public void A_batch_of_elements_over_the_payload_limit_is_refused_before_anything_is_queued()
    {
        using var dir = new TempDirectory();
        using var host = WalRecorderHost.Start(dir.Path, new WalRecorderHostOptions { Recorder = Small });
        var big = new Big[2];
        Assert.Throws<WalEventTooLargeException>(() => host.SubmitBatch<Big>(big));
        Assert.Throws<WalEventTooLargeException>(() => host.TrySubmitBatch<Big>(big));
        Assert.Equal(0, host.Submitted);
    }

    [InlineArray(5000)] // over the payload limit of 4 KiB blocks
    private struct Big
    {
        private byte _first;
    }

    [Fact]
    public void A_claimed_payload_written_in_place_is_appended_as_written()
    {
        using var dir = new TempDirectory();
        using (var host = WalRecorderHost.Start(dir.Path, new WalRecorderHostOptions { Recorder = Small }))
        {
            for (int i = 0; i < 100; i++)
            {
                SubmissionClaim claim = host.Claim(12, type: 3);
                Assert.Equal(12, claim.Payload.Length);
                BinaryPrimitives.WriteInt32LittleEndian(claim.Payload, i);
                BinaryPrimitives.WriteInt64LittleEndian(claim.Payload[4..], -i);
                if (i % 2 == 0)
                {
                    Assert.True(claim.TrySubmit());
                }
                else
                {
                    Assert.Equal(i + 1, claim.Submit(SubmitWait.Committed)); // ids follow queue order: one producer here
                }
            }
        }

        var events = ReadAll(dir.Path);
        Assert.Equal(100, events.Count);
        for (int i = 0; i < 100; i++)
        {
            Assert.Equal(3, events[i].Type);
            Assert.Equal(i, BinaryPrimitives.ReadInt32LittleEndian(events[i].Payload));
            Assert.Equal(-i, BinaryPrimitives.ReadInt64LittleEndian(events[i].Payload.AsSpan(4)));
        }
    }

    [Fact]
    public void A_claim_is_used_once_and_a_cancelled_one_appends_nothing()
    {
        using var dir = new TempDirectory();
        using var host = WalRecorderHost.Start(dir.Path, new WalRecorderHostOptions { Recorder = Small });
        SubmissionClaim cancelled = host.Claim(8);
        cancelled.Cancel();
        Assert.Throws<InvalidOperationException>(() => cancelled.Payload.Length);
        Assert.Throws<InvalidOperationException>(() => cancelled.Submit());
        Assert.Throws<InvalidOperationException>(() => cancelled.Cancel());

        SubmissionClaim used = host.Claim(8);
        used.Payload.Fill(1);
        Assert.Equal(1, used.Submit(SubmitWait.Appended));
        Assert.Throws<InvalidOperationException>(() => used.Submit()); // its envelope is back in the pool
        Assert.Throws<InvalidOperationException>(() => default(SubmissionClaim).TrySubmit());

        Assert.Throws<WalEventTooLargeException>(() => host.Claim(1 << 20));
        Assert.Throws<ArgumentOutOfRangeException>(() => host.Claim(-1));
        SubmissionClaim badWait = host.Claim(8);
        Assert.Throws<ArgumentOutOfRangeException>(() => badWait.Submit((SubmitWait)9));
        badWait.Cancel(); // a refused wait left the claim open
        Assert.Equal(1, host.Flush());
        Assert.Single(ReadAll(dir.Path));
    }

    [Fact]
    public void A_claim_on_a_full_fail_fast_queue_stays_open_until_it_is_queued()
    {
        using var dir = new TempDirectory();
        using var host = WalRecorderHost.Start(dir.Path, new WalRecorderHostOptions { Recorder = Small, QueueCapacity = 2, WhenFull = QueueFullBehavior.FailFast });
        host.PauseWriter(true);
        Assert.True(host.TrySubmit([1]));
        Assert.True(host.TrySubmit([2]));
        SubmissionClaim claim = host.Claim(1);
        claim.Payload[0] = 3;
        Assert.False(claim.TrySubmit());
        host.PauseWriter(false);
        Assert.True(SpinWait.SpinUntil(() => host.QueueLength == 0, TimeSpan.FromSeconds(10)));
        Assert.True(claim.TrySubmit());
        Assert.Equal(3, host.Flush());
        Assert.Equal([1, 2, 3], ReadAll(dir.Path).Select(e => (int)e.Payload[0]));
    }

    [Fact]
    public void Steady_batches_and_claims_allocate_nothing_on_the_producer()
    {
        using var dir = new TempDirectory();
        using var host = WalRecorderHost.Start(dir.Path, new WalRecorderHostOptions { Recorder = Small with { SegmentSize = 64L << 20 } });
        var batch = new long[32];
        void Submissions(int rounds)
        {
            for (int i = 0; i < rounds; i++)
            {
                host.TrySubmitBatch<long>(batch);
                host.SubmitBatch<long>(batch, 0, SubmitWait.Appended);
                SubmissionClaim claim = host.Claim(16);
                claim.Payload.Clear();
                claim.Submit(SubmitWait.Appended);
            }
        }

        Submissions(2000); // warm-up: pooled envelopes, compiled code
        long allocated = AllocationCounter.Least(() => Submissions(5000));

        // As for single submissions: a pooled envelope's first blocking wait creates its event's lock
        // (24 bytes) once; a per-submission allocation would show as at least 15,000 x 24 bytes.
        Assert.True(allocated <= 1024, $"{allocated} bytes allocated over 15,000 submissions");
    }

    private static List<(long Id, int Type, long Timestamp, byte[] Payload)> ReadAll(string directory)
    {
        var events = new List<(long, int, long, byte[])>();
        foreach ((long _, string path) in WalDirectory.List(directory).Segments)
        {
            using SegmentReader reader = SegmentReader.Open(path);
            while (reader.TryReadNext(out WalEvent e))
            {
                events.Add((e.EventId, e.Type, e.TimestampUnixNs, e.Payload.ToArray()));
            }
        }

        return events;
    }
}
