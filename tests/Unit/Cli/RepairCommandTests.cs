using System.Text.Json;
using FlashWal.Format;
using FlashWal.Recording;
using FlashWal.Tests.Recovery;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Cli;

public class RepairCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliTests.Run(args);

    private static void Record(string directory, int events)
    {
        var record = Run("record", directory, "--events", events.ToString(System.Globalization.CultureInfo.InvariantCulture), "--segment-size", "64KiB", "--block-size", "4KiB");
        Assert.True(record.Code == 0, record.Err);
    }

    [Fact]
    public void An_intact_log_needs_nothing_and_exits_0()
    {
        using var dir = new TempDirectory();
        Record(dir.Path, 5000);

        var dry = Run("repair", dir.Path, "--dry-run");
        Assert.Equal(0, dry.Code);
        Assert.Contains(": nothing to repair: the log is intact", dry.Out, StringComparison.Ordinal);
        Assert.Contains("recorder: continues at event 5001", dry.Out, StringComparison.Ordinal);

        var repair = Run("repair", dir.Path);
        Assert.Equal(0, repair.Code);
        Assert.EndsWith("nothing to repair; the log verifies intact" + Environment.NewLine, repair.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unreadable_middle_segment_is_planned_then_quarantined_and_recording_continues()
    {
        using var dir = new TempDirectory();
        Record(dir.Path, 5000);
        string segment = Wal.SegmentPath(dir.Path, 2);
        WalRecoveryTests.FlipByte(segment, SegmentHeader.OffLogId);

        var before = WalRepairTests.Snapshot(dir.Path);
        var dry = Run("repair", dir.Path, "--dry-run");
        Assert.Equal(before, WalRepairTests.Snapshot(dir.Path));
        Assert.Equal(1, dry.Code);
        Assert.Contains("1 action(s) to apply", dry.Out, StringComparison.Ordinal);
        Assert.Contains($"  1. QuarantineSegment {segment}{Environment.NewLine}", dry.Out, StringComparison.Ordinal);
        Assert.Contains("       why:  " + segment + ":124: damage HeaderChecksumMismatch", dry.Out, StringComparison.Ordinal);
        Assert.Contains("       lost: events ", dry.Out, StringComparison.Ordinal);
        Assert.EndsWith("dry run: nothing was changed; run without --dry-run to apply the plan" + Environment.NewLine, dry.Out, StringComparison.Ordinal);

        var repair = Run("repair", dir.Path);
        Assert.Equal(1, repair.Code);
        Assert.Contains($"  1. QuarantineSegment {segment}: applied, moved to {Path.Combine(dir.Path, "quarantine")}", repair.Out, StringComparison.Ordinal);
        Assert.Contains("after: DAMAGED: ", repair.Out, StringComparison.Ordinal);
        Assert.Contains("recorder: continues at event 5001", repair.Out, StringComparison.Ordinal);
        Assert.Contains("REPAIRED: 1 of 1 action(s) applied; EVENTS LOST: ", repair.Out, StringComparison.Ordinal);
        Assert.False(File.Exists(segment));

        var again = Run("repair", dir.Path);
        Assert.Equal(1, again.Code); // nothing left to do, but the loss is still there and still said
        Assert.Contains("repair of " + dir.Path, again.Out, StringComparison.Ordinal);
        Assert.Contains("nothing to repair; EVENTS LOST: ", again.Out, StringComparison.Ordinal);

        var record = Run("record", dir.Path, "--events", "100", "--segment-size", "64KiB", "--block-size", "4KiB");
        Assert.Equal(0, record.Code);
        Assert.Contains("ids 5001..5100", record.Out, StringComparison.Ordinal);
        var salvage = Run("recover", dir.Path, "--mode", "salvage");
        Assert.Equal(1, salvage.Code);
        Assert.Contains("damage SegmentMissing", salvage.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void A_torn_tail_is_cut_and_the_log_verifies_intact_with_exit_0()
    {
        using var dir = new TempDirectory();
        WalRepairTests.WriteTornLog(dir.Path, closedSegments: 2);

        var repair = Run("repair", dir.Path);
        Assert.Equal(0, repair.Code);
        Assert.Contains($"  1. CutTornTail {Wal.SegmentPath(dir.Path, 2)}: applied, closed (RecoveredClose): ", repair.Out, StringComparison.Ordinal);
        Assert.Contains("       lost: none", repair.Out, StringComparison.Ordinal);
        Assert.Contains("recorder: continues at event 221", repair.Out, StringComparison.Ordinal);
        Assert.EndsWith("REPAIRED: 1 of 1 action(s) applied; the log verifies intact" + Environment.NewLine, repair.Out, StringComparison.Ordinal);
        Assert.Equal(0, Run("verify", dir.Path).Code);
    }

    [Fact]
    public void The_plan_as_json_names_each_action_its_reason_and_lost_ids()
    {
        using var dir = new TempDirectory();
        Record(dir.Path, 5000);
        WalRecoveryTests.FlipByte(Wal.SegmentPath(dir.Path, 2), SegmentHeader.OffLogId);

        var dry = Run("repair", dir.Path, "--dry-run", "--json");
        Assert.Equal(1, dry.Code);
        using JsonDocument json = JsonDocument.Parse(dry.Out);
        JsonElement action = json.RootElement.GetProperty("actions")[0];
        Assert.Equal("QuarantineSegment", action.GetProperty("kind").GetString());
        Assert.Equal(Wal.SegmentPath(dir.Path, 2), action.GetProperty("target").GetString());
        Assert.Equal("HeaderChecksumMismatch", action.GetProperty("reason").GetProperty("code").GetString());
        Assert.True(action.GetProperty("lost").GetProperty("firstEventId").GetInt64() > 0);
        Assert.True(json.RootElement.GetProperty("dryRun").GetBoolean());
        Assert.Equal(1, json.RootElement.GetProperty("exitCode").GetInt32());

        var repair = Run("repair", dir.Path, "--json");
        using JsonDocument applied = JsonDocument.Parse(repair.Out);
        Assert.Equal("Applied", applied.RootElement.GetProperty("actions")[0].GetProperty("outcome").GetString());
        Assert.False(applied.RootElement.GetProperty("after").GetProperty("isIntact").GetBoolean());
    }

    [Fact]
    public void A_locked_directory_and_a_missing_one_exit_2()
    {
        using var dir = new TempDirectory();
        Record(dir.Path, 100);
        using (WalRecorder recorder = WalRecorder.Open(dir.Path))
        {
            var locked = Run("repair", dir.Path);
            Assert.Equal(2, locked.Code);
            Assert.Contains($"process {Environment.ProcessId}", locked.Err, StringComparison.Ordinal);
            Assert.Equal(2, Run("repair", dir.Path, "--dry-run").Code);
        }

        Assert.Equal(2, Run("repair", Path.Combine(dir.Path, "missing")).Code);
    }
}
