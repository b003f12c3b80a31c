using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Recording;
using FlashWal.Recovery;
using FlashWal.Tests.Reliability;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Durability;

/// <summary>
/// Issue 14, defects 4, 7 and 10: what a power cut can leave after the durable point is a torn end,
/// the same in the verifier, recovery, the tailer and the recorder's open, and no power cut needs a
/// repair; a failure at or before the durable point stays damage (FORMAT.md §9.1).
/// </summary>
public class TornEndTests
{
    private static readonly WalRecorderOptions Small = new() { SegmentSize = 64 * 1024, BlockSize = 4096 };

    [Fact]
    public void A_block_header_over_a_data_page_that_never_reached_the_disk_after_the_durable_point_is_a_torn_end_everywhere()
    {
        using var dir = new TempDirectory();
        CrashedLog log = CrashedLog.Lay(dir.Path, durable: 110);
        (long start, long end, _, _) = log.Blocks[^1];
        CrashedLog.Zero(log.Open, start + 64, end); // its header was on the page msync wrote; its data was not

        VerificationReport report = SegmentVerifier.VerifyDirectory(dir.Path);
        Assert.True(report.IsIntact, string.Join('\n', report.Findings));
        Finding torn = Assert.Single(report.Findings, f => f.Severity == FindingSeverity.TornTail);
        Assert.Equal((log.Open, start), (torn.File, torn.Offset));
        Assert.StartsWith("torn tail (not provably damage)", torn.Message, StringComparison.Ordinal);
        Assert.Contains("after event 110", torn.Message, StringComparison.Ordinal);
        Assert.Contains("events 111..120", torn.Message, StringComparison.Ordinal);
        Assert.Contains("BlockChecksumMismatch", torn.Message, StringComparison.Ordinal);
        Assert.Equal(110, report.LastEventId);

        AssertStrictEndsTorn(dir.Path, 110);
        AssertTailerEndsAt(dir.Path, 110);
        AssertContinues(dir.Path, next: 121, kept: 110); // no repair, and 111..120 are never handed out again
    }

    [Fact]
    public void The_same_bytes_before_the_durable_point_are_damage_and_the_open_refuses()
    {
        using var dir = new TempDirectory();
        CrashedLog log = CrashedLog.Lay(dir.Path, durable: 120);
        (long start, long end, _, _) = log.Blocks[^1];
        CrashedLog.Zero(log.Open, start + 64, end);

        VerificationReport report = SegmentVerifier.VerifyDirectory(dir.Path);
        Assert.False(report.IsIntact);
        Assert.Contains(report.Findings, f => f is { Severity: FindingSeverity.Damage, Code: FindingCode.BlockChecksumMismatch, BlockIndex: 2 } && f.File == log.Open && f.Offset >= start);
        Assert.DoesNotContain(report.Findings, f => f.Message.StartsWith("torn tail (not provably damage)", StringComparison.Ordinal));
        Assert.Throws<WalCorruptionException>(() => WalRecorder.Open(dir.Path, Small).Dispose());
    }

    [Theory]
    [InlineData(120, true)]
    [InlineData(110, false)]
    public void One_flipped_bit_in_the_last_sealed_block_header_is_damage_within_the_durable_point_and_a_reported_torn_end_beyond_it(long durable, bool damage)
    {
        using var dir = new TempDirectory();
        CrashedLog log = CrashedLog.Lay(dir.Path, durable);
        CrashedLog.Flip(log.Open, log.Blocks[^1].Start + 20, bit: 3); // its first id: the magic survives, the header CRC fails

        VerificationReport report = SegmentVerifier.VerifyDirectory(dir.Path);
        Assert.Equal(!damage, report.IsIntact);
        if (damage)
        {
            Assert.Contains(report.Findings, f => f is { Severity: FindingSeverity.Damage, Code: FindingCode.BlockHeaderCorrupt });
            return;
        }

        // Never a bare "intact": the torn end says what it cost.
        Assert.True(report.HasTornTail);
        Finding torn = Assert.Single(report.Findings, f => f.Severity == FindingSeverity.TornTail);
        Assert.StartsWith("torn tail (not provably damage)", torn.Message, StringComparison.Ordinal);
        Assert.Contains("events 111..120", torn.Message, StringComparison.Ordinal);
        Assert.Contains("BlockHeaderCorrupt", torn.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_hole_before_a_later_block_after_the_durable_point_ends_the_log_and_the_later_ids_are_not_reused()
    {
        using var dir = new TempDirectory();
        CrashedLog log = CrashedLog.Lay(dir.Path, durable: 100);
        (long start, long end, _, _) = log.Blocks[1];
        CrashedLog.Zero(log.Open, start, end); // block 101..110 never reached the disk; 111..120 did (writeback)

        VerificationReport report = SegmentVerifier.VerifyDirectory(dir.Path);
        Assert.True(report.IsIntact, string.Join('\n', report.Findings));
        Finding torn = Assert.Single(report.Findings, f => f.Severity == FindingSeverity.TornTail);
        Assert.Contains("BlocksLost", torn.Message, StringComparison.Ordinal);
        Assert.Contains("events 101..120", torn.Message, StringComparison.Ordinal);

        // Salvage reads nothing beyond the torn end either: those blocks are not part of the log.
        using (var salvage = WalRecovery.Open(dir.Path, new RecoveryOptions { Mode = RecoveryMode.Salvage }))
        {
            var ids = new List<long>();
            Assert.True(salvage.ResumeFrom(1));
            Recovery.WalRecoveryTests.Drain(salvage, ids);
            Assert.Equal(Enumerable.Range(1, 100).Select(i => (long)i), ids);
            Assert.Empty(salvage.Report.Gaps);
            Assert.Equal(LogEnd.TornTail, salvage.Report.Tail);
        }

        AssertStrictEndsTorn(dir.Path, 100);
        AssertContinues(dir.Path, next: 121, kept: 100);
        Assert.True(new FileInfo(log.Open).Length > 0); // the bytes after the torn end stay in the file
    }

    [Fact]
    public void A_newer_segment_written_after_an_older_ones_hole_lies_beyond_the_end_and_is_abandoned_not_deleted()
    {
        using var dir = new TempDirectory();
        CrashedLog log = CrashedLog.Lay(dir.Path, durable: 110);
        (long start, long end, _, _) = log.Blocks[^1];
        CrashedLog.Zero(log.Open, start, end); // 111..120 never reached the disk ...
        string newer = Wal.SegmentPath(dir.Path, CrashedLog.Closed + 1);
        Wal.Write(dir.Path, CrashedLog.Closed + 1, log.Log, log.ChainAfter, 121, 10, Wal.Small, sealEvery: 10).Abandon(); // ... but 121..130 did
        CrashedLog.Zero(newer, 0, 4096); // and that segment's header page did not either

        VerificationReport report = SegmentVerifier.VerifyDirectory(dir.Path);
        Assert.True(report.IsIntact, string.Join('\n', report.Findings));
        Assert.Contains(report.Findings, f => f.File == newer && f.Severity == FindingSeverity.Info && f.Message.StartsWith("written after the log's torn end", StringComparison.Ordinal));
        Assert.Contains(report.Findings, f => f.Severity == FindingSeverity.TornTail && f.Message.Contains("events 111..130", StringComparison.Ordinal));
        AssertStrictEndsTorn(dir.Path, 110);

        AssertContinues(dir.Path, next: 131, kept: 110);
        SegmentScan abandoned = SegmentScanner.ScanFile(newer);
        Assert.Equal(SegmentState.Closed, abandoned.State);
        Assert.True(abandoned.Summary!.Value.IsRecoveredClose);
        Assert.Equal(0, abandoned.Summary.Value.BlockCount);
        Assert.False(abandoned.IsFence); // ids jumping across it were never durable: no FencedLoss
    }

    [Fact]
    public void Trailing_prepared_segments_whose_first_page_never_reached_the_disk_are_judged_alike_by_verify_and_recover_and_removed_by_the_open()
    {
        using var dir = new TempDirectory();
        CrashedLog log = CrashedLog.Lay(dir.Path, durable: 120);
        for (int i = 1; i <= 3; i++)
        {
            SegmentWriter.Create(dir.Path, CrashedLog.Closed + i, log.Log, Wal.Small).Abandon(); // prepared ahead
        }

        CrashedLog.Zero(Wal.SegmentPath(dir.Path, CrashedLog.Closed + 2), 0, 4096); // its creation never reached the disk

        VerificationReport report = SegmentVerifier.VerifyDirectory(dir.Path);
        Assert.True(report.IsIntact, string.Join('\n', report.Findings));
        using (var strict = WalRecovery.Open(dir.Path))
        {
            var ids = new List<long>();
            Assert.Null(FuzzRun.ReplayStrict(strict, ids));
            Assert.True(strict.Report.IsComplete, string.Join('\n', strict.Report.Damage));
            Assert.Empty(strict.Report.Gaps);
            Assert.Equal(120, ids.Count);
        }

        AssertContinues(dir.Path, next: 121, kept: 120);
        Assert.False(File.Exists(Wal.SegmentPath(dir.Path, CrashedLog.Closed + 2)));
    }

    [Fact]
    public void A_missing_first_segment_is_a_loss_unless_the_checkpoint_says_retention_deleted_it()
    {
        using var dir = new TempDirectory();
        CrashedLog.Lay(dir.Path, durable: 120);
        File.Delete(Wal.SegmentPath(dir.Path, 0));

        VerificationReport report = SegmentVerifier.VerifyDirectory(dir.Path);
        Finding missing = Assert.Single(report.Findings, f => f.Severity >= FindingSeverity.Damage);
        Assert.Equal(FindingCode.SegmentMissing, missing.Code);
        Assert.Contains("at the head of the log", missing.Message, StringComparison.Ordinal);
        using (var strict = WalRecovery.Open(dir.Path))
        {
            var ids = new List<long>();
            WalCorruptionException? stop = FuzzRun.ReplayStrict(strict, ids);
            Assert.NotNull(stop);
            Assert.Equal(FindingCode.SegmentMissing, stop.Finding.Code);
            Assert.Empty(ids);
        }

        // The same directory, with a checkpoint that says retention kept nothing below segment 1.
        MetaCheckpoint meta = MetaCheckpoint.Load(dir.Path, out _)!.Value;
        (meta with { FirstSegmentIndex = 1 }).Save(dir.Path);
        Assert.DoesNotContain(SegmentVerifier.VerifyDirectory(dir.Path).Findings, f => f.Severity >= FindingSeverity.Damage);
    }

    private static void AssertStrictEndsTorn(string directory, long last)
    {
        using var strict = WalRecovery.Open(directory);
        var ids = new List<long>();
        Assert.Null(FuzzRun.ReplayStrict(strict, ids));
        Assert.Equal(Enumerable.Range(1, (int)last).Select(i => (long)i), ids);
        Assert.True(strict.Report.IsComplete, string.Join('\n', strict.Report.Damage));
        Assert.Equal(LogEnd.TornTail, strict.Report.Tail);
        Assert.StartsWith("torn tail (not provably damage)", strict.Report.TailFinding!.Message, StringComparison.Ordinal);
    }

    private static void AssertTailerEndsAt(string directory, long last)
    {
        using var tailer = FlashWal.Reading.WalTailer.Open(directory, 1);
        long count = 0;
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (tailer.ReadNext(out FlashWal.Reading.WalEvent e, cancel.Token))
        {
            Assert.Equal(++count, e.EventId);
        }

        Assert.Equal(last, count);
        Assert.Equal(FlashWal.Reading.TailerState.WriterGone, tailer.State);
    }

    /// <summary>The open continues the log without a repair at <paramref name="next"/>; afterwards the log verifies and replays as the first <paramref name="kept"/> events and the new ones.</summary>
    private static void AssertContinues(string directory, long next, long kept)
    {
        using (WalRecorder recorder = WalRecorder.Open(directory, Small))
        {
            Assert.Equal(next - 1, recorder.LastEventId);
            Assert.Equal(kept, recorder.DurableEventId);
            for (int i = 0; i < 5; i++)
            {
                Assert.Equal(next + i, recorder.Append(Wal.Payload(next + i, 20)));
            }
        }

        VerificationReport after = SegmentVerifier.VerifyDirectory(directory);
        Assert.True(after.IsIntact, string.Join('\n', after.Findings));
        Assert.False(after.HasTornTail, string.Join('\n', after.Findings));
        using var strict = WalRecovery.Open(directory);
        var ids = new List<long>();
        Assert.Null(FuzzRun.ReplayStrict(strict, ids));
        Assert.Equal(Enumerable.Range(1, (int)kept).Select(i => (long)i).Concat(Enumerable.Range((int)next, 5).Select(i => (long)i)), ids);
    }
}
