using System.Security.Cryptography;
using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Reading;
using FlashWal.Recording;
using FlashWal.Recovery;
using FlashWal.Tests.Support;
using static FlashWal.Tests.Recovery.WalRecoveryTests;

namespace FlashWal.Tests.Recovery;

/// <summary>
/// Repairs of the six-segment log of <see cref="WalRecoveryTests"/> (ids 1..600, segment s holding
/// 100s+1..100s+100 in ten blocks of ten) and of logs a killed recorder left.
/// </summary>
public class WalRepairTests
{
    private static readonly RecoveryOptions Strict = new() { Mode = RecoveryMode.Strict };
    private static readonly RecoveryOptions Salvage = new() { Mode = RecoveryMode.Salvage };
    private static readonly WalRecorderOptions Small = new() { SegmentSize = 64 * 1024, BlockSize = 4096, Durability = DurabilityPolicy.None };

    /// <summary>Every file under the directory, sub-folders included, by relative path, with a hash of its bytes.</summary>
    internal static SortedDictionary<string, string> Snapshot(string directory) =>
        new(Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .ToDictionary(p => Path.GetRelativePath(directory, p), p => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(p)))), StringComparer.Ordinal);

    /// <summary>
    /// <paramref name="closedSegments"/> closed segments of 100 events, then one a killed writer left with
    /// 30 events: the first 20 sealed, the last 10 an unsealed, torn tail.
    /// </summary>
    internal static LogId WriteTornLog(string directory, int closedSegments)
    {
        LogId log = Wal.WriteLog(directory, closedSegments, perSegment: 100, Wal.Small);
        uint chain = SegmentScanner.ScanFile(Wal.SegmentPath(directory, closedSegments - 1)).FinalChain!.Value;
        Wal.Write(directory, closedSegments, log, chain, 100L * closedSegments + 1, 30, Wal.Small, sealEvery: 20).AbandonMidWrite();
        return log;
    }

    /// <summary>A plan, checked to change no byte of the directory (a dry run).</summary>
    private static RepairPlan DryRun(string directory)
    {
        var before = Snapshot(directory);
        RepairPlan plan = WalRepair.Plan(directory);
        Assert.Equal(before, Snapshot(directory));
        return plan;
    }

    /// <summary>Opens a recorder, checks where it continues, appends <paramref name="count"/> events and closes it; the segments that existed are not changed.</summary>
    private static void Continue(string directory, long expectedNext, int count = 10)
    {
        var segments = Snapshot(directory).Where(f => f.Key.EndsWith(".wal", StringComparison.Ordinal)).ToList();
        using (WalRecorder recorder = WalRecorder.Open(directory, Small))
        {
            Assert.DoesNotContain(recorder.OpenFindings, f => f.Severity >= FindingSeverity.TornTail && f.Code != FindingCode.CheckpointMissing);
            Assert.Equal(expectedNext - 1, recorder.LastEventId);
            for (long id = expectedNext; id < expectedNext + count; id++)
            {
                Assert.Equal(id, recorder.Append(Wal.Payload(id, Wal.PayloadLength(id))));
            }
        }

        var now = Snapshot(directory);
        Assert.All(segments, s => Assert.Equal(s.Value, now[s.Key])); // a repaired log needs nothing of the recorder's open
    }

    private static List<long> SalvageIds(string directory, out RecoveryReport report)
    {
        using var recovery = WalRecovery.Open(directory, Salvage);
        List<long> ids = Replay(recovery, 1);
        report = recovery.Report;
        return ids;
    }

    private static void AssertNothingLeft(string directory)
    {
        RepairPlan again = DryRun(directory);
        Assert.Empty(again.Actions);
        Assert.Empty(again.Blockers);
    }

    private static long BlockOffset(string segment, int block)
    {
        using SegmentReader reader = SegmentReader.Open(segment);
        return reader.Scan.BlockOffsets[block];
    }

    [Fact]
    public void An_intact_log_plans_nothing_and_says_so()
    {
        using TempDirectory dir = SixSegments();
        RepairPlan plan = DryRun(dir.Path);
        Assert.True(plan.IsEmpty);
        Assert.False(plan.HasDamage);
        Assert.Empty(plan.Losses);
        Assert.Equal(601, plan.NextEventId);
        Assert.Equal("nothing to repair: the log is intact", plan.Summary);

        RepairReport report = plan.Apply(_ => throw new InvalidOperationException("no action to ask about"));
        Assert.Empty(report.Results);
        Assert.Null(report.QuarantineFolder);
        Assert.True(report.After.IsIntact);
        Assert.Equal(601, report.NextEventId);
        Continue(dir.Path, 601);
    }

    [Fact]
    public void A_killed_recorders_torn_tail_is_cut_after_its_last_sealed_block_as_the_recorder_would_and_nothing_committed_is_lost()
    {
        using var dir = new TempDirectory();
        WalRecorder recorder = WalRecorder.Open(dir.Path, Small);
        for (long id = 1; id <= 1500; id++)
        {
            recorder.Append(Wal.Payload(id, Wal.PayloadLength(id)));
        }

        long committed = recorder.Commit();
        for (long id = committed + 1; id <= committed + 5; id++)
        {
            recorder.Append(Wal.Payload(id, Wal.PayloadLength(id))); // never committed
        }

        long active = recorder.ActiveSegmentIndex;
        LogId log = recorder.LogId;
        recorder.AbandonMidWrite();
        SegmentWriter.Create(dir.Path, active + 1, log, Small.Segments).Abandon(); // prepared ahead, never used
        File.WriteAllBytes(Wal.SegmentPath(dir.Path, active + 2), new byte[8192]); // a creation a power loss cut short

        RepairPlan plan = DryRun(dir.Path);
        Assert.Equal(
            [(RepairActionKind.RemovePreparedSegment, active + 2), (RepairActionKind.RemovePreparedSegment, active + 1), (RepairActionKind.CutTornTail, active)],
            plan.Actions.Where(a => a.Kind != RepairActionKind.CloseSegment).Select(a => (a.Kind, SegmentIndex(a.Target))));
        Assert.All(plan.Actions, a => Assert.False(a.LosesEvents));
        Assert.All(plan.Actions.Where(a => a.Kind == RepairActionKind.CloseSegment), a => Assert.True(SegmentIndex(a.Target) < active)); // rotated, never closed
        RepairAction cut = plan.Actions.Single(a => a.Kind == RepairActionKind.CutTornTail);
        Assert.Equal(FindingCode.TornTail, cut.Reason.Code);
        Assert.Contains("RecoveredClose", cut.Description, StringComparison.Ordinal);
        Assert.Equal(committed + 1, plan.NextEventId);
        Assert.Empty(plan.Losses);

        RepairReport report = plan.Apply();
        Assert.True(report.IsComplete);
        Assert.True(report.After.IsIntact, string.Join('\n', report.After.Findings));
        Assert.False(report.After.HasTornTail);
        Assert.True(report.IsClean);
        Assert.Equal($"REPAIRED: {report.Results.Count} of {report.Results.Count} action(s) applied; the log verifies intact", report.Verdict);
        Assert.Empty(report.Losses);
        Assert.Equal(committed + 1, report.NextEventId);
        Assert.True(SegmentFile.ReadSummary(Wal.SegmentPath(dir.Path, active)) is { IsRecoveredClose: true } summary && summary.LastEventId == committed);
        Assert.False(File.Exists(Wal.SegmentPath(dir.Path, active + 1)));
        AssertNothingLeft(dir.Path);

        Continue(dir.Path, committed + 1);
        using var strict = WalRecovery.Open(dir.Path, Strict);
        Assert.Equal(Range(1, committed + 10), Replay(strict, 1));
    }

    [Fact]
    public void A_damaged_middle_segment_stays_in_place_so_salvage_still_reads_its_other_blocks_and_the_loss_is_reported()
    {
        using TempDirectory dir = SixSegments();
        string segment = Wal.SegmentPath(dir.Path, 2);
        FlipByte(segment, BlockOffset(segment, 3) + SegmentFormat.BlockHeaderSize + 30); // ids 231..240

        RepairPlan plan = DryRun(dir.Path);
        Assert.Empty(plan.Actions);
        Assert.True(plan.HasDamage);
        LostRange lost = Assert.Single(plan.Losses);
        Assert.Equal((231L, (long?)240L, segment), (lost.FirstEventId, lost.LastEventId, lost.Cause.File));
        Assert.Equal([segment], plan.KeptDamagedSegments);
        Assert.StartsWith("nothing repair can do: a recorder can continue; the log has lost 10 event(s) in 1 range(s)", plan.Summary, StringComparison.Ordinal);

        RepairReport report = plan.Apply();
        Assert.Empty(report.Results);
        Assert.False(report.IsClean); // events lost: flashwal repair exits 1
        Assert.StartsWith("nothing to repair; EVENTS LOST: 10 event(s) in 1 range(s) cannot be brought back", report.Verdict, StringComparison.Ordinal);
        Assert.StartsWith("DAMAGED: 1 damage finding(s); 6 segment(s), ", report.After.Verdict, StringComparison.Ordinal);
        Assert.Equal(601, report.NextEventId);
        Assert.Equal((231L, (long?)240L), (report.Losses.Single().FirstEventId, report.Losses.Single().LastEventId));
        Continue(dir.Path, 601);
        Assert.Equal([.. Range(1, 230), .. Range(241, 610)], SalvageIds(dir.Path, out _));
        AssertNothingLeft(dir.Path);
    }

    [Fact]
    public void A_missing_middle_segment_has_nothing_to_move_and_the_plan_reports_the_gap()
    {
        using TempDirectory dir = SixSegments();
        File.Delete(Wal.SegmentPath(dir.Path, 2));

        RepairPlan plan = DryRun(dir.Path);
        Assert.Empty(plan.Actions);
        LostRange gap = Assert.Single(plan.Losses);
        Assert.Equal((201L, (long?)300L, FindingCode.SegmentMissing), (gap.FirstEventId, gap.LastEventId, gap.Cause.Code));
        Assert.Contains("100 event(s)", plan.Summary, StringComparison.Ordinal);

        RepairReport report = plan.Apply();
        Assert.Empty(report.Results);
        Assert.True(report.LostEvents);
        Assert.Contains(report.After.Findings, f => f.Code == FindingCode.SegmentMissing);
        Continue(dir.Path, 601);
        AssertNothingLeft(dir.Path);
    }

    [Fact]
    public void A_segment_of_another_log_is_quarantined_with_a_readme_and_nothing_of_this_log_is_lost()
    {
        using TempDirectory dir = SixSegments();
        string foreign = CopyForeignSegment(dir.Path, 6);
        string bytes = Snapshot(dir.Path)[Path.GetFileName(foreign)];

        RepairPlan plan = DryRun(dir.Path);
        RepairAction move = Assert.Single(plan.Actions);
        Assert.Equal((RepairActionKind.QuarantineSegment, foreign, FindingCode.ForeignSegment), (move.Kind, move.Target, move.Reason.Code));
        Assert.Null(move.Lost);
        Assert.Contains("none of this log's events", move.Description, StringComparison.Ordinal);

        RepairReport report = plan.Apply();
        RepairResult result = Assert.Single(report.Results);
        Assert.Equal(RepairOutcome.Applied, result.Outcome);
        Assert.NotNull(report.QuarantineFolder);
        Assert.Equal(Path.Combine(dir.Path, WalRepair.QuarantineFolderName), Path.GetDirectoryName(report.QuarantineFolder));
        string moved = Path.Combine(report.QuarantineFolder!, Path.GetFileName(foreign));
        Assert.Equal("moved to " + moved, result.Detail);
        Assert.False(File.Exists(foreign));
        Assert.Equal(bytes, Snapshot(report.QuarantineFolder!)[Path.GetFileName(foreign)]); // moved, not changed
        string readme = File.ReadAllText(Path.Combine(report.QuarantineFolder!, "README.txt"));
        Assert.Contains("from:   " + foreign, readme, StringComparison.Ordinal);
        Assert.Contains("ForeignSegment", readme, StringComparison.Ordinal);

        // The quarantine folder is not part of the log: nothing reports it, and nothing is lost.
        Assert.True(report.After.IsIntact, string.Join('\n', report.After.Findings));
        Assert.DoesNotContain(report.After.Findings, f => f.Code == FindingCode.UnknownFile);
        Assert.Empty(report.Losses);
        Assert.Empty(report.Damage);
        AssertNothingLeft(dir.Path);
        Continue(dir.Path, 601);
        Assert.Equal(Range(1, 610), SalvageIds(dir.Path, out RecoveryReport salvage));
        Assert.True(salvage.IsComplete);
    }

    [Fact]
    public void A_middle_segment_whose_header_is_unreadable_is_quarantined_and_recovery_still_reports_its_gap()
    {
        using TempDirectory dir = SixSegments();
        string segment = Wal.SegmentPath(dir.Path, 2);
        FlipByte(segment, SegmentHeader.OffLogId + 3);

        RepairPlan plan = DryRun(dir.Path);
        RepairAction move = Assert.Single(plan.Actions);
        Assert.Equal((RepairActionKind.QuarantineSegment, segment, FindingCode.HeaderChecksumMismatch), (move.Kind, move.Target, move.Reason.Code));
        Assert.Equal((201L, (long?)300L), (move.Lost!.FirstEventId, move.Lost.LastEventId));
        Assert.Contains("events 201..300 (100), which it can have held, are lost (quarantined, not deleted)", move.Description, StringComparison.Ordinal);

        RepairReport report = plan.Apply();
        Assert.True(report.IsComplete);
        Assert.True(File.Exists(Path.Combine(report.QuarantineFolder!, Path.GetFileName(segment))));
        Assert.Equal(
            [(FindingCode.SegmentMissing, segment), (FindingCode.ChainBrokenAcrossSegments, Wal.SegmentPath(dir.Path, 3))],
            report.After.Findings.Where(f => f.Severity >= FindingSeverity.Damage).Select(f => (f.Code, f.File)));
        AssertNothingLeft(dir.Path);
        Continue(dir.Path, 601);

        // Strict recovery does not replay across the quarantined segment; salvage reports its ids as lost.
        using (var strict = WalRecovery.Open(dir.Path, Strict))
        {
            var ids = new List<long>();
            strict.ResumeFrom(1);
            Assert.Equal(FindingCode.SegmentMissing, Assert.Throws<WalCorruptionException>(() => Drain(strict, ids)).Finding.Code);
            Assert.Equal(Range(1, 200), ids);
        }

        Assert.Equal([.. Range(1, 200), .. Range(301, 610)], SalvageIds(dir.Path, out RecoveryReport salvage));
        LostRange gap = Assert.Single(salvage.Gaps);
        Assert.Equal((201L, (long?)300L, FindingCode.SegmentMissing), (gap.FirstEventId, gap.LastEventId, gap.Cause.Code));
    }

    /// <summary>
    /// Defect found by the repair fuzzing (seed 424242 case 323): an unreadable first segment was
    /// quarantined like a middle one, but it left no missing index behind, so its loss then looked like
    /// retention's deletions: verification and salvage no longer reported any damage or gap.
    /// </summary>
    [Fact]
    public void An_unreadable_first_segment_stays_in_place_so_its_loss_stays_reported()
    {
        using TempDirectory dir = SixSegments();
        string segment = Wal.SegmentPath(dir.Path, 0);
        FlipByte(segment, SegmentHeader.OffLogId + 3);

        RepairPlan plan = DryRun(dir.Path);
        Assert.DoesNotContain(plan.Actions, a => a.Target == segment);
        Assert.Equal((1L, (long?)100L), (plan.Losses.Single().FirstEventId, plan.Losses.Single().LastEventId));
        Assert.True(plan.Apply().IsComplete);
        Assert.True(File.Exists(segment));
        Continue(dir.Path, 601);

        Assert.Contains(SegmentVerifier.Verify(dir.Path).Findings, f => f.Severity >= FindingSeverity.Damage && f.File == segment);
        Assert.Equal(Range(101, 610), SalvageIds(dir.Path, out RecoveryReport salvage));
        LostRange gap = Assert.Single(salvage.Gaps);
        Assert.Equal((1L, (long?)100L, segment), (gap.FirstEventId, gap.LastEventId, gap.Cause.File));
    }

    [Fact]
    public void A_damaged_last_segment_is_fenced_so_a_recorder_continues_after_it_and_the_damage_stays_reported()
    {
        using TempDirectory dir = SixSegments();
        string segment = Wal.SegmentPath(dir.Path, 5);
        FlipByte(segment, BlockOffset(segment, 3) + SegmentFormat.BlockHeaderSize + 30); // ids 531..540
        Assert.Throws<WalCorruptionException>(() => WalRecorder.Open(dir.Path, Small).Dispose());

        RepairPlan plan = DryRun(dir.Path);
        RepairAction fence = Assert.Single(plan.Actions);
        Assert.Equal((RepairActionKind.FenceDamagedTail, Wal.SegmentPath(dir.Path, 6), segment), (fence.Kind, fence.Target, fence.Reason.File));
        Assert.Null(fence.Lost); // its summary and the blocks after the damage show it ended at 600
        Assert.Equal(601, plan.NextEventId);
        Assert.Equal((531L, (long?)540L), (plan.Losses.Single().FirstEventId, plan.Losses.Single().LastEventId));
        Assert.Equal([segment], plan.KeptDamagedSegments);

        RepairReport report = plan.Apply();
        Assert.True(report.IsComplete);
        Assert.Null(report.RecorderRefusal);
        Assert.Equal(601, report.NextEventId);
        Assert.True(SegmentFile.ReadSummary(fence.Target) is { RecordCount: 0, BlockCount: 0 });
        Assert.All(report.After.Findings.Where(f => f.Severity >= FindingSeverity.Damage), f => Assert.Equal(segment, f.File));
        AssertNothingLeft(dir.Path);

        Continue(dir.Path, 601);
        Assert.Equal([.. Range(1, 530), .. Range(541, 610)], SalvageIds(dir.Path, out RecoveryReport salvage));
        Assert.Equal((531L, (long?)540L), (salvage.Gaps.Single().FirstEventId, salvage.Gaps.Single().LastEventId));
        Assert.All(SegmentVerifier.Verify(dir.Path).Findings.Where(f => f.Severity >= FindingSeverity.Damage), f => Assert.Equal(segment, f.File));
        using var strict = WalRecovery.Open(dir.Path, Strict);
        strict.ResumeFrom(1);
        Assert.Equal(segment, Assert.Throws<WalCorruptionException>(() => Drain(strict, [])).Finding.File);
    }

    [Fact]
    public void A_fence_after_a_damaged_open_segment_continues_above_the_checkpoints_committed_id_so_no_id_is_used_twice()
    {
        using var dir = new TempDirectory();
        LogId log = Wal.WriteLog(dir.Path, segments: 5, perSegment: 100, Wal.Small);
        uint chain = SegmentScanner.ScanFile(Wal.SegmentPath(dir.Path, 4)).FinalChain!.Value;
        Wal.Write(dir.Path, 5, log, chain, 501, 100, Wal.Small, sealEvery: 10).AbandonMidWrite(); // a killed recorder's last segment
        string segment = Wal.SegmentPath(dir.Path, 5);
        FlipByte(segment, BlockOffset(segment, 9) + SegmentFormat.BlockHeaderSize + 30); // ids 591..600: the last block
        new MetaCheckpoint(log, 5, 0, CommittedEventId: 600, DurableEventId: 600, 0).Save(dir.Path);

        RepairPlan plan = DryRun(dir.Path);
        RepairAction fence = Assert.Single(plan.Actions);
        Assert.Equal(RepairActionKind.FenceDamagedTail, fence.Kind);
        Assert.Equal((591L, (long?)600L), (fence.Lost!.FirstEventId, fence.Lost.LastEventId));
        Assert.Contains("events 591..600 (10), known to have been written after the last readable event 590, are lost", fence.Description, StringComparison.Ordinal);
        Assert.Equal(601, plan.NextEventId);

        RepairReport report = plan.Apply();
        Assert.Equal(601, report.NextEventId);
        Continue(dir.Path, 601);
        Assert.Equal([.. Range(1, 590), .. Range(601, 610)], SalvageIds(dir.Path, out RecoveryReport salvage));
        Assert.Equal((591L, (long?)600L), (salvage.Gaps.Single().FirstEventId, salvage.Gaps.Single().LastEventId));
        AssertNothingLeft(dir.Path);

        // The segment's own damage records the loss; the fence after a segment without a summary adds
        // no FencedLoss, whose count would start at the valid prefix only (FORMAT.md §16.2).
        Assert.All(SegmentVerifier.Verify(dir.Path).Findings.Where(f => f.Severity >= FindingSeverity.Damage), f => Assert.Equal(segment, f.File));
    }

    [Fact]
    public void A_fence_after_damage_in_the_middle_of_an_open_segment_adds_no_fenced_loss_counted_from_its_valid_prefix()
    {
        // Damage in block 3 of 10 of a killed recorder's last segment, valid blocks after it: salvage
        // loses 10 events (531..540), while a FencedLoss counted from the valid prefix (530) would have
        // said 70 (531..600). Only the damage is reported (FORMAT.md §16.2, formerly §18.7).
        using var dir = new TempDirectory();
        LogId log = Wal.WriteLog(dir.Path, segments: 5, perSegment: 100, Wal.Small);
        uint chain = SegmentScanner.ScanFile(Wal.SegmentPath(dir.Path, 4)).FinalChain!.Value;
        Wal.Write(dir.Path, 5, log, chain, 501, 100, Wal.Small, sealEvery: 10).AbandonMidWrite();
        string segment = Wal.SegmentPath(dir.Path, 5);
        FlipByte(segment, BlockOffset(segment, 3) + SegmentFormat.BlockHeaderSize + 30); // ids 531..540
        new MetaCheckpoint(log, 5, 0, CommittedEventId: 600, DurableEventId: 600, 0).Save(dir.Path); // durable: damage, not a torn end
        Assert.Equal(RepairActionKind.FenceDamagedTail, Assert.Single(DryRun(dir.Path).Actions).Kind);
        Assert.True(WalRepair.Plan(dir.Path).Apply().IsComplete);
        Continue(dir.Path, 601);

        Assert.Equal([.. Range(1, 530), .. Range(541, 610)], SalvageIds(dir.Path, out RecoveryReport salvage));
        Assert.Equal((531L, (long?)540L), (salvage.Gaps.Single().FirstEventId, salvage.Gaps.Single().LastEventId));
        VerificationReport verified = SegmentVerifier.Verify(dir.Path);
        Assert.DoesNotContain(verified.Findings, f => f.Code == FindingCode.FencedLoss);
        Assert.All(verified.Findings.Where(f => f.Severity >= FindingSeverity.Damage), f => Assert.Equal(segment, f.File));
        Assert.False(verified.IsIntact);
    }

    /// <summary>
    /// Found by the stricter fuzzers (issue 14 item 9): a killed recorder's torn last segment, and a
    /// checkpoint saying events after its last sealed block were durable. The repair fenced the log but
    /// left the segment open, so once a recorder continued after the fence the verifier reported its
    /// torn tail as damage ("only the log's last segment may end torn"). It is cut as a recorder's open
    /// would, then fenced; only the fenced loss stays reported.
    /// </summary>
    [Fact]
    public void A_torn_last_segment_is_cut_as_well_as_fenced_when_the_checkpoint_names_lost_durable_events()
    {
        using var dir = new TempDirectory();
        LogId log = WriteTornLog(dir.Path, closedSegments: 3); // 301..320 sealed, 321..330 torn
        new MetaCheckpoint(log, 3, 0, CommittedEventId: 330, DurableEventId: 330, 0).Save(dir.Path);

        RepairPlan plan = DryRun(dir.Path);
        Assert.Equal([(RepairActionKind.CutTornTail, 3L), (RepairActionKind.FenceDamagedTail, 4L)], plan.Actions.Select(a => (a.Kind, SegmentIndex(a.Target))));
        Assert.Equal(331, plan.NextEventId);
        Assert.True(plan.Apply().IsComplete);
        Assert.True(SegmentFile.ReadSummary(Wal.SegmentPath(dir.Path, 3)) is { IsRecoveredClose: true, LastEventId: 320 });
        AssertNothingLeft(dir.Path);

        Continue(dir.Path, 331);
        Finding lost = Assert.Single(SegmentVerifier.Verify(dir.Path).Findings, f => f.Severity >= FindingSeverity.Damage);
        Assert.Equal((FindingCode.FencedLoss, Wal.SegmentPath(dir.Path, 4)), (lost.Code, lost.File));
        Assert.Equal([.. Range(1, 320), .. Range(331, 340)], SalvageIds(dir.Path, out RecoveryReport salvage));
        Assert.Equal((321L, (long?)330L), (salvage.Gaps.Single().FirstEventId, salvage.Gaps.Single().LastEventId));
    }

    [Fact]
    public void An_unreadable_last_segment_is_fenced_then_quarantined_and_without_the_fence_it_is_not_moved()
    {
        using TempDirectory dir = SixSegments();
        LogId log = SegmentScanner.ScanFile(Wal.SegmentPath(dir.Path, 0)).Header!.Value.LogId;
        new MetaCheckpoint(log, 5, 0, CommittedEventId: 600, DurableEventId: 600, 0).Save(dir.Path);
        string segment = Wal.SegmentPath(dir.Path, 5);
        FlipByte(segment, SegmentHeader.OffLogId + 3);

        RepairPlan plan = DryRun(dir.Path);
        Assert.Equal([RepairActionKind.FenceDamagedTail, RepairActionKind.QuarantineSegment], plan.Actions.Select(a => a.Kind));
        (RepairAction fence, RepairAction move) = (plan.Actions[0], plan.Actions[1]);
        Assert.Equal(Wal.SegmentPath(dir.Path, 6), fence.Target);
        Assert.Equal([fence], move.Requires);
        Assert.Equal((501L, (long?)600L), (move.Lost!.FirstEventId, move.Lost.LastEventId));

        // Declining the fence leaves the segment where it is: moved alone, its index would be taken again.
        RepairReport declined = plan.Apply(a => a.Kind != RepairActionKind.FenceDamagedTail);
        Assert.Equal([RepairOutcome.Declined, RepairOutcome.NotApplied], declined.Results.Select(r => r.Outcome));
        Assert.True(File.Exists(segment));
        Assert.NotNull(declined.RecorderRefusal);
        Assert.Null(declined.NextEventId);

        RepairReport report = WalRepair.Plan(dir.Path).Apply();
        Assert.True(report.IsComplete);
        Assert.False(File.Exists(segment));
        Assert.Equal(601, report.NextEventId);
        AssertNothingLeft(dir.Path);
        Continue(dir.Path, 601);
        Assert.Equal([.. Range(1, 500), .. Range(601, 610)], SalvageIds(dir.Path, out RecoveryReport salvage));
        Assert.Equal((501L, (long?)600L, FindingCode.SegmentMissing), (salvage.Gaps.Single().FirstEventId, salvage.Gaps.Single().LastEventId, salvage.Gaps.Single().Cause.Code));
    }

    [Fact]
    public void A_declined_action_is_skipped_and_the_others_are_applied()
    {
        using var dir = new TempDirectory();
        WriteTornLog(dir.Path, closedSegments: 5); // 501..520 sealed, 521..530 torn
        string foreign = CopyForeignSegment(dir.Path, 6);

        RepairPlan plan = DryRun(dir.Path);
        Assert.Equal([RepairActionKind.CutTornTail, RepairActionKind.QuarantineSegment], plan.Actions.Select(a => a.Kind));
        var asked = new List<RepairActionKind>();
        RepairReport report = plan.Apply(a =>
        {
            asked.Add(a.Kind);
            return a.Kind != RepairActionKind.CutTornTail;
        });

        Assert.Equal([RepairActionKind.CutTornTail, RepairActionKind.QuarantineSegment], asked);
        Assert.Equal([RepairOutcome.Declined, RepairOutcome.Applied], report.Results.Select(r => r.Outcome));
        Assert.False(report.IsComplete);
        Assert.False(File.Exists(foreign));
        Assert.True(report.After.HasTornTail); // the cut was declined: the tail is as the crash left it
        Assert.Equal(521, report.NextEventId);
        Assert.Equal([RepairActionKind.CutTornTail], DryRun(dir.Path).Actions.Select(a => a.Kind));
    }

    [Fact]
    public void A_live_recorder_makes_planning_and_applying_fail_naming_its_process()
    {
        using TempDirectory dir = SixSegments();
        RepairPlan plan = WalRepair.Plan(dir.Path);
        using (WalRecorder recorder = WalRecorder.Open(dir.Path, Small))
        {
            var planning = Assert.Throws<WalDirectoryLockedException>(() => WalRepair.Plan(dir.Path));
            Assert.Equal(Environment.ProcessId, planning.OwnerProcessId);
            var applying = Assert.Throws<WalDirectoryLockedException>(() => plan.Apply());
            Assert.Equal(Environment.ProcessId, applying.OwnerProcessId);
        }

        Assert.Empty(WalRepair.Plan(dir.Path).Actions);
    }

    [Fact]
    public void A_directory_that_changed_since_the_plan_is_not_repaired_from_the_old_plan()
    {
        using var dir = new TempDirectory();
        WriteTornLog(dir.Path, closedSegments: 2);
        RepairPlan plan = WalRepair.Plan(dir.Path);
        Assert.Equal(RepairActionKind.CutTornTail, Assert.Single(plan.Actions).Kind);

        WalRecorder.Open(dir.Path, Small).Dispose(); // the recorder's own open cuts the tail meanwhile
        var before = Snapshot(dir.Path);
        var e = Assert.Throws<WalException>(() => plan.Apply());
        Assert.Contains("changed since the repair was planned", e.Message, StringComparison.Ordinal);
        Assert.Equal(before.Keys.Where(k => k != DirectoryLock.OwnerFileName), Snapshot(dir.Path).Keys.Where(k => k != DirectoryLock.OwnerFileName));
    }

    [Fact]
    public void A_file_of_a_newer_format_version_blocks_the_repair_and_is_not_touched()
    {
        using TempDirectory dir = SixSegments();
        byte[] bytes = File.ReadAllBytes(Wal.SegmentPath(dir.Path, 5));
        bytes[SegmentHeader.OffVersion] = 2;
        BitConverter.TryWriteBytes(bytes.AsSpan(124), Crc32C.Compute(bytes.AsSpan(0, 124)));
        string newer = Wal.SegmentPath(dir.Path, 6);
        File.WriteAllBytes(newer, bytes);

        RepairPlan plan = DryRun(dir.Path);
        Finding blocker = Assert.Single(plan.Blockers);
        Assert.Equal((FindingCode.UnsupportedVersion, newer), (blocker.Code, blocker.File));
        Assert.Empty(plan.Actions);
        Assert.Null(plan.NextEventId);
        Assert.StartsWith("cannot repair", plan.Summary, StringComparison.Ordinal);
        Assert.Throws<WalException>(() => plan.Apply());
        Assert.True(File.Exists(newer));
    }

    [Fact]
    public void As_many_segments_of_two_logs_without_a_checkpoint_to_tell_them_apart_block_the_repair()
    {
        using var dir = new TempDirectory();
        Wal.WriteLog(dir.Path, segments: 1, perSegment: 10, Wal.Small);
        using var other = new TempDirectory();
        Wal.WriteLog(other.Path, segments: 2, perSegment: 10, Wal.Small);
        File.Copy(Wal.SegmentPath(other.Path, 1), Wal.SegmentPath(dir.Path, 1));

        RepairPlan plan = DryRun(dir.Path);
        Finding blocker = Assert.Single(plan.Blockers);
        Assert.Equal((FindingSeverity.Error, FindingCode.ForeignSegment, dir.Path), (blocker.Severity, blocker.Code, blocker.File));
        Assert.Contains("1 each", blocker.Message, StringComparison.Ordinal);
        Assert.Empty(plan.Actions);
    }

    [Fact]
    public void A_checkpoint_naming_the_log_of_fewer_segments_blocks_the_repair_at_the_checkpoint()
    {
        // Two segments of one log, one of another, and a checkpoint naming the other: quarantining the
        // "foreign" one by the majority could move the directory's own log away.
        using var dir = new TempDirectory();
        Wal.WriteLog(dir.Path, segments: 2, perSegment: 10, Wal.Small);
        using var other = new TempDirectory();
        LogId minority = Wal.WriteLog(other.Path, segments: 3, perSegment: 10, Wal.Small);
        File.Copy(Wal.SegmentPath(other.Path, 2), Wal.SegmentPath(dir.Path, 2));
        new MetaCheckpoint(minority, 2, Wal.Small.SegmentSize, 30, 30, 1_700_000_000_000_000_000).Save(dir.Path);

        RepairPlan plan = DryRun(dir.Path);
        Finding blocker = Assert.Single(plan.Blockers);
        Assert.Equal((FindingSeverity.Error, FindingCode.ForeignSegment), (blocker.Severity, blocker.Code));
        Assert.Equal((Path.Combine(dir.Path, MetaCheckpoint.FileName), (long)MetaCheckpoint.OffLogId), (blocker.File, blocker.Offset));
        Assert.Equal(minority.ToString(), blocker.Found);
        Assert.Empty(plan.Actions);
    }

    private static long SegmentIndex(string path) =>
        SegmentFileName.TryParse(Path.GetFileName(path), out long index) ? index : throw new ArgumentException(path);
}
