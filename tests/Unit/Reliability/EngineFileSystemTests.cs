using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Reading;
using FlashWal.Recording;
using FlashWal.Recovery;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Reliability;

/// <summary>A read-only file system and a full disk (a small tmpfs), for the recorder, repair, retention and the readers.</summary>
[Collection("mounts")]
public class EngineFileSystemTests
{
    [SmallFileSystemFact]
    public void On_a_read_only_file_system_writers_are_refused_naming_it_and_every_reader_still_works()
    {
        using var disk = new SmallFileSystem("size=1m");
        string wal = Path.Combine(disk.Path, "wal");
        BadInput.Write(wal, 60);
        File.WriteAllBytes(Path.Combine(wal, SegmentFileName.Format(50)), [1, 2, 3]); // something for repair to quarantine
        disk.Remount("ro");

        foreach ((string name, Action<string> open) in BadInput.WriterEntryPoints.Where(e => e.Key != "WalRepair.Plan.Apply"))
        {
            BadInput.Fails<WalDirectoryNotWritableException>(() => open(wal), wal, "WalDirectoryNotWritable", "Read-only file system");
        }

        string fresh = Path.Combine(disk.Path, "new-wal");
        BadInput.Fails<WalDirectoryNotWritableException>(() => WalRecorder.Open(fresh, BadInput.Tiny).Dispose(), fresh, "WalDirectoryNotWritable", "Read-only file system");

        RepairPlan plan = WalRepair.Plan(wal);
        Assert.NotEmpty(plan.Actions);
        BadInput.Fails<WalDirectoryNotWritableException>(() => plan.Apply(), wal, "WalDirectoryNotWritable", "Read-only file system");
        BadInput.AssertKept(wal, 60);
    }

    [SmallFileSystemFact]
    public void Readers_work_on_a_read_only_log()
    {
        using var disk = new SmallFileSystem("size=1m");
        string wal = Path.Combine(disk.Path, "wal");
        BadInput.Write(wal, 60);
        disk.Remount("ro");
        BadInput.AssertHolds(wal, 60); // verifier and strict recovery
        Assert.Equal(60, WalCatalog.Open(wal).LastEventId);
        Assert.True(WalRepair.Plan(wal).IsEmpty);
        using (WalEventReader reader = WalEventReader.Open(wal))
        {
            long n = 0;
            while (reader.ReadNext() is { } e)
            {
                Assert.Equal(++n, e.Id);
            }

            Assert.Equal(60, n);
        }

        using (WalTailer tailer = WalTailer.Open(wal))
        {
            long n = 0;
            while (tailer.TryReadNext(out WalEvent e))
            {
                Assert.Equal(++n, e.EventId);
            }

            Assert.Equal(60, n);
            Assert.Equal(TailerState.Closed, tailer.State);
        }

        using SegmentReader segment = SegmentReader.Open(Wal.SegmentPath(wal, 0));
        Assert.True(segment.TryReadNext(out _));
    }

    [SmallFileSystemFact]
    public void A_disk_too_full_to_open_a_recorder_is_refused_naming_the_directory()
    {
        using var disk = new SmallFileSystem("size=64k");
        string wal = Path.Combine(disk.Path, "wal");
        BadInput.Write(wal, 20, BadInput.Tiny with { UsePreparer = false });
        Fill(disk.Path);
        var e = BadInput.Fails<WalDirectoryNotWritableException>(() => WalRecorder.Open(wal, BadInput.Tiny).Dispose(), wal, "WalDirectoryNotWritable", "cannot be written");
        AssertDiskFull(e.Message);
        RemoveFill(disk.Path);
        BadInput.AssertHolds(wal, 20);
        Assert.Empty(WalDirectory.List(wal).Temporary);
    }

    [SmallFileSystemFact]
    public void A_full_disk_at_rotation_fails_the_append_naming_the_directory_and_keeps_every_committed_event()
    {
        using var disk = new SmallFileSystem("size=96k");
        string wal = Path.Combine(disk.Path, "wal");
        long committed = 0;
        Exception? failure = null;
        var recorder = WalRecorder.Open(wal, BadInput.Tiny with { Durability = DurabilityPolicy.EveryCommit });
        try
        {
            for (long id = 1; id < 100_000; id++)
            {
                recorder.Append(BadInput.Payload(id), (ushort)(id % 7));
                recorder.Commit();
                committed = id;
            }
        }
        catch (Exception e)
        {
            failure = e;
        }

        Assert.NotNull(failure);
        Assert.True(failure is IOException or WalException, failure.ToString());
        Assert.Contains(wal, failure.Message, StringComparison.Ordinal);
        AssertDiskFull(failure.Message);
        Assert.True(committed > 20, $"only {committed} events before the disk was full");
        Exception? closing = Record.Exception(recorder.Dispose);
        Assert.True(closing is null or WalException, closing?.ToString());
        BadInput.AssertHolds(wal, committed);
    }

    [SmallFileSystemFact]
    public void A_full_disk_for_the_checkpoint_is_reported_and_recording_goes_on()
    {
        using var disk = new SmallFileSystem("size=96k");
        string wal = Path.Combine(disk.Path, "wal");
        var options = BadInput.Tiny with { SegmentSize = 64 * 1024, UsePreparer = false, CheckpointInterval = TimeSpan.FromMilliseconds(10) };
        using (WalRecorder recorder = WalRecorder.Open(wal, options))
        {
            recorder.Append(BadInput.Payload(1), 1);
            Fill(disk.Path);
            for (long id = 2; id <= 20; id++)
            {
                recorder.Append(BadInput.Payload(id), (ushort)(id % 7));
                recorder.Commit();
            }

            SpinWait.SpinUntil(() => recorder.CheckpointFailure is not null, TimeSpan.FromSeconds(5));
            Exception failure = Assert.IsAssignableFrom<Exception>(recorder.CheckpointFailure);
            AssertDiskFull(failure.Message);
            Assert.Contains(wal, failure.Message, StringComparison.Ordinal);
        }

        RemoveFill(disk.Path);
        BadInput.AssertHolds(wal, 20);
    }

    [SmallFileSystemFact]
    public void A_full_disk_makes_repair_fail_an_action_naming_it_and_lose_nothing()
    {
        using var disk = new SmallFileSystem("size=96k");
        string wal = Path.Combine(disk.Path, "wal");
        BadInput.Write(wal, 30, BadInput.Tiny with { UsePreparer = false });
        string garbage = Path.Combine(wal, SegmentFileName.Format(WalDirectory.List(wal).Segments.Max(s => s.Index) + 1));
        File.WriteAllText(garbage, "garbage, not a segment");
        RepairPlan plan = WalRepair.Plan(wal);
        Assert.Contains(plan.Actions, a => a.Kind == RepairActionKind.QuarantineSegment);
        Fill(disk.Path);
        RepairReport report = plan.Apply();
        RepairResult failed = Assert.IsType<RepairResult>(report.Failure);
        AssertDiskFull(failed.Detail);
        Assert.Contains(wal, failed.Detail, StringComparison.Ordinal);
        Assert.False(report.IsComplete);
        RemoveFill(disk.Path);
        Assert.True(File.Exists(garbage) || Directory.Exists(Path.Combine(wal, WalRepair.QuarantineFolderName)));
        Assert.True(WalRepair.Plan(wal).Apply().IsComplete);
        BadInput.AssertKept(wal, 30);
    }

    [SmallFileSystemFact]
    public void A_full_disk_stops_compression_without_losing_the_segment()
    {
        using var disk = new SmallFileSystem("size=160k");
        string wal = Path.Combine(disk.Path, "wal");
        var options = BadInput.Tiny with { UsePreparer = false, Retention = new() { CompressAfter = 0 } };
        long appended = 0;
        using (WalRecorder recorder = WalRecorder.Open(wal, options))
        {
            Fill(disk.Path, leave: 40 * 1024);
            try
            {
                for (long id = 1; id <= 200; id++)
                {
                    recorder.Append(BadInput.Payload(id), (ushort)(id % 7));
                    appended = id;
                }
            }
            catch (IOException)
            {
            }

            SpinWait.SpinUntil(() => recorder.GetTelemetry().CompressionFailures > 0 || recorder.GetTelemetry().Compressions > 0, TimeSpan.FromSeconds(5));
        }

        RemoveFill(disk.Path);
        BadInput.AssertHolds(wal, appended);
    }

    private static void Fill(string mount, int leave = 0)
    {
        string path = Path.Combine(mount, "filler");
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0);
        byte[] chunk = new byte[4096];
        try
        {
            while (true)
            {
                stream.Write(chunk);
            }
        }
        catch (IOException)
        {
        }

        if (leave > 0)
        {
            stream.SetLength(Math.Max(0, stream.Length - leave));
        }
    }

    /// <summary>The OS's words for a full disk, as .NET reports them (a failed write, or a failed preallocation).</summary>
    private static void AssertDiskFull(string message) =>
        Assert.True(message.Contains("No space left on device", StringComparison.Ordinal) || message.Contains("the disk was full", StringComparison.Ordinal), message);

    private static void RemoveFill(string mount) => File.Delete(Path.Combine(mount, "filler"));
}
