using FlashWal.Errors;
using FlashWal.Format;
using FlashWal.Inspection;
using FlashWal.Reading;
using FlashWal.Recording;
using FlashWal.Recovery;
using FlashWal.Tests.Support;

namespace FlashWal.Tests.Reliability;

/// <summary>Files that are not FlashWal's, empty files, files shorter than a header, and format versions from the future.</summary>
public class EngineNonWalFileTests
{
    public static TheoryData<string> FileEntryPoints => BadInput.Names(BadInput.FileEntryPoints);

    /// <summary>What a file that is not a segment holds, by name of the case.</summary>
    private static readonly Dictionary<string, byte[]> NotSegments = new(StringComparer.Ordinal)
    {
        ["random"] = RandomBytes(10_000),
        ["text"] = "2026-11-21 order 42 filled\n"u8.ToArray(),
        ["empty"] = [],
        ["magic only"] = "FLASHWAL"u8.ToArray(),
        ["short header"] = [.. "FLASHWAL"u8, .. new byte[50]],
    };

    public static TheoryData<string, string> FileCases()
    {
        var data = new TheoryData<string, string>();
        foreach (string entry in BadInput.FileEntryPoints.Keys.Order(StringComparer.Ordinal))
        {
            foreach (string kind in NotSegments.Keys)
            {
                data.Add(entry, kind);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(FileCases))]
    public void A_file_that_is_not_a_segment_is_refused_by_every_file_reader(string entryPoint, string kind)
    {
        using var temp = new TempDirectory();
        string path = temp.File(SegmentFileName.Format(1)); // named like a segment, holding anything else
        File.WriteAllBytes(path, NotSegments[kind]);
        Action open = () => BadInput.FileEntryPoints[entryPoint](path);
        if (kind is "magic only" or "short header")
        {
            // It starts like a segment but ends inside the header: a damaged segment, not a foreign file.
            // A segment reader cannot open it; a replay of the file opens it and reports the damage.
            if (entryPoint.StartsWith("SegmentReader", StringComparison.Ordinal))
            {
                BadInput.Fails<WalCorruptionException>(open, path, "WalDataCorrupt", "ends inside the segment header");
            }
            else
            {
                open();
                using WalRecovery recovery = WalRecovery.OpenSegment(path);
                RecoveryReport report = recovery.Run(1);
                Assert.Equal(RecoveryOutcome.StoppedAtDamage, report.Outcome);
                Assert.Equal(path, report.Failure!.File);
                Assert.Equal(FindingCode.FileTooShort, report.Failure.Code);
                using WalEventReader reader = WalEventReader.Open(path);
                BadInput.Fails<WalCorruptionException>(() => reader.ReadNext(), path, "WalDataCorrupt", "ends inside the segment header");
            }
        }
        else
        {
            BadInput.Fails<WalFormatException>(open, path, "WalNotASegment", "is not a FlashWal segment", kind == "empty" ? "empty" : "FLASHWAL");
        }

        Assert.Equal(NotSegments[kind], File.ReadAllBytes(path)); // a reader never changes it
    }

    [Theory]
    [InlineData("random")]
    [InlineData("text")]
    [InlineData("empty")]
    public void Verify_reports_a_file_that_is_not_a_segment_as_damage_without_throwing(string kind)
    {
        using var temp = new TempDirectory();
        string path = temp.File("notes.bin");
        File.WriteAllBytes(path, NotSegments[kind]);
        VerificationReport report = SegmentVerifier.Verify(path);
        Assert.False(report.IsIntact);
        Finding finding = Assert.Single(report.Findings);
        Assert.Equal(path, finding.File);
        Assert.Equal(kind == "empty" ? FindingCode.FileEmpty : FindingCode.NotASegment, finding.Code);
    }

    [Theory]
    [InlineData("random")]
    [InlineData("text")]
    [InlineData("empty")]
    public void A_garbage_walz_is_refused_naming_it(string kind)
    {
        using var temp = new TempDirectory();
        string path = temp.File(CompressedSegment.FileName(1));
        File.WriteAllBytes(path, NotSegments[kind]);
        foreach ((string name, Action<string> open) in BadInput.FileEntryPoints)
        {
            BadInput.Fails<WalFormatException>(() => open(path), path, "WalNotASegment", "is not a FlashWal segment", kind == "empty" ? "empty" : "FLASHWLZ");
        }

        Assert.False(CompressedSegment.TryDecompress(path, out _, out Finding? problem));
        Assert.Equal(kind == "empty" ? FindingCode.FileEmpty : FindingCode.NotASegment, problem!.Code);
        using (WalTailer tailer = WalTailer.Open(temp.Path))
        {
            BadInput.Fails<WalFormatException>(() => tailer.TryReadNext(out _), path, "WalNotASegment", "is not a FlashWal segment");
        }

        Assert.False(SegmentVerifier.Verify(path).IsIntact);
    }

    [Fact]
    public void A_garbage_segment_among_a_logs_segments_is_damage_and_the_others_stay_readable()
    {
        using var temp = new TempDirectory();
        BadInput.Write(temp.Path, 60);
        long next = WalDirectory.List(temp.Path).Segments.Max(s => s.Index) + 1;
        string garbage = temp.File(SegmentFileName.Format(next));
        File.WriteAllBytes(garbage, RandomBytes(9000));
        VerificationReport report = SegmentVerifier.VerifyDirectory(temp.Path);
        Assert.Contains(report.Findings, f => f.File == garbage && f.Code == FindingCode.NotASegment);
        Assert.Equal(60, report.Events);

        // The recorder refuses to continue after it (its end is damaged), naming the file; nothing changes.
        var refused = Assert.Throws<WalCorruptionException>(() => WalRecorder.Open(temp.Path, BadInput.Tiny));
        Assert.Contains(garbage, refused.Message, StringComparison.Ordinal);

        // Repair quarantines it; then the log holds every event and a recorder continues it.
        RepairReport repaired = WalRepair.Plan(temp.Path).Apply();
        Assert.True(repaired.IsComplete, string.Join('\n', repaired.Results));
        BadInput.AssertKept(temp.Path, 60);
    }

    [Fact]
    public void A_tailer_meeting_a_garbage_segment_names_it_and_does_not_hang()
    {
        using var temp = new TempDirectory();
        string garbage = temp.File(SegmentFileName.Format(0));
        File.WriteAllBytes(garbage, NotSegments["text"]);
        using WalTailer tailer = WalTailer.Open(temp.Path);
        BadInput.Fails<WalFormatException>(() => tailer.TryReadNext(out _), garbage, "WalNotASegment", "is not a FlashWal segment");
    }

    [Fact]
    public void An_empty_or_garbage_checkpoint_is_a_finding_and_the_recorder_rebuilds_it()
    {
        using var temp = new TempDirectory();
        BadInput.Write(temp.Path, 30);
        string meta = temp.File(MetaCheckpoint.FileName);
        foreach (byte[] content in new[] { Array.Empty<byte>(), NotSegments["text"], RandomBytes(MetaCheckpoint.Size) })
        {
            File.WriteAllBytes(meta, content);
            Assert.Null(MetaCheckpoint.Load(temp.Path, out string? problem));
            Assert.NotNull(problem);
            WalCatalog catalog = WalCatalog.Open(temp.Path);
            Assert.Contains(catalog.Findings, f => f.File == meta);
            BadInput.AssertHolds(temp.Path, 30);
        }

        using (WalRecorder recorder = WalRecorder.Open(temp.Path, BadInput.Tiny))
        {
            Assert.Contains(recorder.OpenFindings, f => f.File == meta);
            Assert.Equal(30, recorder.LastEventId);
        }

        Assert.NotNull(MetaCheckpoint.Load(temp.Path, out _));
        BadInput.AssertHolds(temp.Path, 30);
    }

    [Theory]
    [MemberData(nameof(FileEntryPoints))]
    public void A_segment_from_a_future_format_version_is_WalVersion_naming_both_versions(string entryPoint)
    {
        using var temp = new TempDirectory();
        BadInput.Write(temp.Path, 20);
        string segment = Wal.SegmentPath(temp.Path, 0);
        BadInput.SetSegmentVersion(segment, SegmentFormat.Version + 1);
        var e = BadInput.Fails<WalVersionException>(() => BadInput.FileEntryPoints[entryPoint](segment), segment, "WalFormatVersionUnsupported",
            $"version {SegmentFormat.Version + 1}", $"up to {SegmentFormat.Version}");
        Assert.Equal(SegmentFormat.Version + 1, e.Version);
    }

    [Fact]
    public void A_log_with_a_future_version_segment_is_refused_by_the_recorder_and_blocks_repair_unchanged()
    {
        using var temp = new TempDirectory();
        BadInput.Write(temp.Path, 20);
        string segment = Wal.SegmentPath(temp.Path, 0);
        BadInput.SetSegmentVersion(segment, 7);
        byte[] before = File.ReadAllBytes(segment);
        BadInput.Fails<WalVersionException>(() => WalRecorder.Open(temp.Path, BadInput.Tiny).Dispose(), segment, "WalFormatVersionUnsupported", "version 7", $"up to {SegmentFormat.Version}");
        BadInput.Fails<WalVersionException>(() => WalRecorderHost.Start(temp.Path, new WalRecorderHostOptions { Recorder = BadInput.Tiny }).Dispose(), segment, "WalFormatVersionUnsupported", "version 7");
        RepairPlan plan = WalRepair.Plan(temp.Path);
        Assert.NotEmpty(plan.Blockers);
        WalException blocked = Assert.Throws<WalException>(() => plan.Apply());
        Assert.Contains("version 7", blocked.Message, StringComparison.Ordinal);
        VerificationReport report = SegmentVerifier.VerifyDirectory(temp.Path);
        Assert.Contains(report.Findings, f => f.File == segment && f.Code == FindingCode.UnsupportedVersion);
        Assert.Equal(before, File.ReadAllBytes(segment));
        using WalTailer tailer = WalTailer.Open(temp.Path);
        BadInput.Fails<WalVersionException>(() => tailer.TryReadNext(out _), segment, "WalFormatVersionUnsupported", "version 7");
    }

    [Fact]
    public void A_walz_from_a_future_container_version_is_WalVersion()
    {
        using var temp = new TempDirectory();
        BadInput.Write(temp.Path, 20);
        string packed = CompressedSegment.Compress(Wal.SegmentPath(temp.Path, 0));
        BadInput.SetVersion128(packed, 8, 2);
        foreach ((string name, Action<string> open) in BadInput.FileEntryPoints)
        {
            BadInput.Fails<WalVersionException>(() => open(packed), packed, "WalFormatVersionUnsupported", "version 2");
        }

        Assert.False(CompressedSegment.TryDecompress(packed, out _, out Finding? problem));
        Assert.Equal(FindingCode.UnsupportedVersion, problem!.Code);
        using WalTailer tailer = WalTailer.Open(temp.Path);
        BadInput.Fails<WalVersionException>(() => tailer.TryReadNext(out _), packed, "WalFormatVersionUnsupported", "version 2");
    }

    [Fact]
    public void A_checkpoint_from_a_future_version_is_reported_with_its_version_and_the_segments_rule()
    {
        using var temp = new TempDirectory();
        BadInput.Write(temp.Path, 20);
        string meta = temp.File(MetaCheckpoint.FileName);
        BadInput.SetVersion128(meta, 4, 3);
        Assert.Null(MetaCheckpoint.Load(temp.Path, out string? problem));
        Assert.Equal("unknown checkpoint version 3", problem);
        Assert.Contains(WalCatalog.Open(temp.Path).Findings, f => f.File == meta && f.Message.Contains("version 3", StringComparison.Ordinal));
        BadInput.AssertHolds(temp.Path, 20);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    [InlineData(MetaCheckpoint.Size - 1)]
    [InlineData(MetaCheckpoint.Size + 1)]
    [InlineData(4096)]
    public void MetaCheckpoint_TryRead_of_the_wrong_length_or_garbage_is_null_with_why(int length)
    {
        Assert.Null(MetaCheckpoint.TryRead(RandomBytes(Math.Max(length, 1)).AsSpan(0, length), out string? problem));
        Assert.Equal(length == MetaCheckpoint.Size ? "the file does not start with the checkpoint magic \"FWMT\"" : $"the file has {length} bytes, not {MetaCheckpoint.Size}", problem);
        Assert.Null(MetaCheckpoint.TryRead(RandomBytes(MetaCheckpoint.Size), out problem));
        Assert.Equal("the file does not start with the checkpoint magic \"FWMT\"", problem);
    }

    [Fact]
    public void Files_that_are_not_FlashWals_in_a_log_are_neither_read_nor_touched()
    {
        using var temp = new TempDirectory();
        BadInput.Write(temp.Path, 30);
        string notes = temp.File("notes.txt");
        string near = temp.File("0000000000000001.wal.bak");
        File.WriteAllText(notes, "operator notes");
        File.WriteAllBytes(near, RandomBytes(3000));
        VerificationReport report = SegmentVerifier.VerifyDirectory(temp.Path);
        Assert.True(report.IsIntact, string.Join('\n', report.Findings));
        Assert.True(WalRepair.Plan(temp.Path).IsEmpty);
        BadInput.Write(temp.Path, 10);
        BadInput.AssertHolds(temp.Path, 40);
        Assert.Equal("operator notes", File.ReadAllText(notes));
        Assert.Equal(RandomBytes(3000), File.ReadAllBytes(near));
    }

    private static byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        new Random(length).NextBytes(bytes);
        bytes[0] = (byte)'Z'; // never "FLASHWAL" by chance
        return bytes;
    }
}
