using FlashWal.Format;
using FlashWal.Reading;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Cli;

public class RecoverCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliTests.Run(args);

    [Fact]
    public void Replays_a_recorded_log_from_the_start_and_from_the_middle()
    {
        using var dir = new TempDirectory();
        Assert.Equal(0, Run("record", dir.Path, "--events", "5000", "--segment-size", "64KiB", "--block-size", "4KiB").Code);

        var all = Run("recover", dir.Path);
        Assert.Equal(0, all.Code);
        Assert.StartsWith("replayed 5000 event(s), ids 1..5000 from ", all.Out, StringComparison.Ordinal);
        Assert.EndsWith("complete" + Environment.NewLine, all.Out, StringComparison.Ordinal);

        var middle = Run("recover", dir.Path, "--from", "2500");
        Assert.Equal(0, middle.Code);
        Assert.StartsWith("replayed 2501 event(s), ids 2500..5000 ", middle.Out, StringComparison.Ordinal);

        var beyond = Run("recover", dir.Path, "--from", "9999");
        Assert.Equal(0, beyond.Code);
        Assert.Contains("start: the log ends at event 5000: nothing from 9999 on", beyond.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Damage_stops_strict_with_the_file_and_offset_and_salvage_reports_the_lost_range()
    {
        using var dir = new TempDirectory();
        Assert.Equal(0, Run("record", dir.Path, "--events", "5000", "--segment-size", "64KiB", "--block-size", "4KiB").Code);
        string segment = Wal.SegmentPath(dir.Path, 2);
        long offset;
        using (SegmentReader reader = SegmentReader.Open(segment))
        {
            offset = reader.Scan.BlockOffsets[1] + SegmentFormat.BlockHeaderSize + 8;
        }

        using (var file = new FileStream(segment, FileMode.Open, FileAccess.ReadWrite))
        {
            file.Position = offset;
            file.WriteByte(0xEE);
        }

        var strict = Run("recover", dir.Path);
        Assert.Equal(1, strict.Code);
        Assert.Contains($"STOPPED at damage (strict): {segment}:{offset - 8}: damage BlockChecksumMismatch block 1", strict.Out, StringComparison.Ordinal);

        var salvage = Run("recover", dir.Path, "--mode", "salvage");
        Assert.Equal(1, salvage.Code);
        Assert.Contains("gap: events ", salvage.Out, StringComparison.Ordinal);
        Assert.Contains("DAMAGED (salvaged): 1 gap(s)", salvage.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_arguments_are_usage_errors()
    {
        using var dir = new TempDirectory();
        Assert.Equal(2, Run("recover", Path.Combine(dir.Path, "missing")).Code);
        Assert.Equal(2, Run("recover", dir.Path, "--mode", "lenient").Code);
        Assert.Equal(2, Run("recover", dir.Path, "--from", "-5").Code);
    }
}
