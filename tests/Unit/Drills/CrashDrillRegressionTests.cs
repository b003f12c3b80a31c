using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Recording;
using FlashWal.Recovery;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Drills;

/// <summary>Defects the crash drill found, each reproduced without a child process.</summary>
[Trait("Category", "CrashDrill")]
public sealed class CrashDrillRegressionTests
{
    /// <summary>
    /// Drill seed 20261121, kill 69: a recorder killed right after a rotation, with the first block of
    /// the new segment written but not yet sealed, left a newest segment with a torn tail and no
    /// sealed block. The next recorder's open continued after it and left it torn and unclosed, so the
    /// verifier then reported damage ("unsealed bytes end a segment that later segments follow").
    /// </summary>
    [Fact]
    public void A_newest_segment_torn_before_its_first_seal_is_not_left_behind_the_continued_log()
    {
        using var dir = new TempDirectory();
        LogId log = LogId.NewId();
        uint chain;
        using (SegmentWriter first = Wal.Write(dir.Path, 0, log, SegmentFormat.GenesisChainSeed(log), 1, 40, Wal.Small, sealEvery: 10))
        {
            first.Close();
            chain = first.ChainValue;
        }

        SegmentWriter torn = Wal.Write(dir.Path, 1, log, chain, 41, 5, Wal.Small, sealEvery: 0); // never sealed
        torn.AbandonMidWrite(); // the bytes stay as a killed process leaves them
        VerificationReport crashed = SegmentVerifier.VerifyDirectory(dir.Path);
        Assert.True(crashed.IsIntact, string.Join("\n", crashed.Findings));
        Assert.True(crashed.HasTornTail, string.Join("\n", crashed.Findings));

        var options = new WalRecorderOptions { SegmentSize = Wal.Small.SegmentSize, BlockSize = Wal.Small.BlockSize };
        using (WalRecorder recorder = WalRecorder.Open(dir.Path, options))
        {
            Assert.Equal(40, recorder.LastEventId);
            Assert.Contains(recorder.OpenFindings, f => f.Code == FindingCode.TornTail);
            for (long id = 41; id <= 60; id++)
            {
                Assert.Equal(id, recorder.Append(Wal.Payload(id, 64), 1));
            }

            recorder.Commit();
        }

        VerificationReport after = SegmentVerifier.VerifyDirectory(dir.Path);
        Assert.True(after.IsIntact, string.Join("\n", after.Findings));
        Assert.False(after.HasTornTail, string.Join("\n", after.Findings));
        using var recovery = WalRecovery.Open(dir.Path);
        long expected = 1;
        RecoveryReport report = recovery.Run(1, e =>
        {
            Assert.Equal(expected, e.EventId);
            expected++;
        });
        Assert.True(report.IsComplete, $"{report.Outcome} {report.Failure}");
        Assert.Equal(60, report.LastEventId);
    }
}
