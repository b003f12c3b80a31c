using System.Security.Cryptography;
using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Reading;
using FlashWal.Recording;
using FlashWal.Telemetry;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Recording;

public class WalRecorderTests
{
    private static readonly WalRecorderOptions Tiny = new() { SegmentSize = 8192, BlockSize = 4096 };

    /// <summary>Every event in the directory, in order, checked against its id-derived payload.</summary>
    internal static List<long> ReadLog(string directory)
    {
        var ids = new List<long>();
        foreach ((long _, string path) in WalDirectory.List(directory).Segments)
        {
            using SegmentReader reader = SegmentReader.Open(path);
            while (reader.TryReadNext(out WalEvent e))
            {
                Assert.Equal(Wal.Payload(e.EventId, Wal.PayloadLength(e.EventId)), e.Payload.ToArray());
                ids.Add(e.EventId);
            }
        }

        return ids;
    }

    internal static void AppendRange(WalRecorder recorder, long from, long to)
    {
        for (long id = from; id <= to; id++)
        {
            Assert.Equal(id, recorder.Append(Wal.Payload(id, Wal.PayloadLength(id)), (ushort)(id % 7)));
        }
    }

    private static void AssertIntact(string directory, long events)
    {
        VerificationReport report = SegmentVerifier.Verify(directory);
        Assert.True(report.IsIntact, string.Join('\n', report.Findings));
        Assert.DoesNotContain(report.Findings, f => f.Code is FindingCode.SegmentMissing || f.Severity == FindingSeverity.TornTail);
        Assert.DoesNotContain(report.Findings, f => f.Code == FindingCode.UnknownFile);
        Assert.Equal(events, report.Events);
    }

    [Fact]
    public void Appends_commits_and_closes_a_log_that_verifies()
    {
        using var dir = new TempDirectory();
        using (WalRecorder recorder = WalRecorder.Open(dir.Path))
        {
            Assert.Empty(recorder.OpenFindings);
            AppendRange(recorder, 1, 1000);
            Assert.Equal(1000, recorder.LastEventId);
            Assert.InRange(recorder.CommittedEventId, 0, 999); // the blocks that filled are sealed, and the flusher writes them; the open one is not
            Assert.Equal(1000, recorder.Commit());
            Assert.Equal(1000, recorder.CommittedEventId);
        }

        Assert.Equal(Enumerable.Range(1, 1000).Select(i => (long)i), ReadLog(dir.Path));
        AssertIntact(dir.Path, 1000);
        Assert.True(MetaCheckpoint.Load(dir.Path, out _) is { CommittedEventId: 1000, DurableEventId: 1000 });
    }

    [Fact]
    public void RequestCommit_seals_and_returns_at_once_and_the_flusher_commits_what_it_sealed()
    {
        using var dir = new TempDirectory();
        using WalRecorder recorder = WalRecorder.Open(dir.Path, new WalRecorderOptions { Durability = DurabilityPolicy.None });
        AppendRange(recorder, 1, 10);
        Assert.Equal(10, recorder.RequestCommit()); // returns the id it will be committed up to: the last appended

        // Nothing waits for the file on the writer's side: the flusher writes the block.
        Assert.True(SpinWait.SpinUntil(() => recorder.CommittedEventId == 10, TimeSpan.FromSeconds(10)), $"committed {recorder.CommittedEventId}, not 10");
        Assert.Equal(10, SegmentScanner.ScanFile(Wal.SegmentPath(dir.Path, 0)).LastEventId); // in the file, the recorder still open

        // The next appends open a new block, and a RequestCommit with nothing appended seals nothing.
        AppendRange(recorder, 11, 12);
        Assert.Equal(12, recorder.RequestCommit());
        Assert.Equal(12, recorder.RequestCommit());
        Assert.True(SpinWait.SpinUntil(() => recorder.CommittedEventId == 12, TimeSpan.FromSeconds(10)), $"committed {recorder.CommittedEventId}, not 12");
        Assert.Equal(3, recorder.GetTelemetry().Commits);
        Assert.Equal(Enumerable.Range(1, 12).Select(i => (long)i), ReadLog(dir.Path));
    }

    [Fact]
    public void RequestCommit_allocates_nothing_and_refuses_once_the_recorder_is_closed()
    {
        using var dir = new TempDirectory();
        var recorder = WalRecorder.Open(dir.Path, new WalRecorderOptions { Durability = DurabilityPolicy.None });
        byte[] payload = new byte[64];
        for (int i = 0; i < 3; i++)
        {
            recorder.Append(payload);
            recorder.RequestCommit(); // the first calls compile it
        }

        long allocated = AllocationCounter.Least(() =>
        {
            for (int i = 0; i < 1000; i++)
            {
                recorder.Append(payload);
                recorder.RequestCommit();
            }
        });

        Assert.Equal(0, allocated);
        recorder.Dispose();
        Assert.Throws<ObjectDisposedException>(() => recorder.RequestCommit());
    }

    [Fact]
    public void A_block_that_fills_commits_its_events_without_a_commit_call()
    {
        using var dir = new TempDirectory();
        using WalRecorder recorder = WalRecorder.Open(dir.Path, new WalRecorderOptions { BlockSize = 4096 });
        byte[] payload = new byte[100];
        for (int i = 0; i < 32; i++)
        {
            recorder.Append(payload);
        }

        // 4096-byte blocks hold 31 records of 128 bytes: the 32nd append sealed the first block, and
        // the flusher writes it into the file (which commits it) without any call of the writer.
        Assert.True(SpinWait.SpinUntil(() => recorder.CommittedEventId == 31, TimeSpan.FromSeconds(10)), "the flusher did not write the filled block");
        Assert.Equal(31, recorder.Mark.Read().EventId); // what in-process readers and the interval flush go by
        Assert.Equal(31, SegmentScanner.ScanFile(Wal.SegmentPath(dir.Path, 0)).LastEventId); // in the file
        Thread.Sleep(20);
        Assert.Equal(31, recorder.CommittedEventId); // the 32nd event's block is open: not committed
    }

    [Fact]
    public void Thousands_of_rotations_lose_nothing_and_leave_no_gap()
    {
        using var dir = new TempDirectory();
        RecorderTelemetrySnapshotless telemetry;
        using (WalRecorder recorder = WalRecorder.Open(dir.Path, Tiny))
        {
            AppendRange(recorder, 1, 80_000);
            telemetry = new(recorder.GetTelemetry().Rotations, recorder.GetTelemetry().PreparerMisses);
        }

        List<long> ids = ReadLog(dir.Path);
        Assert.Equal(80_000, ids.Count);
        Assert.Equal(Enumerable.Range(1, 80_000).Select(i => (long)i), ids);
        int segments = WalDirectory.List(dir.Path).Segments.Count;
        Assert.True(segments > 2000, $"only {segments} segments");
        Assert.Equal(segments - 1, telemetry.Rotations);
        AssertIntact(dir.Path, 80_000);
    }

    private sealed record RecorderTelemetrySnapshotless(long Rotations, long Misses);

    [Fact]
    public void A_producer_faster_than_the_preparer_counts_misses_and_loses_nothing()
    {
        using var dir = new TempDirectory();
        long misses;
        using (WalRecorder recorder = WalRecorder.Open(dir.Path, Tiny))
        {
            byte[] payload = new byte[3000]; // two events fill a segment: rotations far outpace a preparer
            for (int i = 0; i < 3000; i++)
            {
                recorder.Append(payload);
            }

            misses = recorder.GetTelemetry().PreparerMisses;
        }

        Assert.True(misses > 0, "expected the writer to outrun the preparer");
        var report = SegmentVerifier.Verify(dir.Path);
        Assert.True(report.IsIntact, string.Join('\n', report.Findings));
        Assert.Equal(3000, report.Events);
        List<long> indices = WalDirectory.List(dir.Path).Segments.Select(s => s.Index).ToList();
        Assert.Equal(Enumerable.Range(0, indices.Count).Select(i => (long)i), indices);
    }

    [Fact]
    public void Reopening_continues_the_ids_in_a_new_segment_without_touching_old_bytes()
    {
        using var dir = new TempDirectory();
        using (WalRecorder recorder = WalRecorder.Open(dir.Path, Tiny))
        {
            AppendRange(recorder, 1, 500);
        }

        var before = WalDirectory.List(dir.Path).Segments.ToDictionary(s => s.Path, s => SHA256.HashData(File.ReadAllBytes(s.Path)));
        long lastIndex = WalDirectory.List(dir.Path).Segments[^1].Index;
        using (WalRecorder recorder = WalRecorder.Open(dir.Path, Tiny))
        {
            Assert.Equal(500, recorder.LastEventId);
            Assert.Equal(lastIndex + 1, recorder.ActiveSegmentIndex);
            AppendRange(recorder, 501, 900);
        }

        foreach ((string path, byte[] hash) in before)
        {
            Assert.Equal(hash, SHA256.HashData(File.ReadAllBytes(path)));
        }

        Assert.Equal(Enumerable.Range(1, 900).Select(i => (long)i), ReadLog(dir.Path));
        AssertIntact(dir.Path, 900);
    }

    [Fact]
    public void After_an_abandoned_recorder_every_committed_event_is_kept_and_ids_continue()
    {
        using var dir = new TempDirectory();
        WalRecorder crashed = WalRecorder.Open(dir.Path, Tiny with { Durability = DurabilityPolicy.None });
        AppendRange(crashed, 1, 700);
        crashed.Commit();
        AppendRange(crashed, 701, 705); // appended, not committed: may be lost
        crashed.AbandonMidWrite();

        using (WalRecorder recorder = WalRecorder.Open(dir.Path, Tiny))
        {
            Assert.InRange(recorder.LastEventId, 700, 705);
            AppendRange(recorder, recorder.LastEventId + 1, 800);
        }

        List<long> ids = ReadLog(dir.Path);
        Assert.Equal(Enumerable.Range(1, 800).Select(i => (long)i), ids);
        AssertIntact(dir.Path, 800);
    }

    [Fact]
    public void A_torn_tail_is_reported_at_open_and_closed_as_abandoned()
    {
        using var dir = new TempDirectory();
        WalRecorder crashed = WalRecorder.Open(dir.Path);
        AppendRange(crashed, 1, 50);
        crashed.Commit();
        AppendRange(crashed, 51, 60); // in an open block when the process "dies"
        crashed.AbandonMidWrite();

        using WalRecorder recorder = WalRecorder.Open(dir.Path);
        Assert.Equal(50, recorder.LastEventId);
        Finding torn = Assert.Single(recorder.OpenFindings, f => f.Code == FindingCode.TornTail);
        Assert.Equal(Wal.SegmentPath(dir.Path, 0), torn.File);
        SegmentSummary? summary = SegmentFile.ReadSummary(Wal.SegmentPath(dir.Path, 0));
        Assert.True(summary is { IsRecoveredClose: true, LastEventId: 50 });
    }

    [Fact]
    public void Prepared_segments_left_by_a_crash_are_removed_and_numbering_has_no_gap()
    {
        using var dir = new TempDirectory();
        WalRecorder crashed = WalRecorder.Open(dir.Path, Tiny);
        AppendRange(crashed, 1, 10);
        crashed.Commit();
        SegmentPreparerTests.Eventually(() => Directory.GetFiles(dir.Path, "*.wal").Length >= 3);
        // Simulate the prepared files a killed process leaves: Abandon discards them, so create two by hand.
        crashed.AbandonMidWrite();
        SegmentWriter.Create(dir.Path, 1, crashed.LogId, Tiny.Segments).Abandon();
        SegmentWriter.Create(dir.Path, 2, crashed.LogId, Tiny.Segments).Abandon();

        using (WalRecorder recorder = WalRecorder.Open(dir.Path, Tiny))
        {
            Assert.Equal(1, recorder.ActiveSegmentIndex);
            AppendRange(recorder, 11, 20);
        }

        AssertIntact(dir.Path, 20);
    }

    [Fact]
    public void A_trailing_segment_that_never_reached_the_disk_is_harmless_and_removed()
    {
        using var dir = new TempDirectory();
        using (WalRecorder recorder = WalRecorder.Open(dir.Path, Tiny))
        {
            AppendRange(recorder, 1, 100);
        }

        long next = WalDirectory.List(dir.Path).Segments[^1].Index + 1;
        File.WriteAllBytes(Wal.SegmentPath(dir.Path, next), new byte[8192]); // what a power loss can leave of a prepared segment
        File.WriteAllBytes(Wal.SegmentPath(dir.Path, next + 1), []);
        VerificationReport report = SegmentVerifier.Verify(dir.Path);
        Assert.True(report.IsIntact, string.Join('\n', report.Findings));
        Assert.Equal(2, report.Findings.Count(f => f.Code == FindingCode.SegmentEmpty));

        using (WalRecorder recorder = WalRecorder.Open(dir.Path, Tiny))
        {
            Assert.Equal(next, recorder.ActiveSegmentIndex);
            AppendRange(recorder, 101, 150);
        }

        AssertIntact(dir.Path, 150);
    }

    [Fact]
    public void An_all_zero_segment_in_the_middle_of_a_log_is_damage()
    {
        using var dir = new TempDirectory();
        using (WalRecorder recorder = WalRecorder.Open(dir.Path, Tiny))
        {
            AppendRange(recorder, 1, 300);
        }

        File.WriteAllBytes(Wal.SegmentPath(dir.Path, 2), new byte[8192]);
        VerificationReport report = SegmentVerifier.Verify(dir.Path);
        Assert.False(report.IsIntact);
        Assert.Contains(report.Findings, f => f.Code == FindingCode.NotASegment && f.File == Wal.SegmentPath(dir.Path, 2));
    }

    [Fact]
    public void A_second_recorder_on_the_same_directory_fails_naming_the_holder()
    {
        using var dir = new TempDirectory();
        using WalRecorder first = WalRecorder.Open(dir.Path);
        var e = Assert.Throws<WalDirectoryLockedException>(() => WalRecorder.Open(dir.Path));
        Assert.Equal(Environment.ProcessId, e.OwnerProcessId);
        Assert.Contains($"process {Environment.ProcessId}", e.Message, StringComparison.Ordinal);
        Assert.Contains(dir.Path, e.Message, StringComparison.Ordinal);
        first.Append([1]);
    }

    [LinuxFact("a reader's probe is a shared flock, which only Unix takes on a read-only open")]
    public async Task A_readers_lock_probe_does_not_make_a_recorder_think_the_directory_is_taken()
    {
        using var dir = new TempDirectory();
        string lockFile = Path.Combine(dir.Path, DirectoryLock.LockFileName);
        File.WriteAllBytes(lockFile, []);

        // What LiveLog.IsWriterPresent holds for microseconds, held here until the recorder is trying.
        var probe = new FileStream(lockFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        Task<DirectoryLock> acquiring = Task.Run(() => DirectoryLock.Acquire(dir.Path, TimeSpan.FromSeconds(30)));
        await Task.Delay(20);
        Assert.False(acquiring.IsCompleted, acquiring.IsFaulted ? acquiring.Exception!.ToString() : "acquired while the probe held its lock"); // refused while the probe holds its shared lock, and trying again
        await probe.DisposeAsync();
        using DirectoryLock taken = await acquiring.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(dir.Path, taken.Directory);
    }

    [Fact]
    public void A_segment_of_another_log_at_the_end_is_not_continued_until_repair_sets_it_aside()
    {
        using var dir = new TempDirectory();
        Wal.WriteLog(dir.Path, segments: 3, perSegment: 10, Wal.Small); // ids 1..30 in segments 0..2
        string foreign = Recovery.WalRecoveryTests.CopyForeignSegment(dir.Path, 3);
        byte[] before = File.ReadAllBytes(foreign);

        // Continuing it would append this log's events to another log's chain: refused, nothing changed.
        var e = Assert.Throws<WalCorruptionException>(() => WalRecorder.Open(dir.Path));
        Assert.Equal(FindingCode.ForeignSegment, e.Finding.Code);
        Assert.Equal(foreign, e.Finding.File);
        Assert.Equal(before, File.ReadAllBytes(foreign));

        FlashWal.Recovery.WalRepair.Plan(dir.Path).Apply();
        Assert.False(File.Exists(foreign)); // quarantined by the catalog's judgement: the majority is this log
        using WalRecorder recorder = WalRecorder.Open(dir.Path);
        Assert.Equal(31, recorder.Append([1]));
    }

    [Fact]
    public void The_directory_is_free_again_after_close()
    {
        using var dir = new TempDirectory();
        WalRecorder.Open(dir.Path).Dispose();
        using WalRecorder again = WalRecorder.Open(dir.Path);
        Assert.Equal(0, again.LastEventId);
    }

    [Theory]
    [InlineData("delete")]
    [InlineData("truncate")]
    [InlineData("corrupt")]
    public void A_missing_or_damaged_checkpoint_is_reported_and_rebuilt(string damage)
    {
        using var dir = new TempDirectory();
        using (WalRecorder recorder = WalRecorder.Open(dir.Path))
        {
            AppendRange(recorder, 1, 100);
        }

        string meta = Path.Combine(dir.Path, MetaCheckpoint.FileName);
        switch (damage)
        {
            case "delete": File.Delete(meta); break;
            case "truncate": File.WriteAllBytes(meta, File.ReadAllBytes(meta)[..50]); break;
            default:
                byte[] bytes = File.ReadAllBytes(meta);
                bytes[44] ^= 0x10;
                File.WriteAllBytes(meta, bytes);
                break;
        }

        using (WalRecorder recorder = WalRecorder.Open(dir.Path))
        {
            Finding finding = Assert.Single(recorder.OpenFindings);
            Assert.Equal(damage == "delete" ? FindingCode.CheckpointMissing : FindingCode.CheckpointCorrupt, finding.Code);
            Assert.Equal(100, recorder.LastEventId);
            AppendRange(recorder, 101, 110);
        }

        Assert.True(MetaCheckpoint.Load(dir.Path, out _) is { CommittedEventId: 110, DurableEventId: 110 });
    }

    [Fact]
    public void A_checkpoint_beyond_the_log_reports_lost_durable_events()
    {
        using var dir = new TempDirectory();
        LogId log;
        using (WalRecorder recorder = WalRecorder.Open(dir.Path))
        {
            AppendRange(recorder, 1, 100);
            log = recorder.LogId;
        }

        new MetaCheckpoint(log, 0, 8192, 150, 150, 1).Save(dir.Path);

        // Continuing at 101 would hand out ids that were durable once, and the next checkpoint would
        // erase the evidence: the open refuses and changes nothing.
        Finding lost = Assert.Throws<WalCorruptionException>(() => WalRecorder.Open(dir.Path)).Finding;
        Assert.Equal(FindingCode.DurableEventsMissing, lost.Code);
        Assert.Equal(FindingSeverity.Damage, lost.Severity);
        Assert.Contains("101..150", lost.Message, StringComparison.Ordinal);
        Assert.True(MetaCheckpoint.Load(dir.Path, out _) is { DurableEventId: 150 });

        // A repair fences the end; the log then continues above every id the checkpoint named, and
        // recovery reports the lost ones.
        FlashWal.Recovery.RepairPlan plan = FlashWal.Recovery.WalRepair.Plan(dir.Path);
        Assert.Equal((101L, (long?)150L), (plan.Losses.Single().FirstEventId, plan.Losses.Single().LastEventId));
        plan.Apply();
        using (WalRecorder reopened = WalRecorder.Open(dir.Path))
        {
            Assert.Equal(151, reopened.Append([1]));
        }

        using var recovery = FlashWal.Recovery.WalRecovery.Open(dir.Path, new FlashWal.Recovery.RecoveryOptions { Mode = FlashWal.Recovery.RecoveryMode.Salvage });
        Assert.True(recovery.ResumeFrom(1));
        while (recovery.TryReadNext(out _))
        {
        }

        FlashWal.Recovery.LostRange gap = Assert.Single(recovery.Report.Gaps);
        Assert.Equal((101L, (long?)150L, FindingCode.FencedLoss), (gap.FirstEventId, gap.LastEventId, gap.Cause.Code));

        // The checkpoint now names the new end; the fence keeps the loss on record for the verifier too.
        VerificationReport verified = SegmentVerifier.Verify(dir.Path);
        Assert.False(verified.IsIntact);
        Assert.Contains(verified.Findings, f => f.Code == FindingCode.FencedLoss && f.Message.Contains("events 101..150 (50)", StringComparison.Ordinal));
    }

    [Fact]
    public void Every_commit_policy_makes_each_commit_durable_on_return()
    {
        using var dir = new TempDirectory();
        using WalRecorder recorder = WalRecorder.Open(dir.Path, Tiny with { Durability = DurabilityPolicy.EveryCommit });
        for (long id = 1; id <= 300; id++)
        {
            recorder.Append(Wal.Payload(id, Wal.PayloadLength(id)));
            if (id % 7 == 0)
            {
                Assert.Equal(id, recorder.Commit());
                Assert.Equal(id, recorder.DurableEventId);
            }
        }
    }

    [Fact]
    public void Interval_policy_makes_commits_durable_in_the_background()
    {
        using var dir = new TempDirectory();
        using WalRecorder recorder = WalRecorder.Open(dir.Path, new WalRecorderOptions { Durability = DurabilityPolicy.Interval, SyncInterval = TimeSpan.FromMilliseconds(5) });
        AppendRange(recorder, 1, 100);
        long committed = recorder.Commit();
        Assert.True(recorder.WaitForDurable(committed, TimeSpan.FromSeconds(10)));
        Assert.True(recorder.DurableEventId >= 100);
        Assert.True(recorder.GetTelemetry().Syncs > 0);
    }

    [Fact]
    public async Task None_policy_reports_durable_only_what_was_flushed()
    {
        using var dir = new TempDirectory();
        using WalRecorder recorder = WalRecorder.Open(dir.Path, new WalRecorderOptions { Durability = DurabilityPolicy.None });
        AppendRange(recorder, 1, 100);
        recorder.Commit();
        Assert.False(recorder.WaitForDurable(100, TimeSpan.FromMilliseconds(200)));
        Assert.False(await recorder.WaitForDurableAsync(100, TimeSpan.FromMilliseconds(50)));
        Assert.Equal(0, recorder.DurableEventId);
        Task<bool> waiting = recorder.WaitForDurableAsync(100, TimeSpan.FromSeconds(10));
        recorder.Flush();
        Assert.Equal(100, recorder.DurableEventId);
        Assert.True(await waiting);
    }

    [Fact]
    public void Waiting_can_be_cancelled()
    {
        using var dir = new TempDirectory();
        using WalRecorder recorder = WalRecorder.Open(dir.Path, new WalRecorderOptions { Durability = DurabilityPolicy.None });
        recorder.Append([1]);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        Assert.ThrowsAny<OperationCanceledException>(() => recorder.WaitForDurable(1, TimeSpan.FromSeconds(30), cancel.Token));
    }

    [Fact]
    public void Caller_supplied_ids_must_increase()
    {
        using var dir = new TempDirectory();
        using WalRecorder recorder = WalRecorder.Open(dir.Path);
        Assert.Equal(10, recorder.Append(10, [1]));
        Assert.Equal(11, recorder.Append([2]));
        var e = Assert.Throws<WalEventIdException>(() => recorder.Append(11, [3]));
        Assert.Equal(11, e.PreviousEventId);
        Assert.Equal(20, recorder.Append(20, [4]));
    }

    [Fact]
    public void An_event_larger_than_a_block_fails_clearly_and_loses_nothing()
    {
        using var dir = new TempDirectory();
        using (WalRecorder recorder = WalRecorder.Open(dir.Path, Tiny))
        {
            recorder.Append([1]);
            var e = Assert.Throws<WalEventTooLargeException>(() => recorder.Append(new byte[5000]));
            Assert.Equal(4008, e.MaxPayloadLength);
            recorder.Append([2]);
        }

        AssertIntact(dir.Path, 2);
    }

    [Fact]
    public void Using_a_closed_recorder_fails_and_disposing_twice_is_harmless()
    {
        using var dir = new TempDirectory();
        var recorder = WalRecorder.Open(dir.Path);
        recorder.Append([1]);
        recorder.Dispose();
        recorder.Dispose();
        Assert.Throws<ObjectDisposedException>(() => recorder.Append([2]));
        Assert.Throws<ObjectDisposedException>(() => recorder.Commit());
        AssertIntact(dir.Path, 1);
    }

    [Fact]
    public void An_empty_session_leaves_no_segment_behind()
    {
        using var dir = new TempDirectory();
        WalRecorder.Open(dir.Path).Dispose();
        Assert.Empty(WalDirectory.List(dir.Path).Segments);
    }

    [Fact]
    public void Options_out_of_range_are_named()
    {
        using var dir = new TempDirectory();
        Assert.Equal("SyncInterval", Assert.Throws<ArgumentOutOfRangeException>(() => WalRecorder.Open(dir.Path, new WalRecorderOptions { SyncInterval = TimeSpan.Zero })).ParamName);
        Assert.Equal("SegmentSize", Assert.Throws<ArgumentOutOfRangeException>(() => WalRecorder.Open(dir.Path, new WalRecorderOptions { SegmentSize = 100 })).ParamName);
        Assert.Equal("MaxSegments", Assert.Throws<ArgumentOutOfRangeException>(() => WalRecorder.Open(dir.Path, new WalRecorderOptions { Retention = new RetentionPolicy { MaxSegments = 1 } })).ParamName);
        Assert.Empty(Directory.GetFiles(dir.Path)); // nothing was created or locked
    }

    [Fact]
    public void Opening_on_a_file_or_a_damaged_log_fails_and_changes_nothing()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("file"), "x");
        var file = Assert.Throws<WalNotADirectoryException>(() => WalRecorder.Open(dir.File("file"))); // was a plain WalException (error id WalError)
        Assert.Equal("WalPathNotADirectory", file.ErrorId);
        Assert.Equal(dir.File("file"), file.Path);

        // Below a file: the file is named, not a raw "Could not find a part of the path".
        var below = Assert.Throws<WalNotADirectoryException>(() => WalRecorder.Open(Path.Combine(dir.File("file"), "a", "wal")));
        Assert.Equal($"'{dir.File("file")}' is a file; a WAL directory was expected.", below.Message);
        Assert.Equal("x", File.ReadAllText(dir.File("file")));

        using (WalRecorder recorder = WalRecorder.Open(dir.Path, Tiny))
        {
            AppendRange(recorder, 1, 100);
        }

        string last = WalDirectory.List(dir.Path).Segments[^1].Path;
        byte[] bytes = File.ReadAllBytes(last);
        bytes[SegmentFormat.DataOffset + 80] ^= 4;
        File.WriteAllBytes(last, bytes);
        int before = WalDirectory.List(dir.Path).Segments.Count;
        var e = Assert.Throws<WalCorruptionException>(() => WalRecorder.Open(dir.Path, Tiny));
        Assert.Equal(last, e.Finding.File);
        Assert.Equal(before, WalDirectory.List(dir.Path).Segments.Count);
        Assert.Equal(bytes, File.ReadAllBytes(last));
        using WalRecorder unlocked = WalRecorder.Open(dir.Sub("other")); // the failed open released nothing it should keep
    }

    /// <summary>A look at a live directory that retention may change under it: a file deleted between the listing and the look means "look again".</summary>
    private static bool WhileRetentionRuns(Func<bool> look)
    {
        try
        {
            return look();
        }
        catch (Exception e) when (e is FileNotFoundException or FlashWal.Errors.WalPathNotFoundException)
        {
            return false;
        }
    }

    [Fact]
    public void Retention_by_count_keeps_the_newest_segments()
    {
        using var dir = new TempDirectory();
        using (WalRecorder recorder = WalRecorder.Open(dir.Path, Tiny with { Retention = new RetentionPolicy { MaxSegments = 5 } }))
        {
            AppendRange(recorder, 1, 3000);
            recorder.Flush();
            SegmentPreparerTests.Eventually(() => WhileRetentionRuns(() => WalDirectory.List(dir.Path).Segments.Count(s => SegmentFile.ReadSummary(s.Path) is not null || s.Index <= recorder.ActiveSegmentIndex) <= 5 + 0));
            Assert.True(recorder.GetTelemetry().SegmentsDeleted > 0);
        }

        AssertContiguousSuffix(dir.Path, 3000);
    }

    [Fact]
    public void Retention_by_bytes_keeps_within_the_limit()
    {
        using var dir = new TempDirectory();
        using (WalRecorder recorder = WalRecorder.Open(dir.Path, Tiny with { Retention = new RetentionPolicy { MaxBytes = 10 * 8192 } }))
        {
            AppendRange(recorder, 1, 3000);
            recorder.Flush();
            long active = recorder.ActiveSegmentIndex;
            SegmentPreparerTests.Eventually(() => WhileRetentionRuns(() => WalDirectory.List(dir.Path).Segments.Where(s => s.Index <= active).Sum(s => new FileInfo(s.Path).Length) <= 10 * 8192));
        }

        AssertContiguousSuffix(dir.Path, 3000);
    }

    [Fact]
    public void Retention_by_age_deletes_old_closed_segments()
    {
        using var dir = new TempDirectory();
        using (WalRecorder recorder = WalRecorder.Open(dir.Path, Tiny))
        {
            AppendRange(recorder, 1, 500);
        }

        int before = WalDirectory.List(dir.Path).Segments.Count;
        Thread.Sleep(300);
        using (WalRecorder recorder = WalRecorder.Open(dir.Path, Tiny with { Retention = new RetentionPolicy { MaxAge = TimeSpan.FromMilliseconds(200) } }))
        {
            AppendRange(recorder, 501, 700); // rotations trigger retention
            SegmentPreparerTests.Eventually(() => WalDirectory.List(dir.Path).Segments[0].Index >= before - 1);
        }

        AssertContiguousSuffix(dir.Path, 700);
    }

    /// <summary>What retention leaves: the newest events, contiguous up to the last one, and a verifiable log.</summary>
    private static void AssertContiguousSuffix(string directory, long last)
    {
        List<long> ids = ReadLog(directory);
        Assert.NotEmpty(ids);
        Assert.Equal(last, ids[^1]);
        Assert.Equal(Enumerable.Range((int)ids[0], ids.Count).Select(i => (long)i), ids);
        Assert.True(ids[0] > 1, "retention deleted nothing");
        VerificationReport report = SegmentVerifier.Verify(directory);
        Assert.True(report.IsIntact, string.Join('\n', report.Findings));
    }

    [Fact]
    public void Telemetry_matches_what_happened()
    {
        using var dir = new TempDirectory();
        WalRecorder recorder = WalRecorder.Open(dir.Path, Tiny with { MeasureAppendLatency = true });
        AppendRange(recorder, 1, 5000);
        recorder.Commit();
        recorder.Commit();
        RecorderTelemetrySnapshot live = recorder.GetTelemetry();
        Assert.Equal(5000, live.LastEventId);
        Assert.Equal(5000, live.CommittedEventId);
        Assert.Equal(2, live.Commits);
        recorder.Dispose();
        RecorderTelemetrySnapshot telemetry = recorder.GetTelemetry();
        int segments = WalDirectory.List(dir.Path).Segments.Count;
        Assert.Equal(segments - 1, telemetry.Rotations);
        Assert.Equal(segments - 1, telemetry.SegmentsClosed);
        Assert.Equal(5000, telemetry.Append.Count);
        Assert.Equal(segments - 1, telemetry.RotationAppend.Count);
        Assert.Equal(segments - 1, telemetry.Rotation.Count);
        Assert.Equal(telemetry.Rotations, telemetry.PreparerWait.Count + telemetry.WriterCreatedSegments);
        Assert.Equal(5000, telemetry.DurableEventId);
        Assert.Equal(0, telemetry.DurableLag);
        Assert.True(telemetry.Events >= 4096); // published in batches of 1024
        Assert.True(telemetry.Checkpoints >= 1);
        Assert.True(telemetry.Append.Max >= telemetry.Append.P50);
    }

    [Fact]
    public void The_FlashWal_meter_publishes_each_open_recorder()
    {
        using var dir = new TempDirectory();
        var seen = new Dictionary<string, long>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == FlashWal.Telemetry.FlashWalMeter.Name)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "directory" && (string?)tag.Value == dir.Path)
                {
                    string quantile = "";
                    foreach (var t in tags)
                    {
                        if (t.Key == "quantile")
                        {
                            quantile = "@" + t.Value;
                        }
                    }

                    lock (seen)
                    {
                        seen[instrument.Name + quantile] = value;
                    }
                }
            }
        });
        listener.Start();
        using (WalRecorder recorder = WalRecorder.Open(dir.Path, Tiny with { MeasureAppendLatency = true }))
        {
            AppendRange(recorder, 1, 3000);
            recorder.Flush();
            listener.RecordObservableInstruments();
            Assert.Equal(3000, seen["flashwal.recorder.committed_id"]);
            Assert.Equal(3000, seen["flashwal.recorder.durable_id"]);
            Assert.Equal(recorder.GetTelemetry().Rotations, seen["flashwal.recorder.rotations"]);
            Assert.Equal(recorder.GetTelemetry().Append.P99, seen["flashwal.recorder.append.latency@0.99"]);
            Assert.True(seen["flashwal.recorder.rotations"] > 10);
        }

        seen.Clear();
        listener.RecordObservableInstruments();
        Assert.Empty(seen); // a closed recorder is no longer published
    }

    [Fact]
    public void Append_allocates_nothing()
    {
        using var dir = new TempDirectory();
        using WalRecorder recorder = WalRecorder.Open(dir.Path, new WalRecorderOptions { SegmentSize = 64L << 20 });
        byte[] payload = new byte[64];
        long value = 42;
        for (int i = 0; i < 1000; i++)
        {
            recorder.Append(payload);
        }

        long allocated = AllocationCounter.Least(() =>
        {
            for (int i = 0; i < 70_000; i++)
            {
                recorder.Append(payload, 3);
                recorder.Append(in value);
                if (i % 1000 == 0)
                {
                    recorder.Commit();
                }
            }
        });

        Assert.Equal(0, allocated);
    }
}
