using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Recording;
using FlashWal.Telemetry;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Durability;

/// <summary>
/// Issue 14, defects 2, 5 and 6: the open makes everything before its first event durable before it
/// claims anything; retention counts only closed segments and records its floor before it deletes; a
/// directory holding only a checkpoint is that log, not a new one; a created directory is synced into
/// its parent.
/// </summary>
public class OpenAndRetentionDurabilityTests
{
    private static readonly SegmentOptions Small = Wal.Small;

    [Theory]
    [InlineData(-1)] // no checkpoint: nothing is proven durable
    [InlineData(60)] // segments 0 and 1 proven durable by the checkpoint
    public void The_open_syncs_every_segment_the_checkpoint_does_not_prove_durable_before_it_writes_its_own_checkpoint(long durable)
    {
        using var dir = new TempDirectory();
        LogId log = Wal.WriteLog(dir.Path, 4, 30, Small); // closed, as a recorder killed after its closes but before their syncs leaves them
        if (durable >= 0)
        {
            new MetaCheckpoint(log, 3, 8192, 120, durable, 1) { FirstSegmentIndex = 0 }.Save(dir.Path);
        }

        var disk = new FailingDisk((_, _) => false);
        using (var recorder = WalRecorder.Open(dir.Path, new WalRecorderOptions { SegmentSize = Small.SegmentSize, BlockSize = Small.BlockSize, Disk = disk }))
        {
            Assert.Equal(120, recorder.DurableEventId);
        }

        List<(string Operation, string Path)> syncs = disk.SyncedSoFar();
        string meta = Path.Combine(dir.Path, MetaCheckpoint.FileName + ".tmp");
        int checkpoint = syncs.IndexOf(("fsync", meta));
        Assert.True(checkpoint > 0, "the open wrote no checkpoint");
        for (int s = 0; s < 4; s++)
        {
            int synced = syncs.IndexOf(("fsync", Wal.SegmentPath(dir.Path, s)));
            bool proven = s * 30 + 30 <= durable;
            Assert.True(proven ? synced < 0 || synced > checkpoint : synced >= 0 && synced < checkpoint,
                $"segment {s} (events {s * 30 + 1}..{s * 30 + 30}, checkpoint durable {durable}): synced at {synced}, checkpoint at {checkpoint}");
        }

        Assert.Contains(("fsync of the directory", dir.Path), syncs.Take(checkpoint));
        MetaCheckpoint written = MetaCheckpoint.Load(dir.Path, out _)!.Value;
        Assert.Equal(120, written.DurableEventId);
    }

    [Fact]
    public void Retention_counts_only_closed_segments_and_records_its_floor_before_it_deletes()
    {
        using var dir = new TempDirectory();
        LogId log = Wal.WriteLog(dir.Path, 10, 5, Wal.Tiny);
        using (SegmentWriter active = Wal.Write(dir.Path, 10, log, 0, 51, 3, Wal.Tiny))
        {
            for (int p = 11; p <= 14; p++)
            {
                SegmentWriter.Create(dir.Path, p, log, Wal.Tiny).Abandon(); // prepared ahead: they hold nothing durable
            }

            var floors = new List<(long Floor, bool AllStillThere)>();
            Retention.Apply(dir.Path, new RetentionPolicy { MaxSegments = 4 }, lastClosedIndex: 9, new RecorderTelemetry(), Storage.Disk.Real,
                floor => floors.Add((floor, Enumerable.Range(0, 10).All(i => File.Exists(Wal.SegmentPath(dir.Path, i))))));

            // Three closed segments and the active one: the prepared ones are not counted, so nothing
            // durable is deleted for their sake.
            Assert.Equal([(7L, true)], floors);
            Assert.Equal([7L, 8, 9, 10, 11, 12, 13, 14], WalDirectory.List(dir.Path).Segments.Select(s => s.Index));
            active.Abandon();
        }
    }

    [Fact]
    public void A_recorder_with_keep_segments_never_leaves_only_unflushed_segments()
    {
        using var dir = new TempDirectory();
        var options = new WalRecorderOptions { SegmentSize = 16 * 1024, BlockSize = 4096, Retention = new RetentionPolicy { MaxSegments = 4 }, Durability = DurabilityPolicy.None };
        int fewest = int.MaxValue;
        using (var recorder = WalRecorder.Open(dir.Path, options))
        {
            for (long id = 1; id <= 20_000; id++)
            {
                recorder.Append(Wal.Payload(id, 40));
                if (id % 500 == 0 && recorder.Telemetry.SegmentsClosed >= 3)
                {
                    int closed = WalDirectory.List(dir.Path).Segments.Count(s => ReadSummaryOrNull(s.Path) is not null);
                    fewest = Math.Min(fewest, closed);
                }
            }
        }

        Assert.True(fewest >= 3 || fewest == int.MaxValue, $"at one point only {fewest} closed segment(s) were left");
        MetaCheckpoint meta = MetaCheckpoint.Load(dir.Path, out _)!.Value;
        Assert.Equal(WalDirectory.List(dir.Path).Segments[0].Index, meta.FirstSegmentIndex);
        VerificationReport report = SegmentVerifier.VerifyDirectory(dir.Path);
        Assert.True(report.IsIntact, string.Join('\n', report.Findings));
    }

    [Fact]
    public void A_directory_holding_only_the_checkpoint_continues_its_log_after_the_committed_id()
    {
        using var dir = new TempDirectory();
        LogId log = LogId.NewId();
        new MetaCheckpoint(log, 7, 8192, 500, 0, 1) { FirstSegmentIndex = 3 }.Save(dir.Path); // committed, never durable, all lost
        using (var recorder = WalRecorder.Open(dir.Path, new WalRecorderOptions { SegmentSize = 64 * 1024, BlockSize = 4096 }))
        {
            Assert.Equal(log, recorder.LogId);
            Assert.Equal(501, recorder.Append(Wal.Payload(501, 10)));
            Assert.Equal(8, recorder.ActiveSegmentIndex);
        }

        VerificationReport report = SegmentVerifier.VerifyDirectory(dir.Path);
        Assert.True(report.IsIntact, string.Join('\n', report.Findings));
    }

    [Fact]
    public void A_directory_holding_only_a_checkpoint_whose_durable_events_are_gone_is_refused_not_restarted_at_1()
    {
        using var dir = new TempDirectory();
        new MetaCheckpoint(LogId.NewId(), 7, 8192, 500, 400, 1) { FirstSegmentIndex = 3 }.Save(dir.Path);
        var e = Assert.Throws<WalCorruptionException>(() => WalRecorder.Open(dir.Path, new WalRecorderOptions { SegmentSize = 64 * 1024, BlockSize = 4096 }).Dispose());
        Assert.Equal(FindingCode.DurableEventsMissing, e.Finding.Code);
        Assert.Empty(WalDirectory.List(dir.Path).Segments); // refused: nothing created
    }

    [Fact]
    public void A_new_wal_directory_is_synced_into_its_parent_and_an_existing_ones_parent_too()
    {
        using var temp = new TempDirectory();
        string wal = Path.Combine(temp.Path, "a", "b", "wal");
        var disk = new FailingDisk((_, _) => false);
        var options = new WalRecorderOptions { SegmentSize = 64 * 1024, BlockSize = 4096, Disk = disk };
        WalRecorder.Open(wal, options).Dispose();
        List<(string Operation, string Path)> syncs = disk.SyncedSoFar();
        Assert.Contains(("fsync of the directory", temp.Path), syncs); // a's entry
        Assert.Contains(("fsync of the directory", Path.Combine(temp.Path, "a")), syncs); // b's entry
        Assert.Contains(("fsync of the directory", Path.Combine(temp.Path, "a", "b")), syncs); // wal's entry

        var again = new FailingDisk((_, _) => false);
        WalRecorder.Open(wal, options with { Disk = again }).Dispose();
        Assert.Contains(("fsync of the directory", Path.Combine(temp.Path, "a", "b")), again.SyncedSoFar());
    }

    private static SegmentSummary? ReadSummaryOrNull(string path)
    {
        try
        {
            return SegmentFile.ReadSummary(path);
        }
        catch (Exception e) when (e is FileNotFoundException or WalPathNotFoundException)
        {
            return null; // deleted by retention since the listing
        }
    }
}
