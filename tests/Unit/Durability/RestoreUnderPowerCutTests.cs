using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Recovery;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Durability;

/// <summary>
/// A restore (issue 17) cut by a power loss at every step, on the simulated disk that keeps only what
/// a sync covered: each segment it rebuilt that carries a segment name afterwards is whole, byte for
/// byte the original; the names form a prefix of the log, with no hole; the directory verifies intact.
/// A segment is synced before it is renamed, and the directory after, so nothing half written ever
/// has a segment's name.
/// </summary>
public class RestoreUnderPowerCutTests
{
    [Theory]
    [InlineData(nameof(PowerCutModel.Plain))]
    [InlineData(nameof(PowerCutModel.StrictDirectories))]
    [InlineData(nameof(PowerCutModel.Writeback))]
    public void A_restore_cut_at_every_step_leaves_whole_segments_under_segment_names(string modelName)
    {
        PowerCutModel model = Enum.Parse<PowerCutModel>(modelName);
        using var source = new TempDirectory();
        using var temp = new TempDirectory();
        LogId log = Wal.WriteLog(source.Path, segments: 3, perSegment: 40, Wal.Small, sealEvery: 9);
        byte[][] originals = [.. Enumerable.Range(0, 3).Select(i => File.ReadAllBytes(Wal.SegmentPath(source.Path, i)))];
        for (long step = 1; step < 400; step++)
        {
            string root = Path.Combine(temp.Path, $"step{step}");
            string target = Path.Combine(root, "restored");
            Directory.CreateDirectory(target);
            var disk = new SimulatedDisk(root, new SimulatedDiskOptions { CutsDirectory = Path.Combine(temp.Path, $"cuts{step}") });
            disk.ScheduleCut(step, model);
            foreach (byte[] original in originals)
            {
                SegmentSummary summary = SegmentSummary.Read(original.AsSpan(SegmentFormat.SummaryOffset));
                using SegmentAssembly segment = SegmentAssembly.Begin(target, SegmentHeader.Read(original).SegmentIndex, original.AsSpan(0, SegmentFormat.HeaderSize), log, disk);
                segment.AddBlocks(SegmentFormat.DataOffset, original.AsSpan(SegmentFormat.DataOffset, (int)(summary.DataEnd - SegmentFormat.DataOffset)));
                segment.Close(original.AsSpan(SegmentFormat.SummaryOffset, SegmentFormat.SummarySize), original.Length);
                segment.Complete();
            }

            if (disk.Cuts.Count == 0)
            {
                Assert.True(step > 12, $"the restore took only {step - 1} operation(s)");
                return; // every step was cut
            }

            string cut = Path.Combine(disk.Cuts[0].Root, "restored");
            var named = WalDirectory.List(cut).Segments;
            Assert.Equal(Enumerable.Range(0, named.Count).Select(i => (long)i), named.Select(s => s.Index)); // a prefix: no hole
            foreach ((long index, string path) in named)
            {
                Assert.True(originals[index].AsSpan().SequenceEqual(File.ReadAllBytes(path)), $"cut before step {step} ({disk.Cuts[0]}): {path} is not the original");
            }

            VerificationReport report = SegmentVerifier.VerifyDirectory(cut);
            Assert.True(named.Count == 0 || report.IsIntact, $"cut before step {step} ({disk.Cuts[0]}): {string.Join('\n', report.Findings)}");
        }

        Assert.Fail("the restore did not end within 400 steps");
    }
}
