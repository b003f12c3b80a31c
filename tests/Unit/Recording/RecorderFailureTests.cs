using FlashWal.Errors;
using FlashWal.Inspection;
using FlashWal.Recording;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Recording;

/// <summary>A disk that fills up and a directory that cannot be written: clear errors, nothing committed lost.</summary>
[Collection("mounts")]
public class RecorderFailureTests
{
    private static readonly WalRecorderOptions Tiny = new() { SegmentSize = 8192, BlockSize = 4096, Durability = DurabilityPolicy.EveryCommit };

    [SmallFileSystemFact]
    public void A_full_disk_fails_the_append_clearly_and_keeps_every_committed_event()
    {
        using var disk = new SmallFileSystem("size=160k");
        string wal = Path.Combine(disk.Path, "wal");
        long lastGood = 0;
        Exception? failure = null;
        var recorder = WalRecorder.Open(wal, Tiny);
        try
        {
            for (long id = 1; id < 100_000; id++)
            {
                recorder.Append(Wal.Payload(id, 100));
                lastGood = id;
                if (id % 10 == 0)
                {
                    recorder.Commit();
                }
            }
        }
        catch (IOException e)
        {
            failure = e;
        }
        finally
        {
            if (failure is null)
            {
                recorder.Dispose();
            }
        }

        Assert.NotNull(failure);
        Assert.True(failure.Message.Contains("No space left on device", StringComparison.Ordinal) || failure.Message.Contains("disk", StringComparison.OrdinalIgnoreCase), failure.Message);
        Assert.Contains(wal, failure.Message, StringComparison.Ordinal);
        Assert.True(lastGood > 100, $"only {lastGood} events before the disk was full");

        // The failed append changed nothing: the recorder still closes, and every appended event is kept.
        recorder.Dispose();
        Assert.NotNull(recorder.CheckpointFailure); // no room for the checkpoint either: reported, not fatal
        VerificationReport report = SegmentVerifier.Verify(wal);
        Assert.True(report.IsIntact, string.Join('\n', report.Findings));
        Assert.Equal(lastGood, report.LastEventId);
        Assert.Equal(lastGood, report.Events);
    }

    [SmallFileSystemFact]
    public void A_read_only_directory_is_refused_clearly_and_its_log_stays_readable()
    {
        using var disk = new SmallFileSystem("size=512k");
        string wal = Path.Combine(disk.Path, "wal");
        using (WalRecorder recorder = WalRecorder.Open(wal, Tiny))
        {
            WalRecorderTests.AppendRange(recorder, 1, 100);
        }

        disk.Remount("ro");
        var e = Assert.Throws<WalDirectoryNotWritableException>(() => WalRecorder.Open(wal, Tiny));
        Assert.Contains(wal, e.Message, StringComparison.Ordinal);
        Assert.Contains("Read-only file system", e.Message, StringComparison.Ordinal);
        Assert.Equal("WalDirectoryNotWritable", e.ErrorId);

        // A new directory on it: the same error, not the file system's raw IOException.
        string fresh = Path.Combine(disk.Path, "fresh", "wal");
        var create = Assert.Throws<WalDirectoryNotWritableException>(() => WalRecorder.Open(fresh, Tiny));
        Assert.Equal(fresh, create.Path);
        Assert.StartsWith($"'{fresh}' cannot be written: Read-only file system", create.Message, StringComparison.Ordinal);
        VerificationReport report = SegmentVerifier.Verify(wal);
        Assert.True(report.IsIntact, string.Join('\n', report.Findings));
        Assert.Equal(100, report.Events);
    }
}
