using System.Security.Cryptography;
using FlashWal.Cli;
using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Reading;
using FlashWal.Recording;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Cli;

public class CliTests
{
    internal static (int Code, string Out, string Err) Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int code = Program.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public void Record_then_verify_an_intact_directory_exits_0()
    {
        using var dir = new TempDirectory();
        string wal = Path.Combine(dir.Path, "wal");
        var record = Run("record", wal, "--events", "5000", "--segment-size", "64KiB", "--block-size", "4KiB", "--payload-size", "33");
        Assert.True(record.Code == 0, record.Err);
        Assert.Contains("recorded 5000 event(s)", record.Out, StringComparison.Ordinal);

        var verify = Run("verify", wal);
        Assert.Equal(0, verify.Code);
        Assert.StartsWith("intact:", verify.Out.Trim(), StringComparison.Ordinal);
        Assert.Contains("5000 event(s), ids 1..5000", verify.Out, StringComparison.Ordinal);

        // Every payload is the one derived from its id.
        long expected = 1;
        foreach ((long _, string path) in WalDirectory.List(wal).Segments)
        {
            using SegmentReader reader = SegmentReader.Open(path);
            while (reader.TryReadNext(out WalEvent e))
            {
                Assert.Equal(expected++, e.EventId);
                Assert.True(SyntheticEvents.Matches(e.EventId, e.Payload));
                Assert.Equal(SyntheticEvents.Type, e.Type);
            }
        }

        Assert.Equal(5001, expected);
    }

    [Fact]
    public void A_record_refused_at_a_damaged_end_changes_nothing_and_names_the_way_on()
    {
        using var dir = new TempDirectory();
        Assert.Equal(0, Run("record", dir.Path, "--events", "1000", "--segment-size", "64KiB", "--block-size", "4KiB").Code);
        string last = WalDirectory.List(dir.Path).Segments[^1].Path;
        File.Delete(last); // the checkpoint says its events were durable
        // Every byte of every file, the lock protocol's wal.owner included (a refused open must not rewrite it).
        var before = Directory.EnumerateFiles(dir.Path).Order().Select(f => (f, Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))))).ToList();
        Assert.Contains(before, f => Path.GetFileName(f.f) == DirectoryLock.OwnerFileName);

        var record = Run("record", dir.Path, "--events", "10");
        Assert.Equal(2, record.Code);
        string[] lines = record.Err.Trim().Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.Contains("DurableEventsMissing", lines[0], StringComparison.Ordinal);
        Assert.Equal($"flashwal: the log was not continued and nothing was changed; 'flashwal repair {dir.Path} --dry-run' shows what a repair would do so that a recorder can continue it", lines[1]);
        Assert.Equal(before, Directory.EnumerateFiles(dir.Path).Order().Select(f => (f, Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))))).ToList());
    }

    [Fact]
    public void A_second_record_continues_the_ids_and_the_chain()
    {
        using var dir = new TempDirectory();
        Assert.Equal(0, Run("record", dir.Path, "--events", "1000", "--segment-size", "64KiB", "--block-size", "4KiB").Code);
        int before = WalDirectory.List(dir.Path).Segments.Count;
        var second = Run("record", dir.Path, "--events", "1000", "--segment-size", "64KiB", "--block-size", "4KiB");
        Assert.Contains("ids 1001..2000", second.Out, StringComparison.Ordinal);
        Assert.True(WalDirectory.List(dir.Path).Segments.Count > before);
        VerificationReport report = SegmentVerifier.Verify(dir.Path);
        Assert.True(report.IsIntact, string.Join('\n', report.Findings));
        Assert.Empty(report.Findings);
        Assert.Equal(2000, report.Events);
    }

    [Fact]
    public void Record_after_a_crash_closes_the_torn_segment_and_continues()
    {
        using var dir = new TempDirectory();
        LogId log = LogId.NewId();
        Wal.Write(dir.Path, 0, log, SegmentFormat.GenesisChainSeed(log), 1, 30, Wal.Small, sealEvery: 20).AbandonMidWrite();
        var record = Run("record", dir.Path, "--events", "10", "--segment-size", "64KiB", "--block-size", "4KiB");
        Assert.Equal(0, record.Code);
        Assert.Contains("TornTail", record.Out, StringComparison.Ordinal); // the note about what the crash left
        Assert.Contains("ids 21..30", record.Out, StringComparison.Ordinal);
        VerificationReport report = SegmentVerifier.Verify(dir.Path);
        Assert.True(report.IsIntact, string.Join('\n', report.Findings));
        Assert.Equal(SegmentState.Closed, report.Segments[0].State);
        Assert.Equal(30, report.Events);
    }

    /// <summary>
    /// Issue 14 item 9, as a user met it: a recorder stopped cleanly, then one byte flipped in the
    /// middle of the last segment's data. verify printed a second damage line, DurableEventsMissing,
    /// and ended its report before the damage; recover --mode salvage called the tail open.
    /// </summary>
    [Fact]
    public void A_flipped_byte_in_the_last_segment_is_one_finding_and_its_tail_stays_closed()
    {
        using var dir = new TempDirectory();
        Assert.Equal(0, Run("record", dir.Path, "--events", "3000", "--segment-size", "64KiB", "--block-size", "4KiB").Code);
        string last = WalDirectory.List(dir.Path).Segments[^1].Path;
        IReadOnlyList<long> blocks = SegmentScanner.ScanFile(last).BlockOffsets;
        Assert.True(blocks.Count >= 3, $"{blocks.Count} block(s) in the last segment");
        long offset = blocks[blocks.Count / 2] + SegmentFormat.BlockHeaderSize + 100; // a middle block's records
        using (var stream = new FileStream(last, FileMode.Open, FileAccess.ReadWrite))
        {
            stream.Position = offset;
            int b = stream.ReadByte();
            stream.Position = offset;
            stream.WriteByte((byte)(b ^ 0x40));
        }

        var verify = Run("verify", dir.Path);
        Assert.Equal(1, verify.Code);
        string[] lines = verify.Out.Trim().Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.StartsWith($"{last}:{blocks[blocks.Count / 2] + SegmentFormat.BlockHeaderSize}: damage BlockChecksumMismatch block {blocks.Count / 2}:", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("DAMAGED: 1 damage finding(s); ", lines[1], StringComparison.Ordinal);
        Assert.EndsWith(", ids 1..3000", lines[1], StringComparison.Ordinal);

        var salvage = Run("recover", dir.Path, "--mode", "salvage");
        Assert.Equal(1, salvage.Code);
        Assert.Contains(", ids 1..3000 from ", salvage.Out, StringComparison.Ordinal);
        Assert.Contains("tail closed cleanly", salvage.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("DurableEventsMissing", salvage.Out, StringComparison.Ordinal);
        Assert.Contains("DAMAGED (salvaged): 1 gap(s)", salvage.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void A_flipped_byte_exits_1_and_names_the_file_and_offset()
    {
        using var dir = new TempDirectory();
        Run("record", dir.Path, "--events", "3000", "--segment-size", "64KiB", "--block-size", "4KiB");
        string victim = Wal.SegmentPath(dir.Path, 1);
        using (var stream = new FileStream(victim, FileMode.Open, FileAccess.ReadWrite))
        {
            stream.Position = 10_000;
            int b = stream.ReadByte();
            stream.Position = 10_000;
            stream.WriteByte((byte)(b ^ 0x40));
        }

        var verify = Run("verify", dir.Path);
        Assert.Equal(1, verify.Code);
        string line = verify.Out.Split('\n').First(l => l.Contains("damage", StringComparison.Ordinal));
        Assert.StartsWith(victim + ":", line, StringComparison.Ordinal);
        long offset = long.Parse(line[(victim.Length + 1)..line.IndexOf(": ", StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(offset, 10_000 - 4096, 10_000);
        Assert.Contains("BlockChecksumMismatch", line, StringComparison.Ordinal);
        Assert.StartsWith("DAMAGED", verify.Out.Trim().Split('\n')[^1], StringComparison.Ordinal);

        var json = Run("verify", dir.Path, "--json");
        Assert.Equal(1, json.Code);
        using var document = System.Text.Json.JsonDocument.Parse(json.Out);
        Assert.False(document.RootElement.GetProperty("isIntact").GetBoolean());
        var finding = document.RootElement.GetProperty("findings")[0];
        Assert.Equal(victim, finding.GetProperty("file").GetString());
        Assert.Equal("BlockChecksumMismatch", finding.GetProperty("code").GetString());
        Assert.Equal("Damage", finding.GetProperty("severity").GetString());
    }

    [Fact]
    public void Usage_and_path_errors_exit_2_with_one_clear_line()
    {
        var missing = Run("verify", "/nonexistent/wal");
        Assert.Equal(2, missing.Code);
        Assert.Equal("flashwal: '/nonexistent/wal' does not exist.", missing.Err.Trim());

        Assert.Equal(2, Run("verify").Code);
        Assert.Equal(2, Run("frobnicate").Code);
        var size = Run("record", "/tmp/x", "--segment-size", "lots");
        Assert.Equal(2, size.Code);
        Assert.Contains("--segment-size 'lots'", size.Err, StringComparison.Ordinal);
        var big = Run("record", "/tmp/x", "--payload-size", "1MiB");
        Assert.Equal(2, big.Code);
        Assert.Contains("largest payload is 65448 bytes", big.Err, StringComparison.Ordinal);
        var range = Run("record", "/tmp/x", "--segment-size", "4KiB");
        Assert.Equal(2, range.Code);
        Assert.Contains("Segment size must be", range.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void Record_into_a_file_or_after_damage_refuses_and_changes_nothing()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("afile"), "x");
        Assert.Equal(2, Run("record", dir.File("afile")).Code);

        Run("record", dir.Path, "--events", "100", "--segment-size", "64KiB", "--block-size", "4KiB");
        string segment = Wal.SegmentPath(dir.Path, 0);
        byte[] bytes = File.ReadAllBytes(segment);
        bytes[SegmentFormat.DataOffset + 200] ^= 1;
        File.WriteAllBytes(segment, bytes);
        var record = Run("record", dir.Path, "--events", "100");
        Assert.Equal(2, record.Code);
        Assert.Contains(segment, record.Err, StringComparison.Ordinal);
        Assert.Single(WalDirectory.List(dir.Path).Segments);
        Assert.Equal(bytes, File.ReadAllBytes(segment));
    }

    [Fact]
    public void Inspect_prints_one_row_per_segment()
    {
        using var dir = new TempDirectory();
        Run("record", dir.Path, "--events", "3000", "--segment-size", "64KiB", "--block-size", "4KiB");
        var inspect = Run("inspect", dir.Path);
        Assert.Equal(0, inspect.Code);
        string[] lines = inspect.Out.Trim().Split('\n');
        int segments = WalDirectory.List(dir.Path).Segments.Count;
        Assert.Equal(segments + 3, lines.Length); // header, rule, rows, verdict
        Assert.StartsWith("INDEX", lines[0], StringComparison.Ordinal);
        Assert.Contains("0000000000000000  Closed", lines[2], StringComparison.Ordinal);
        Assert.EndsWith("0000000000000000.wal", lines[2].TrimEnd(), StringComparison.Ordinal);
    }

    [Fact]
    public void Report_durable_prints_increasing_watermarks_ending_at_the_last_event()
    {
        using var dir = new TempDirectory();
        var record = Run("record", dir.Path, "--events", "20000", "--rate", "50000", "--sync-interval", "5", "--report-durable");
        Assert.Equal(0, record.Code);
        var durable = record.Out.Split('\n').Where(l => l.StartsWith("durable ", StringComparison.Ordinal))
            .Select(l => long.Parse(l[8..], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.True(durable.Count >= 3, record.Out);
        Assert.Equal(durable.Order().ToList(), durable);
        Assert.Equal(20_000, durable[^1]);
    }

    [Fact]
    public void Duration_and_rate_pace_the_recording()
    {
        using var dir = new TempDirectory();
        var record = Run("record", dir.Path, "--duration", "0.5", "--rate", "2000");
        Assert.Equal(0, record.Code);
        long events = SegmentVerifier.Verify(dir.Path).Events;
        Assert.InRange(events, 500, 1001); // 2,000/s for half a second, give or take the start-up
    }

    [Fact]
    public void A_directory_another_recorder_writes_is_refused_naming_its_process()
    {
        using var dir = new TempDirectory();
        using var holder = FlashWal.Recording.WalRecorder.Open(dir.Path);
        var record = Run("record", dir.Path, "--events", "10");
        Assert.Equal(2, record.Code);
        Assert.Contains($"is being written by another recorder (process {Environment.ProcessId})", record.Err, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("4096", 4096L)]
    [InlineData("64KiB", 65536L)]
    [InlineData("8MiB", 8388608L)]
    [InlineData("8 MB", 8388608L)]
    [InlineData("1g", 1073741824L)]
    public void Sizes_parse(string text, long bytes)
    {
        Assert.True(ByteSize.TryParse(text, out long parsed));
        Assert.Equal(bytes, parsed);
    }
}
