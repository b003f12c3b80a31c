using FlashWal.Format;
using FlashWal.Recording;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Durability;

/// <summary>
/// The order of durable steps (FORMAT.md §17) as the recorder runs them: an older segment is wholly
/// durable, summary last, before a newer segment's first sync (issue 14, defect 3), and the summary of
/// a close is written only after its data is synced (defect 2).
/// </summary>
public class SyncOrderTests
{
    [Theory]
    [InlineData(DurabilityPolicy.EveryCommit)]
    [InlineData(DurabilityPolicy.Interval)]
    public void A_newer_segment_is_never_synced_before_the_older_one_is_closed(DurabilityPolicy durability)
    {
        using var dir = new TempDirectory();
        var disk = new FailingDisk((_, _) => false);
        var options = new WalRecorderOptions { SegmentSize = 16 * 1024, BlockSize = 4096, Durability = durability, SyncInterval = TimeSpan.FromMilliseconds(1), Disk = disk };
        using (var recorder = WalRecorder.Open(dir.Path, options))
        {
            for (long id = 1; id <= 2000; id++)
            {
                recorder.Append(Wal.Payload(id, 40));
                if (id % 7 == 0)
                {
                    recorder.Commit();
                }
            }
        }

        List<(string Operation, string Path)> syncs = disk.SyncedSoFar();
        var files = syncs.Where(s => s.Path.EndsWith(SegmentFileName.Extension, StringComparison.Ordinal)).ToList();
        Assert.True(files.Select(s => s.Path).Distinct().Count() >= 4, $"only {files.Select(s => s.Path).Distinct().Count()} segments were written");
        for (int i = 0; i < files.Count; i++)
        {
            if (!SegmentFileName.TryParse(Path.GetFileName(files[i].Path), out long index))
            {
                continue;
            }

            // Every sync of this segment comes after the close (the last fsync) of every older one.
            for (int j = i + 1; j < files.Count; j++)
            {
                Assert.True(!SegmentFileName.TryParse(Path.GetFileName(files[j].Path), out long later) || later >= index,
                    $"segment {index:x} was synced ({files[i].Operation}, sync {i}) before segment {later:x} ({files[j].Operation}, sync {j}) was done");
            }
        }
    }

    [Fact]
    public void A_close_syncs_the_data_before_it_writes_the_summary_and_syncs_that_after()
    {
        using var dir = new TempDirectory();
        string first = Wal.SegmentPath(dir.Path, 0);
        bool? summaryAtFirstFsync = null;
        var disk = new FailingDisk((operation, path) =>
        {
            if (operation == "fsync" && path == first && summaryAtFirstFsync is null)
            {
                summaryAtFirstFsync = SegmentFile.ReadSummary(first) is not null;
            }

            return false;
        });
        var options = new WalRecorderOptions { SegmentSize = 16 * 1024, BlockSize = 4096, Durability = DurabilityPolicy.None, Disk = disk };
        using (var recorder = WalRecorder.Open(dir.Path, options))
        {
            for (long id = 1; id <= 400; id++)
            {
                recorder.Append(Wal.Payload(id, 40));
            }
        }

        Assert.False(summaryAtFirstFsync, "the summary was written before the segment's data was synced");
        Assert.Equal(2, disk.SyncedSoFar().Count(s => s == ("fsync", first)));
        Assert.NotNull(SegmentFile.ReadSummary(first));
    }
}
