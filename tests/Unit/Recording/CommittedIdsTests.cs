using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Recording;
using FlashWal.Recovery;
using FlashWal.Tests.Recovery;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Recording;

/// <summary>
/// Events committed but not yet flushed when the machine stopped are lost by design (the durability
/// policy's promise covers durable events only), but readers may have seen them: their ids must not
/// be handed out again to different events.
/// </summary>
public class CommittedIdsTests
{
    private static readonly WalRecorderOptions Small = new() { SegmentSize = 64 * 1024, BlockSize = 4096, Durability = DurabilityPolicy.None, UsePreparer = false };

    /// <summary>
    /// The segments end at 100; the checkpoint says 120 were committed and 100 durable (a power loss
    /// with the Interval policy). The recorder used to continue at 101, handing out ids that a
    /// tailer may already have delivered with other payloads.
    /// </summary>
    [Fact]
    public void A_recorder_continues_after_every_id_the_checkpoint_says_was_committed_and_says_why()
    {
        using var dir = new TempDirectory();
        LogId log = Wal.WriteLog(dir.Path, 2, 50, Wal.Small);
        long dataEnd = SegmentScanner.ScanFile(Wal.SegmentPath(dir.Path, 1)).ValidEnd;
        new MetaCheckpoint(log, 1, dataEnd, CommittedEventId: 120, DurableEventId: 100, 1_700_000_000_000_000_000).Save(dir.Path);
        string meta = Path.Combine(dir.Path, MetaCheckpoint.FileName);

        // Every reader says so before a recorder runs, as information: nothing promised was lost.
        VerificationReport before = SegmentVerifier.Verify(dir.Path);
        Assert.True(before.IsIntact, string.Join('\n', before.Findings));
        Finding lost = Assert.Single(before.Findings);
        Assert.Equal((FindingCode.NonDurableEventsLost, FindingSeverity.Info, meta), (lost.Code, lost.Severity, lost.File));
        Assert.Contains("events 101..120 were committed but not yet flushed", lost.Message, StringComparison.Ordinal);

        using (WalRecorder recorder = WalRecorder.Open(dir.Path, Small))
        {
            Assert.Contains(recorder.OpenFindings, f => f.Code == FindingCode.NonDurableEventsLost);
            Assert.Equal(120, recorder.LastEventId);
            Assert.Equal((100L, 100L), (recorder.CommittedEventId, recorder.DurableEventId)); // what the segments hold
            Assert.Equal(121, recorder.Append(Wal.Payload(121, Wal.PayloadLength(121))));
            Assert.Equal(122, recorder.Append(Wal.Payload(122, Wal.PayloadLength(122))));
        }

        // The ids jump over the lost ones with the chain intact: information, and no id twice.
        VerificationReport after = SegmentVerifier.Verify(dir.Path);
        Assert.True(after.IsIntact, string.Join('\n', after.Findings));
        Assert.Contains(after.Findings, f => f.Code == FindingCode.EventIdJump && f.Expected == "101" && f.Found == "121");
        using var recovery = WalRecovery.Open(dir.Path, new RecoveryOptions { Mode = RecoveryMode.Strict });
        Assert.Equal([.. Enumerable.Range(1, 100).Select(i => (long)i), 121, 122], WalRecoveryTests.Replay(recovery, 1));
        Assert.True(recovery.Report.IsComplete);
    }

    [Fact]
    public void A_recorder_that_appends_nothing_keeps_the_knowledge_for_the_next_one()
    {
        using var dir = new TempDirectory();
        LogId log = Wal.WriteLog(dir.Path, 1, 50, Wal.Small);
        long dataEnd = SegmentScanner.ScanFile(Wal.SegmentPath(dir.Path, 0)).ValidEnd;
        new MetaCheckpoint(log, 0, dataEnd, CommittedEventId: 60, DurableEventId: 50, 1_700_000_000_000_000_000).Save(dir.Path);

        WalRecorder.Open(dir.Path, Small).Dispose();
        MetaCheckpoint written = MetaCheckpoint.Load(dir.Path, out _)!.Value;
        Assert.Equal((60L, 50L), (written.CommittedEventId, written.DurableEventId)); // durable never claims what the segments do not hold
        Assert.True(SegmentVerifier.Verify(dir.Path).IsIntact);

        using WalRecorder again = WalRecorder.Open(dir.Path, Small);
        Assert.Equal(61, again.Append(Wal.Payload(61, Wal.PayloadLength(61))));
    }
}
