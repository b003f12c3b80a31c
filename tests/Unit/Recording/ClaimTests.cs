using FlashWal.Inspection;
using FlashWal.Recording;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Recording;

/// <summary><see cref="WalRecorder.Claim"/> and <see cref="WalRecorder.Publish"/>: the payload written in place, the same log as an append.</summary>
public sealed class ClaimTests
{
    [Fact]
    public void Claimed_payloads_written_in_place_read_back_across_blocks_and_segments()
    {
        using var dir = new TempDirectory();
        using (var recorder = WalRecorder.Open(dir.Path, new WalRecorderOptions { SegmentSize = 64 * 1024, BlockSize = 4096 }))
        {
            for (long i = 1; i <= 3_000; i++)
            {
                int length = Wal.PayloadLength(i);
                Span<byte> payload = recorder.Claim(length, out long id, type: 3);
                Assert.Equal(i, id);
                Wal.Payload(i, length).CopyTo(payload);
                Assert.Equal(i, recorder.Publish());
            }

            Assert.True(recorder.ActiveSegmentIndex >= 5, "the claims should span segments");
            Assert.Equal(3_000, recorder.Commit());
        }

        Assert.Equal(Enumerable.Range(1, 3_000).Select(i => (long)i), WalRecorderTests.ReadLog(dir.Path));
        VerificationReport report = SegmentVerifier.Verify(dir.Path);
        Assert.True(report.IsIntact, string.Join('\n', report.Findings));
    }

    [Fact]
    public void A_cancelled_claim_appends_nothing_and_its_id_goes_to_the_next_event()
    {
        using var dir = new TempDirectory();
        using (var recorder = WalRecorder.Open(dir.Path))
        {
            recorder.Claim(10, out long cancelled).Fill(0xEE);
            recorder.CancelClaim();
            Assert.Equal(0, recorder.LastEventId);
            Assert.Equal(cancelled, recorder.Append(Wal.Payload(1, Wal.PayloadLength(1))));
            recorder.Claim(5, out _); // never published: the close gives it up
        }

        Assert.Equal([1L], WalRecorderTests.ReadLog(dir.Path));
    }

    [Fact]
    public void A_claim_cancelled_in_a_block_of_its_own_leaves_no_empty_block_behind()
    {
        // The claim opens a block (here the first of the segment, then one after a commit sealed the
        // block before): once cancelled, sealing that block would write a header with no record, which
        // every reader rejects as damage. Found by the mixed batch test, 2026-12-05.
        using var dir = new TempDirectory();
        using (var recorder = WalRecorder.Open(dir.Path, new WalRecorderOptions { BlockSize = 4096 }))
        {
            recorder.Claim(10, out _).Fill(0xEE);
            recorder.CancelClaim();
            Assert.Equal(0, recorder.Commit());
            Assert.Equal(1, recorder.Append(Wal.Payload(1, Wal.PayloadLength(1))));
            Assert.Equal(1, recorder.Commit());
            recorder.Claim(10, out _).Fill(0xEE);
            recorder.CancelClaim();
            Assert.Equal(1, recorder.Commit());
            Assert.Equal(2, recorder.Append(Wal.Payload(2, Wal.PayloadLength(2))));
            recorder.Claim(10, out _).Fill(0xEE);
            recorder.CancelClaim(); // in a block with a record: that block is sealed as it is
            Assert.Equal(2, recorder.Commit());
            recorder.Claim(10, out _); // open at the close, in a block of its own
        }

        VerificationReport report = SegmentVerifier.Verify(dir.Path);
        Assert.True(report.IsIntact, string.Join('\n', report.Findings));
        Assert.Equal([1L, 2L], WalRecorderTests.ReadLog(dir.Path));
    }

    [Fact]
    public void While_a_claim_is_open_appends_claims_and_commits_are_refused()
    {
        using var dir = new TempDirectory();
        using var recorder = WalRecorder.Open(dir.Path);
        recorder.Claim(8, out _);
        Assert.Contains("publish or cancel", Assert.Throws<InvalidOperationException>(() => recorder.Append([1])).Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => recorder.Claim(8, out _));
        Assert.Throws<InvalidOperationException>(() => recorder.Commit());
        Assert.Equal(1, recorder.Publish());
        Assert.Throws<InvalidOperationException>(() => recorder.Publish()); // none open now
        Assert.Equal(1, recorder.Commit());
    }

    [Fact]
    public void Claim_and_publish_allocate_nothing()
    {
        using var dir = new TempDirectory();
        using var recorder = WalRecorder.Open(dir.Path);
        Claimed(recorder, 100); // compiles them
        Assert.Equal(0, AllocationCounter.Least(() => Claimed(recorder, 100_000)));
        Assert.Equal(100 + (AllocationCounter.Windows * 100_000), recorder.Commit());
    }

    private static void Claimed(WalRecorder recorder, int count)
    {
        for (int i = 0; i < count; i++)
        {
            Span<byte> payload = recorder.Claim(64, out long id);
            BitConverter.TryWriteBytes(payload, id);
            recorder.Publish();
        }
    }
}
