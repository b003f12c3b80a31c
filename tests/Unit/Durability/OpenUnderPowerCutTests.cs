using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Recording;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Durability;

/// <summary>
/// The recorder's open is itself cut by the power at every one of its steps, over logs a power cut
/// left behind (the power-cut fuzzer's long set found both): whatever step the cut lands on, the
/// directory verifies without damage and the next open needs no repair and hands out no id it saw.
/// </summary>
public class OpenUnderPowerCutTests
{
    private const string WalName = "wal";

    /// <summary>
    /// Found as 20261121:802: a directory whose segment names a power cut lost, holding only the
    /// checkpoint (committed 500, nothing durable, first segment index 3). The open continues the log at
    /// segment 8; until its checkpoint moves the first index there, a cut used to leave segment 8 after
    /// "missing" segments 3..7.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_open_of_a_directory_holding_only_its_checkpoint_can_be_cut_at_every_step(bool strictDirectories) =>
        CutEveryStep(strictDirectories ? PowerCutModel.StrictDirectories : PowerCutModel.Plain, wal => new MetaCheckpoint(LogId.NewId(), 7, 8192, 500, 0, 1) { FirstSegmentIndex = 3 }.Save(wal), lastSeen: 500);

    /// <summary>
    /// Found as 20261121:843: segment 0's data never reached the disk (its header did), segment 1's
    /// first blocks did (writeback). Segment 1 continues blocks that are lost, so the log ends before it;
    /// the open used to take segment 1 for the log's start and keep it, whose chain then broke against
    /// segment 0 once that was closed.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_open_of_a_log_whose_first_segment_lost_its_blocks_can_be_cut_at_every_step(bool strictDirectories) =>
        CutEveryStep(strictDirectories ? PowerCutModel.StrictDirectories : PowerCutModel.Plain, wal =>
        {
            LogId log = LogId.NewId();
            SegmentWriter first = Wal.Write(wal, 0, log, SegmentFormat.GenesisChainSeed(log), 1, 5, Wal.Small, sealEvery: 5);
            uint chain = first.ChainValue;
            first.Abandon();
            CrashedLog.Zero(Wal.SegmentPath(wal, 0), SegmentFormat.DataOffset, Wal.Small.SegmentSize);
            Wal.Write(wal, 1, log, chain, 6, 3, Wal.Small, sealEvery: 3).Abandon();
        }, lastSeen: 8);

    /// <summary>A killed recorder's log: one closed segment, two rotated ones its maintainer never closed, and a torn last one.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_open_of_a_killed_recorders_log_can_be_cut_at_every_step(bool strictDirectories) =>
        CutEveryStep(strictDirectories ? PowerCutModel.StrictDirectories : PowerCutModel.Plain, wal =>
        {
            LogId log = Wal.WriteLog(wal, 1, 30, Wal.Small);
            uint chain = SegmentScanner.ScanFile(Wal.SegmentPath(wal, 0)).FinalChain!.Value;
            for (int s = 1; s <= 3; s++)
            {
                SegmentWriter open = Wal.Write(wal, s, log, chain, (30 * s) + 1, s < 3 ? 30 : 35, Wal.Small, sealEvery: 10);
                chain = open.ChainValue;
                open.Abandon(); // the last one with five unsealed events
            }

            new MetaCheckpoint(log, 3, 8192, 120, 30, 1) { FirstSegmentIndex = 0 }.Save(wal);
        }, lastSeen: 120);

    /// <summary>
    /// A power cut beyond the durable point left segment 1 with a hole after its first block, lost segment
    /// 2's name, and kept segment 3's blocks: the open cuts 1, fills 2, abandons 3, and continues above 70.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_open_of_a_log_with_a_hole_a_lost_name_and_later_blocks_can_be_cut_at_every_step(bool strictDirectories) =>
        CutEveryStep(strictDirectories ? PowerCutModel.StrictDirectories : PowerCutModel.Plain, wal =>
        {
            LogId log = Wal.WriteLog(wal, 1, 30, Wal.Small);
            uint chain = SegmentScanner.ScanFile(Wal.SegmentPath(wal, 0)).FinalChain!.Value;
            SegmentWriter one = Wal.Write(wal, 1, log, chain, 31, 20, Wal.Small, sealEvery: 10);
            uint after = one.ChainValue;
            SegmentScan scanned = SegmentScanner.ScanFile(one.Path);
            one.Abandon();
            CrashedLog.Zero(Wal.SegmentPath(wal, 1), scanned.BlockOffsets[1], scanned.ValidEnd); // block 41..50 never reached the disk
            Wal.Write(wal, 3, log, after, 61, 10, Wal.Small, sealEvery: 10).Abandon();
            new MetaCheckpoint(log, 1, 8192, 50, 30, 1) { FirstSegmentIndex = 0 }.Save(wal);
        }, lastSeen: 70);

    private static void CutEveryStep(PowerCutModel model, Action<string> lay, long lastSeen)
    {
        using var temp = new TempDirectory();
        for (long step = 1; step < 200; step++)
        {
            string root = Path.Combine(temp.Path, $"step{step}");
            string wal = Path.Combine(root, WalName);
            Directory.CreateDirectory(wal);
            lay(wal);
            var disk = new SimulatedDisk(root, new SimulatedDiskOptions { CutsDirectory = Path.Combine(temp.Path, $"cuts{step}") });
            disk.ScheduleCut(step, model);
            using (var recorder = WalRecorder.Open(wal, new WalRecorderOptions { SegmentSize = Wal.Small.SegmentSize, BlockSize = Wal.Small.BlockSize, Disk = disk, UsePreparer = false }))
            {
                recorder.Abandon(); // the cut is what counts: the process dies with it
            }

            if (disk.Cuts.Count == 0)
            {
                Assert.True(step > 3, $"the open took only {step - 1} operation(s)");
                return; // the open took fewer steps than this: every step was cut
            }

            string cut = Path.Combine(disk.Cuts[0].Root, WalName);
            VerificationReport report = SegmentVerifier.VerifyDirectory(cut);
            Assert.True(report.IsIntact, $"cut before step {step} ({disk.Cuts[0].Next}): {string.Join('\n', report.Findings)}");
            using var again = WalRecorder.Open(cut, new WalRecorderOptions { SegmentSize = Wal.Small.SegmentSize, BlockSize = Wal.Small.BlockSize });
            Assert.True(again.LastEventId >= lastSeen, $"cut before step {step}: the log continues at {again.LastEventId + 1}, though {lastSeen} was seen");
        }

        Assert.Fail("the open did not end within 200 steps");
    }
}
