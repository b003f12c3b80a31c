using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Recording;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Durability;

/// <summary>
/// Issue 14, defect 1: a sync the system reports as failed is an error naming the file, the durable
/// watermark never covers what it was to make durable, and the recorder stops instead of going on.
/// </summary>
public class FailedSyncTests
{
    private static WalRecorderOptions Options(FailingDisk disk, DurabilityPolicy durability) => new()
    {
        SegmentSize = 64 * 1024,
        BlockSize = 4096,
        Durability = durability,
        SyncInterval = TimeSpan.FromMilliseconds(1),
        Disk = disk,
    };

    [Fact]
    public void A_failed_fsync_of_a_rotated_segment_stops_the_recorder_and_nothing_after_the_last_good_sync_is_durable()
    {
        using var dir = new TempDirectory();
        string first = Wal.SegmentPath(dir.Path, 0);
        var disk = new FailingDisk((operation, path) => operation == "fsync" && path == first);
        var recorder = WalRecorder.Open(dir.Path, Options(disk, DurabilityPolicy.EveryCommit));
        long durableBefore = 0;
        WalException? stopped = null;
        try
        {
            for (long id = 1; id <= 5000; id++)
            {
                recorder.Append(Wal.Payload(id, 100));
                if (id % 10 == 0)
                {
                    recorder.Commit(); // every commit is a flush, which waits for the rotated segment's close
                    durableBefore = recorder.DurableEventId;
                }
            }
        }
        catch (WalException e)
        {
            stopped = e;
        }

        Assert.NotNull(stopped);
        Assert.Equal(1, disk.Failures);
        var sync = Assert.IsType<WalSyncException>(stopped.InnerException);
        Assert.Equal(first, sync.Path); // the segment's name, not the temporary name it was created under
        Assert.Equal("fsync", sync.Operation);
        Assert.Contains(first, stopped.Message, StringComparison.Ordinal);
        Assert.Contains("Input/output error", stopped.Message, StringComparison.Ordinal);
        Assert.Same(sync, recorder.StopFailure);

        // Nothing the failed sync covered is durable, and the watermark never moves again.
        long durable = recorder.DurableEventId;
        Assert.True(durable <= durableBefore, $"durable {durable} after the failure, {durableBefore} before it");
        Assert.Throws<WalException>(() => recorder.Append(Wal.Payload(9999, 100)));
        Assert.Throws<WalException>(() => recorder.Commit());
        Assert.Throws<WalException>(() => recorder.WaitForDurable(recorder.LastEventId, TimeSpan.FromSeconds(5)));
        Assert.Equal(durable, recorder.DurableEventId);

        // Disposing says so again and leaves the files as a crash would: segment 0 was never closed.
        var disposed = Assert.Throws<WalException>(recorder.Dispose);
        Assert.Same(sync, disposed.InnerException);
        Assert.Null(SegmentFile.ReadSummary(first));
        Assert.Equal(durable, recorder.DurableEventId);
    }

    [Fact]
    public void A_failed_fdatasync_of_the_active_segment_under_the_interval_policy_stops_the_recorder()
    {
        using var dir = new TempDirectory();
        string first = Wal.SegmentPath(dir.Path, 0);
        int fdatasyncs = 0;
        var disk = new FailingDisk((operation, path) => operation == "fdatasync" && path == first && Interlocked.Increment(ref fdatasyncs) == 3);
        var recorder = WalRecorder.Open(dir.Path, Options(disk, DurabilityPolicy.Interval));
        long id = 0;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (recorder.StopFailure is null && DateTime.UtcNow < deadline)
        {
            try
            {
                recorder.Append(Wal.Payload(++id, 16));
                recorder.Commit();
            }
            catch (WalException)
            {
                break;
            }

            Thread.Sleep(1);
        }

        var sync = Assert.IsType<WalSyncException>(recorder.StopFailure);
        Assert.Equal("fdatasync", sync.Operation);
        Assert.Equal(first, sync.Path);
        long durable = recorder.DurableEventId;
        Thread.Sleep(50); // the maintainer's interval passes several times: nothing moves
        Assert.Equal(durable, recorder.DurableEventId);
        Assert.True(durable < recorder.CommittedEventId, $"durable {durable}, committed {recorder.CommittedEventId}");
        Assert.Throws<WalException>(recorder.Dispose);
    }

    [Fact]
    public void A_failed_directory_sync_of_a_new_segment_is_not_taken_for_durability()
    {
        using var dir = new TempDirectory();
        var disk = new FailingDisk((operation, path) => operation == "fsync of the directory" && path == dir.Path && Volatile.Read(ref s_open) == 1);
        Volatile.Write(ref s_open, 0);
        var recorder = WalRecorder.Open(dir.Path, Options(disk, DurabilityPolicy.EveryCommit));
        Volatile.Write(ref s_open, 1); // from here on: the segment's first flush makes its name durable
        recorder.Append(Wal.Payload(1, 16));
        var e = Assert.Throws<WalException>(() => recorder.Commit());
        Assert.IsType<WalSyncException>(e.InnerException);
        Assert.Equal(0, recorder.DurableEventId);
        Assert.Throws<WalException>(recorder.Dispose);
    }

    [Fact]
    public void A_host_whose_closing_fsync_fails_throws_the_recorders_close_error_once_naming_the_segment()
    {
        // Long power-cut set, seed 20261121 case 1573: the host wrapped the recorder's own close error in
        // a second one ("Closing the recorder of … failed: Closing the recorder of … failed: fsync …").
        using var dir = new TempDirectory();
        string first = Wal.SegmentPath(dir.Path, 0);
        int closing = 0;
        var disk = new FailingDisk((operation, path) => operation == "fsync" && path == first && Volatile.Read(ref closing) == 1);
        var host = WalRecorderHost.Start(dir.Path, new WalRecorderHostOptions { Recorder = Options(disk, DurabilityPolicy.Interval) });
        for (long id = 1; id <= 100; id++)
        {
            host.Submit(Wal.Payload(id, 100), wait: SubmitWait.Committed);
        }

        Volatile.Write(ref closing, 1);
        var e = Assert.Throws<WalException>(host.Dispose);
        var sync = Assert.IsType<WalSyncException>(e.InnerException);
        Assert.Equal(first, sync.Path);
        Assert.StartsWith($"Closing the recorder of '{dir.Path}' failed: fsync of '{first}' failed: Input/output error", e.Message, StringComparison.Ordinal);
        Assert.Equal(1, e.Message.Split("Closing the recorder").Length - 1);
        Assert.Equal(1, disk.Failures);
        Assert.Null(SegmentFile.ReadSummary(first)); // the summary never follows a failed sync of its data
    }

    private static int s_open;
}
