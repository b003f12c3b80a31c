using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Reading;
using FlashWal.Recording;
using FlashWal.Recovery;
using FlashWal.Tests.Recording;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Recovery;

/// <summary>
/// Six closed segments of 100 events (ids 1..600), ten blocks of ten events each: segment s holds
/// ids 100s+1..100s+100, and block b of it ids 100s+10b+1..100s+10b+10.
/// </summary>
public class WalRecoveryTests
{
    private static readonly RecoveryOptions Strict = new() { Mode = RecoveryMode.Strict };
    private static readonly RecoveryOptions Salvage = new() { Mode = RecoveryMode.Salvage };

    internal static TempDirectory SixSegments()
    {
        var dir = new TempDirectory();
        Wal.WriteLog(dir.Path, segments: 6, perSegment: 100, Wal.Small, sealEvery: 10);
        return dir;
    }

    /// <summary>Replays and copies out every id; the payload of each is checked against its id.</summary>
    internal static List<long> Replay(WalRecovery recovery, long from)
    {
        var ids = new List<long>();
        if (!recovery.ResumeFrom(from))
        {
            return ids;
        }

        while (recovery.TryReadNext(out WalEvent e))
        {
            Assert.Equal(Wal.Payload(e.EventId, Wal.PayloadLength(e.EventId)), e.Payload.ToArray());
            ids.Add(e.EventId);
        }

        return ids;
    }

    internal static List<long> Range(long first, long last) => [.. Enumerable.Range((int)first, (int)(last - first + 1)).Select(i => (long)i)];

    [Theory]
    [InlineData(1, 1)]      // the first id
    [InlineData(0, 1)]      // below the first id: from the start
    [InlineData(600, 600)]  // the last id
    [InlineData(11, 11)]    // a block boundary
    [InlineData(101, 101)]  // a segment boundary
    [InlineData(100, 100)]  // the last event of a segment
    [InlineData(357, 357)]  // inside a block
    public void Resumes_exactly_at_the_requested_id(long from, long first)
    {
        using TempDirectory dir = SixSegments();
        foreach (bool preload in new[] { true, false })
        {
            using var recovery = WalRecovery.Open(dir.Path, new RecoveryOptions { UsePreloader = preload });
            Assert.Equal(Range(first, 600), Replay(recovery, from));
            RecoveryReport report = recovery.Report;
            Assert.Equal(RecoveryOutcome.Complete, report.Outcome);
            Assert.True(report.IsComplete);
            Assert.Equal((first, 600L, 601 - first), (report.FirstEventId, report.LastEventId, report.EventsReplayed));
            Assert.Equal(6 - (int)((first - 1) / 100), report.SegmentsOpened);
            Assert.Equal(LogEnd.Closed, report.Tail);
            Assert.Null(report.StartNote);
            Assert.Empty(report.Gaps);
            Assert.Equal(report.SegmentsOpened, report.SegmentOpen.Count);
            Assert.Equal(report.SegmentsOpened - 1, report.SegmentSwitch.Count);
            Assert.Equal(preload, report.Preloaded);
        }
    }

    [Fact]
    public void Beyond_the_last_id_there_is_nothing_to_replay_at_once()
    {
        using TempDirectory dir = SixSegments();
        using var recovery = WalRecovery.Open(dir.Path);
        Assert.False(recovery.ResumeFrom(601));
        Assert.False(recovery.TryReadNext(out _));
        RecoveryReport report = recovery.Report;
        Assert.Equal(RecoveryOutcome.NothingToReplay, report.Outcome);
        Assert.Equal("the log ends at event 600: nothing from 601 on", report.StartNote);
        Assert.Equal(0, report.EventsReplayed);
        Assert.True(report.Elapsed < TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void An_id_the_writer_skipped_starts_at_the_next_and_says_so()
    {
        using var dir = new TempDirectory();
        LogId log = LogId.NewId();
        using (SegmentWriter writer = Wal.Write(dir.Path, 0, log, SegmentFormat.GenesisChainSeed(log), 1000, 50, Wal.Small, sealEvery: 10))
        {
            writer.Close();
        }

        using var recovery = WalRecovery.Open(dir.Path);
        Assert.Equal(Range(1000, 1049), Replay(recovery, 5));
        Assert.Equal("event 5 precedes the log's first event; the replay starts at 1000", recovery.Report.StartNote);
        Assert.True(recovery.Report.IsComplete);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void The_report_times_every_open_and_says_how_much_of_it_the_replay_thread_felt(bool preload)
    {
        using TempDirectory dir = SixSegments();
        using var recovery = WalRecovery.Open(dir.Path, new RecoveryOptions { UsePreloader = preload });
        Assert.Equal(Range(1, 600), Replay(recovery, 1));
        RecoveryReport report = recovery.Report;
        Assert.Equal(preload, report.Preloaded);
        Assert.Equal(6, report.SegmentOpen.Count);
        Assert.Equal(6, report.SegmentClose.Count);
        if (preload)
        {
            Assert.Equal(6, report.ReplayWait.Count);
            Assert.Equal(report.ReplayWait.Mean / report.SegmentOpen.Mean, report.OpenTimeFelt);
        }
        else
        {
            Assert.Null(report.OpenTimeFelt); // every open was on the replay thread: nothing to compare
        }
    }

    [Fact]
    public void A_replay_can_stop_midway_and_start_again_and_releases_every_file()
    {
        using TempDirectory dir = SixSegments();
        using (var recovery = WalRecovery.Open(dir.Path))
        {
            Assert.True(recovery.ResumeFrom(1));
            for (int i = 0; i < 250; i++)
            {
                Assert.True(recovery.TryReadNext(out _));
            }

            Assert.Equal(Range(300, 600), Replay(recovery, 300)); // a second replay with the same recovery
            Assert.Equal(RecoveryOutcome.Complete, recovery.Report.Outcome);
            Assert.True(recovery.ResumeFrom(42));
            Assert.True(recovery.TryReadNext(out WalEvent e));
            Assert.Equal(42, e.EventId);
        }

        Assert.Equal(0, SegmentPreparerTests.Mappings(dir.Path));
        Assert.Equal(0, SegmentPreparerTests.OpenHandles(dir.Path));
    }

    [Fact]
    public void A_corrupted_middle_segment_stops_strict_there_and_salvage_reports_exactly_the_lost_block()
    {
        using TempDirectory dir = SixSegments();
        (string segment, long block3) = Wal.DamageBlock(dir.Path, 2, 3); // ids 231..240

        using (var strict = WalRecovery.Open(dir.Path, Strict))
        {
            var ids = new List<long>();
            Assert.True(strict.ResumeFrom(1));
            var error = Assert.Throws<WalCorruptionException>(() =>
            {
                while (strict.TryReadNext(out WalEvent e))
                {
                    ids.Add(e.EventId);
                }
            });
            Assert.Equal(Range(1, 230), ids);
            Assert.Equal(segment, error.Finding.File);
            Assert.Equal(FindingCode.BlockChecksumMismatch, error.Finding.Code);
            Assert.Equal(3, error.Finding.BlockIndex);
            Assert.Equal(block3 + SegmentFormat.BlockHeaderSize, error.Finding.Offset);
            Assert.Equal("WalDataCorrupt", error.ErrorId);
            RecoveryReport report = strict.Report;
            Assert.Equal(RecoveryOutcome.StoppedAtDamage, report.Outcome);
            Assert.Equal(error.Finding, report.Failure);
            Assert.False(report.IsComplete);
            Assert.Equal(230, report.LastEventId);
        }

        using var salvage = WalRecovery.Open(dir.Path, Salvage);
        Assert.Equal([.. Range(1, 230), .. Range(241, 600)], Replay(salvage, 1));
        RecoveryReport salvaged = salvage.Report;
        Assert.Equal(RecoveryOutcome.Complete, salvaged.Outcome);
        LostRange gap = Assert.Single(salvaged.Gaps);
        Assert.Equal((231L, (long?)240L), (gap.FirstEventId, gap.LastEventId));
        Assert.Equal(segment, gap.Cause.File);
        Assert.Equal([segment], salvaged.DamagedSegments);
        Assert.False(salvaged.IsComplete);

        // Resuming inside the lost block reports the part of the gap at and after the start.
        Assert.Equal(Range(241, 600), Replay(salvage, 235));
        Assert.Equal((235L, (long?)240L), (salvage.Report.Gaps.Single().FirstEventId, salvage.Report.Gaps.Single().LastEventId));
    }

    /// <summary>
    /// Issue 14 item 9: a damaged block in the last segment, which the recorder closed: salvage
    /// reported the tail as open, although the segment's summary is valid. It replays every block that
    /// verifies up to the summary's last id, reports only the damaged block's ids as lost (the
    /// checkpoint's durable id, 600, is inside the segment, not missing), and says the tail is closed.
    /// </summary>
    [Theory]
    [InlineData(4)] // ids 541..550; the blocks after it verify
    [InlineData(9)] // ids 591..600, the last block: the summary bounds the loss
    public void A_damaged_block_in_the_closed_last_segment_leaves_the_tail_closed(int block)
    {
        using TempDirectory dir = SixSegments();
        Wal.Checkpoint(dir.Path); // durable up to 600
        (string segment, _) = Wal.DamageBlock(dir.Path, 5, block);
        long lostFrom = 501 + (10 * block);
        long lostTo = lostFrom + 9;

        using (var strict = WalRecovery.Open(dir.Path, Strict))
        {
            var ids = new List<long>();
            Assert.True(strict.ResumeFrom(1));
            var error = Assert.Throws<WalCorruptionException>(() => Drain(strict, ids));
            Assert.Equal(Range(1, lostFrom - 1), ids);
            Assert.Equal((FindingCode.BlockChecksumMismatch, segment), (error.Finding.Code, error.Finding.File));
            Assert.Equal(LogEnd.Closed, strict.Report.Tail);
        }

        using var salvage = WalRecovery.Open(dir.Path, Salvage);
        Assert.Empty(salvage.Catalog.Findings);
        Assert.Equal([.. Range(1, lostFrom - 1), .. Range(lostTo + 1, 600)], Replay(salvage, 1));
        RecoveryReport report = salvage.Report;
        Assert.Equal((RecoveryOutcome.Complete, LogEnd.Closed), (report.Outcome, report.Tail));
        LostRange gap = Assert.Single(report.Gaps);
        Assert.Equal((lostFrom, (long?)lostTo, FindingCode.BlockChecksumMismatch), (gap.FirstEventId, gap.LastEventId, gap.Cause.Code));
        Assert.Equal(FindingCode.BlockChecksumMismatch, Assert.Single(report.Damage).Code);
    }

    [Fact]
    public void A_missing_middle_segment_is_a_gap()
    {
        using TempDirectory dir = SixSegments();
        File.Delete(Wal.SegmentPath(dir.Path, 2));

        using (var strict = WalRecovery.Open(dir.Path, Strict))
        {
            var ids = new List<long>();
            strict.ResumeFrom(1);
            var error = Assert.Throws<WalCorruptionException>(() => Drain(strict, ids));
            Assert.Equal(Range(1, 200), ids);
            Assert.Equal(FindingCode.SegmentMissing, error.Finding.Code);
            Assert.Equal(Wal.SegmentPath(dir.Path, 2), error.Finding.File);
        }

        using var salvage = WalRecovery.Open(dir.Path, Salvage);
        Assert.Equal([.. Range(1, 200), .. Range(301, 600)], Replay(salvage, 1));
        LostRange gap = Assert.Single(salvage.Report.Gaps);
        Assert.Equal((201L, (long?)300L, FindingCode.SegmentMissing), (gap.FirstEventId, gap.LastEventId, gap.Cause.Code));

        // An id inside the gap: strict refuses to pretend, salvage starts after it and reports it.
        Assert.Equal(Range(301, 600), Replay(salvage, 250));
        Assert.Equal((250L, (long?)300L), (salvage.Report.Gaps.Single().FirstEventId, salvage.Report.Gaps.Single().LastEventId));
        using var strictInGap = WalRecovery.Open(dir.Path, Strict);
        strictInGap.ResumeFrom(250);
        Assert.Equal(FindingCode.SegmentMissing, Assert.Throws<WalCorruptionException>(() => Drain(strictInGap, [])).Finding.Code);
    }

    [Fact]
    public void Two_swapped_segments_are_damage_and_replayed_ids_never_go_back()
    {
        using TempDirectory dir = SixSegments();
        string two = Wal.SegmentPath(dir.Path, 2);
        string three = Wal.SegmentPath(dir.Path, 3);
        File.Move(two, two + ".x");
        File.Move(three, two);
        File.Move(two + ".x", three);

        using (var strict = WalRecovery.Open(dir.Path, Strict))
        {
            var ids = new List<long>();
            strict.ResumeFrom(1);
            var error = Assert.Throws<WalCorruptionException>(() => Drain(strict, ids));
            Assert.Equal(Range(1, 200), ids);
            Assert.Equal(three, error.Finding.File); // the file holding segment 2, met first
            Assert.Equal(FindingCode.SegmentNameMismatch, error.Finding.Code);
        }

        // Salvage replays the files in the order their headers state, and names both.
        using var salvage = WalRecovery.Open(dir.Path, Salvage);
        Assert.Equal(Range(1, 600), Replay(salvage, 1));
        Assert.Empty(salvage.Report.Gaps);
        Assert.All(salvage.Report.Damage, f => Assert.Equal(FindingCode.SegmentNameMismatch, f.Code));
        Assert.Equal(new[] { two, three }.Order(), salvage.Report.DamagedSegments.Order());
    }

    [Fact]
    public void A_segment_from_another_log_is_named_and_loses_nothing_of_this_one()
    {
        using TempDirectory dir = SixSegments();
        string foreign = CopyForeignSegment(dir.Path, 6);

        using (var strict = WalRecovery.Open(dir.Path, Strict))
        {
            var ids = new List<long>();
            strict.ResumeFrom(1);
            var error = Assert.Throws<WalCorruptionException>(() => Drain(strict, ids));
            Assert.Equal(Range(1, 600), ids);
            Assert.Equal((FindingCode.ForeignSegment, foreign), (error.Finding.Code, error.Finding.File));
        }

        using var salvage = WalRecovery.Open(dir.Path, Salvage);
        Assert.Equal(Range(1, 600), Replay(salvage, 1));
        Assert.Empty(salvage.Report.Gaps);
        Assert.Equal([foreign], salvage.Report.DamagedSegments);
        Assert.Contains(salvage.Catalog.Findings, f => f.Code == FindingCode.ForeignSegment && f.File == foreign);
    }

    [Fact]
    public void Compressed_segments_mixed_with_plain_ones_replay_the_same()
    {
        using TempDirectory dir = SixSegments();
        CompressedSegment.Compress(Wal.SegmentPath(dir.Path, 0));
        CompressedSegment.Compress(Wal.SegmentPath(dir.Path, 3));
        using var recovery = WalRecovery.Open(dir.Path, Strict);
        Assert.False(recovery.Catalog.HasDamage, string.Join('\n', recovery.Catalog.Findings));
        Assert.Equal(Range(1, 600), Replay(recovery, 1));
        Assert.Equal(Range(250, 600), Replay(recovery, 250));
        Assert.True(recovery.Report.IsComplete);
    }

    [Fact]
    public void One_segment_file_replays_on_its_own_with_the_directory_rules()
    {
        using TempDirectory dir = SixSegments();
        string segment = Wal.SegmentPath(dir.Path, 2); // ids 201..300
        using (var recovery = WalRecovery.OpenSegment(segment, Strict))
        {
            Assert.Equal(dir.Path, recovery.Catalog.Directory);
            Assert.Equal(Range(201, 300), Replay(recovery, 1));
            Assert.Equal("event 1 precedes the log's first event; the replay starts at 201", recovery.Report.StartNote);
            Assert.Equal(Range(257, 300), Replay(recovery, 257)); // a seek inside the file
            Assert.True(recovery.Report.IsComplete);
            Assert.Empty(Replay(recovery, 301));
            Assert.Equal("the log ends at event 300: nothing from 301 on", recovery.Report.StartNote);
        }

        string packed = CompressedSegment.Compress(Wal.SegmentPath(dir.Path, 4));
        using (var compressed = WalRecovery.OpenSegment(packed, Strict))
        {
            Assert.Equal(Range(450, 500), Replay(compressed, 450));
            Assert.True(compressed.Report.IsComplete);
        }

        long block3 = Wal.DamageBlock(dir.Path, 2, 3).BlockOffset; // ids 231..240
        using (var strict = WalRecovery.OpenSegment(segment, Strict))
        {
            var ids = new List<long>();
            strict.ResumeFrom(1);
            var error = Assert.Throws<WalCorruptionException>(() => Drain(strict, ids));
            Assert.Equal(Range(201, 230), ids);
            Assert.Equal((segment, FindingCode.BlockChecksumMismatch, 3L), (error.Finding.File, error.Finding.Code, error.Finding.BlockIndex));
        }

        using var salvage = WalRecovery.OpenSegment(segment, Salvage);
        Assert.Equal([.. Range(201, 230), .. Range(241, 300)], Replay(salvage, 1));
        LostRange gap = Assert.Single(salvage.Report.Gaps);
        Assert.Equal((231L, (long?)240L, segment), (gap.FirstEventId, gap.LastEventId, gap.Cause.File));
    }

    [Fact]
    public void A_file_that_is_no_segment_is_refused_and_a_damaged_header_is_damage()
    {
        using TempDirectory dir = SixSegments();
        File.WriteAllText(dir.File("notes.txt"), "not a segment");
        Assert.Throws<WalFormatException>(() => WalRecovery.OpenSegment(dir.File("notes.txt")));
        File.WriteAllBytes(dir.File("empty.wal"), []);
        Assert.Throws<WalFormatException>(() => WalRecovery.OpenSegment(dir.File("empty.wal")));
        Assert.Throws<WalPathNotFoundException>(() => WalRecovery.OpenSegment(dir.File("missing.wal")));
        Assert.Throws<WalNotAFileException>(() => WalRecovery.OpenSegment(dir.Path));

        string segment = Wal.SegmentPath(dir.Path, 1);
        FlipByte(segment, 40); // inside the header
        using var strict = WalRecovery.OpenSegment(segment, Strict);
        strict.ResumeFrom(1);
        var error = Assert.Throws<WalCorruptionException>(() => Drain(strict, []));
        Assert.Equal((segment, FindingCode.HeaderChecksumMismatch), (error.Finding.File, error.Finding.Code));
    }

    [Fact]
    public void A_killed_recorder_leaves_a_torn_tail_that_both_modes_replay_up_to_the_last_commit()
    {
        using var dir = new TempDirectory();
        var options = new WalRecorderOptions { SegmentSize = 64 * 1024, BlockSize = 4096, Durability = DurabilityPolicy.None };
        WalRecorder recorder = WalRecorder.Open(dir.Path, options);
        for (int i = 0; i < 1500; i++)
        {
            recorder.Append(Wal.Payload(i + 1, Wal.PayloadLength(i + 1)));
        }

        recorder.Commit();
        long committed = recorder.CommittedEventId;
        for (int i = 0; i < 5; i++)
        {
            recorder.Append(Wal.Payload(committed + i + 1, Wal.PayloadLength(committed + i + 1))); // never committed
        }

        recorder.AbandonMidWrite();

        foreach (RecoveryOptions options2 in new[] { Strict, Salvage })
        {
            using var recovery = WalRecovery.Open(dir.Path, options2);
            Assert.Equal(Range(1, committed), Replay(recovery, 1));
            RecoveryReport report = recovery.Report;
            Assert.Equal(LogEnd.TornTail, report.Tail);
            Assert.Equal(FindingCode.TornTail, report.TailFinding!.Code);
            Assert.True(report.IsComplete, string.Join('\n', report.Damage));
        }
    }

    [Fact]
    public void Recovery_while_the_recorder_writes_sees_committed_events_only()
    {
        using var dir = new TempDirectory();
        using WalRecorder recorder = WalRecorder.Open(dir.Path, new WalRecorderOptions { SegmentSize = 64 * 1024, BlockSize = 4096 });
        for (int i = 1; i <= 2000; i++)
        {
            recorder.Append(Wal.Payload(i, Wal.PayloadLength(i)));
            if (i % 300 == 0)
            {
                recorder.Commit();
            }
        }

        Assert.Equal(2000, recorder.Commit());
        for (int i = 2001; i <= 2003; i++)
        {
            recorder.Append(Wal.Payload(i, Wal.PayloadLength(i))); // in the open block: not committed
        }

        using var recovery = WalRecovery.Open(dir.Path, Strict);
        Assert.Equal(Range(1, 2000), Replay(recovery, 1));
        Assert.Equal(LogEnd.Open, recovery.Report.Tail); // the open block is in the writer's staging ring, not in the file

        Assert.True(recovery.Report.IsComplete);
    }

    [Fact]
    public void Replaying_an_event_allocates_nothing()
    {
        using var dir = new TempDirectory();
        LogId log = LogId.NewId();
        using (SegmentWriter writer = Wal.Write(dir.Path, 0, log, SegmentFormat.GenesisChainSeed(log), 1, 5000, new SegmentOptions { SegmentSize = 4 << 20, BlockSize = 65536 }, sealEvery: 100))
        {
            writer.Close();
        }

        using var recovery = WalRecovery.Open(dir.Path);
        Assert.True(recovery.ResumeFrom(1));
        Assert.True(recovery.TryReadNext(out _)); // enters the segment
        long sum = 0;
        long allocated = AllocationCounter.Least(() =>
        {
            for (int i = 0; i < 1666; i++)
            {
                Assert.True(recovery.TryReadNext(out WalEvent e));
                sum += e.Payload.Length;
            }
        });

        Assert.Equal(0, allocated);
        Assert.True(sum > 0);
    }

    /// <summary>Copies segment <paramref name="index"/> of another log into <paramref name="directory"/>; returns its path there.</summary>
    internal static string CopyForeignSegment(string directory, long index)
    {
        using var other = new TempDirectory();
        Wal.WriteLog(other.Path, segments: (int)index + 1, perSegment: 10, Wal.Small);
        string foreign = Wal.SegmentPath(directory, index);
        File.Copy(Wal.SegmentPath(other.Path, index), foreign);
        return foreign;
    }

    internal static void Drain(WalRecovery recovery, List<long> ids)
    {
        while (recovery.TryReadNext(out WalEvent e))
        {
            ids.Add(e.EventId);
        }
    }

    internal static void FlipByte(string path, long offset)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        file.Position = offset;
        int b = file.ReadByte();
        file.Position = offset;
        file.WriteByte((byte)(b ^ 0x5A));
    }
}
